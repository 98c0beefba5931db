#!/usr/bin/env bash
# Our client against Tencent's official Python SDK, side by side: sequential calls over
# keep-alive of a read (DescribeFirmware) and of BatchUpdateFirmware, each run against a
# fresh emulator (the same binary, rate limiting off). Prints calls per second and the
# ratio.
#
#   scripts/bench-vs-python-sdk.sh [SECONDS_PER_RUN] [ROUNDS]
#
# Installs tencentcloud-sdk-python-iotexplorer 3.1.194 (as .ci/run does) into a virtual
# environment under the cargo target directory, and builds the emulator and the
# `sequential_calls` example of iotexplorer-http in release mode.
set -euo pipefail

seconds="${1:-3}"
rounds="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/sdk/python"
work="$(mktemp -d)"
emulator_pid=""

cleanup() {
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the emulator and the Rust caller (release)..." >&2
(cd "$root" && cargo build --quiet --release --locked \
  -p iotexplorer-emulator --bin iotexplorer-emulator \
  -p iotexplorer-http --example sequential_calls)
emulator_bin="$target/release/iotexplorer-emulator"
rust_bin="$target/release/examples/sequential_calls"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv..." >&2
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "tencentcloud-sdk-python-iotexplorer==3.1.194"

cat >"$work/sequential_calls.py" <<'PY'
"""Sequential calls of one action with Tencent's official Python SDK: calls per second."""
import json
import sys
import time

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iotexplorer.v20190423 import iotexplorer_client, models

url, action, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
http_profile = HttpProfile()
http_profile.endpoint = url.split("://", 1)[1]
http_profile.scheme = "http"
profile = ClientProfile()
profile.httpProfile = http_profile
client = iotexplorer_client.IotexplorerClient(
    credential.Credential("AKIDEMULATOREXAMPLE", "emulator-demo-secret-key-not-for-production"),
    "ap-guangzhou",
    profile,
)
if action == "DescribeFirmware":
    params = {"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"}
else:
    params = {
        "ProductID": "ABCDE12345",
        "FirmwareVersion": "2.0.0",
        "DeviceNames": ["dev001", "dev002"],
        "OverrideMode": 1,
    }
request = getattr(models, action + "Request")()
request.from_json_string(json.dumps(params))
call = getattr(client, action)
for _ in range(20):
    call(request)
calls = 0
started = time.perf_counter()
while time.perf_counter() - started < seconds:
    call(request)
    calls += 1
print(f"{calls / (time.perf_counter() - started):.1f}")
PY

# Starts a fresh emulator and sets $url.
start_emulator() {
  "$emulator_bin" --listen 127.0.0.1:0 --rate-limit 0 --seed 1 >"$work/emulator.out" 2>&1 &
  emulator_pid=$!
  url=""
  for _ in $(seq 1 100); do
    url="$(sed -n 's/^listening on //p' "$work/emulator.out" | head -n 1)"
    [ -n "$url" ] && break
    sleep 0.05
  done
  if [ -z "$url" ]; then
    echo "the emulator did not start:" >&2
    cat "$work/emulator.out" >&2
    exit 1
  fi
}

stop_emulator() {
  kill "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  emulator_pid=""
}

# One run of one caller against a fresh emulator: prints calls per second.
measure() {
  local caller="$1" action="$2"
  start_emulator
  case "$caller" in
    rust) "$rust_bin" "$url" "$action" "$seconds" ;;
    python) "$venv/bin/python" "$work/sequential_calls.py" "$url" "$action" "$seconds" ;;
  esac
  stop_emulator
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "sequential calls over keep-alive, ${seconds} s per run, median of ${rounds} runs," \
  "a fresh emulator per run, rate limiting off ($(nproc) cores)"
printf '%-22s %12s %12s %8s\n' action "ours/s" "python/s" ratio
for action in DescribeFirmware BatchUpdateFirmware; do
  : >"$work/rust.txt"
  : >"$work/python.txt"
  for _ in $(seq 1 "$rounds"); do
    measure rust "$action" >>"$work/rust.txt"
    measure python "$action" >>"$work/python.txt"
  done
  ours="$(median <"$work/rust.txt")"
  theirs="$(median <"$work/python.txt")"
  ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1fx", a / b }')"
  printf '%-22s %12s %12s %8s\n' "$action" "$ours" "$theirs" "$ratio"
done
