#!/usr/bin/env bash
# Our client against Tencent's official Python SDK, side by side: sequential calls over
# keep-alive of a read (DescribeFirmware) and of BatchUpdateFirmware, each run against a
# fresh emulator (the same binary, rate limiting off). Prints calls per second and the
# ratio.
#
#   scripts/bench-vs-python-sdk.sh [SECONDS_PER_RUN] [ROUNDS]
#
# The ratio is of the medians; beside it, the lowest and highest ratio of a single round
# (both callers measured back to back).
#
# Installs tencentcloud-sdk-python-iotexplorer 3.1.194 (as .ci/run does) into a virtual
# environment under the cargo target directory, unless IOTEXPLORER_SDK_PYTHON names a
# Python that has it already, and builds the emulator and the `sequential_calls` and
# `round_trip_floor` examples of iotexplorer-http in release mode.
#
# Then it measures the floor this machine sets under any sequential caller: round trips
# between two processes over 127.0.0.1 with (a) bare blocking TCP sockets and (b) a bare
# hyper 1 client and server, no signing and no JSON, each with the ratio to the Python
# SDK's calls per second. A target ratio above the floor's cannot be reached here.
#
# Everything is measured twice: as the scheduler places the processes, then with the
# caller and the emulator pinned to the same core (`taskset -c 0`, both callers alike). A
# sequential caller and its server take turns, so one core is enough for them; two cores
# add a wake-up of the other core per message, which on virtual machines can cost more
# than the call itself and then hides what the caller costs. Set PLACEMENTS to `free` or
# `one-core` to measure one placement only.
set -euo pipefail

seconds="${1:-3}"
rounds="${2:-3}"
placements="${PLACEMENTS:-free one-core}"
# The command that runs a process in the placement being measured.
pin=()
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
  -p iotexplorer-emulator --features iotexplorer-emulator/cli --bin iotexplorer-emulator \
  -p iotexplorer-http --example sequential_calls --example round_trip_floor)
emulator_bin="$target/release/iotexplorer-emulator"
rust_bin="$target/release/examples/sequential_calls"
floor_bin="$target/release/examples/round_trip_floor"

if [ -n "${IOTEXPLORER_SDK_PYTHON:-}" ]; then
  python="$IOTEXPLORER_SDK_PYTHON"
else
  if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv..." >&2
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "tencentcloud-sdk-python-iotexplorer==3.1.194"
  python="$venv/bin/python"
fi

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
cpu_started = time.process_time()
started = time.perf_counter()
while time.perf_counter() - started < seconds:
    call(request)
    calls += 1
took = time.perf_counter() - started
cpu = time.process_time() - cpu_started
print(f"{calls / took:.1f} {cpu * 1e6 / calls:.1f}")
PY

# Starts a fresh emulator and sets $url.
start_emulator() {
  # Gone first, so that the address read below is this emulator's, never the last one's.
  rm -f "$work/emulator.out"
  "${pin[@]}" "$emulator_bin" --listen 127.0.0.1:0 --rate-limit 0 --seed 1 \
    >"$work/emulator.out" 2>&1 &
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

# Processor time (user + system) of a process so far, in clock ticks.
cpu_ticks() {
  awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# One run of one caller against a fresh emulator: prints calls per second, the caller's
# processor time per call (microseconds, "-" when unknown) and the emulator's.
measure() {
  local caller="$1" action="$2" before after rate cpu
  start_emulator
  before="$(cpu_ticks "$emulator_pid")"
  case "$caller" in
    rust) read -r rate cpu < <("${pin[@]}" "$rust_bin" "$url" "$action" "$seconds") ;;
    python)
      read -r rate cpu < <("${pin[@]}" "$python" "$work/sequential_calls.py" \
        "$url" "$action" "$seconds")
      ;;
  esac
  after="$(cpu_ticks "$emulator_pid")"
  stop_emulator
  # The emulator's warm-up calls (20) are left out of the count, not out of its time: a
  # few microseconds too many per call.
  awk -v r="$rate" -v c="$cpu" -v t="$((after - before))" -v s="$seconds" \
    'BEGIN { printf "%s %s %.1f\n", r, c, t * 10000 / (r * s) }'
}

# The median of column $1 of the lines on stdin.
median() {
  awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Measures both callers and the floor in the placement set in `pin`.
measure_placement() {
  local label="$1"
  echo "sequential calls over keep-alive, ${seconds} s per run, median of ${rounds} runs," \
    "a fresh emulator per run, rate limiting off, ${label} ($(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg))"
  printf '%-20s %9s %9s %7s %13s   %s\n' action "ours/s" "python/s" ratio "round ratios" \
    "processor time per call, us: ours | emulator under ours | python | emulator under python"
  local python_rates="" action ours theirs ratio spread
  for action in DescribeFirmware BatchUpdateFirmware; do
    : >"$work/rust.txt"
    : >"$work/python.txt"
    for _ in $(seq 1 "$rounds"); do
      measure rust "$action" >>"$work/rust.txt"
      measure python "$action" >>"$work/python.txt"
    done
    ours="$(median 1 <"$work/rust.txt")"
    theirs="$(median 1 <"$work/python.txt")"
    python_rates="${python_rates:+$python_rates }$theirs"
    ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1fx", a / b }')"
    # Each round measures both callers back to back, so its ratio is the least touched by
    # the machine's speed drifting between rounds; their range shows how far one run
    # can be trusted.
    spread="$(paste "$work/rust.txt" "$work/python.txt" |
      awk '{ r = $1 / $4; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
        END { printf "%.1f-%.1fx", lo, hi }')"
    printf '%-20s %9s %9s %7s %13s   %s | %s | %s | %s\n' "$action" "$ours" "$theirs" "$ratio" "$spread" \
      "$(median 2 <"$work/rust.txt")" "$(median 3 <"$work/rust.txt")" \
      "$(median 2 <"$work/python.txt")" "$(median 3 <"$work/python.txt")"
  done

  # The floor: the same sequential round trips with nothing but the transport in the way.
  local python_read python_change mode rate ratios transport
  read -r python_read python_change <<<"$python_rates"
  echo
  echo "the floor, ${label}: sequential round trips between two processes over 127.0.0.1," \
    "about the sizes of a call (550-byte request, 300-byte answer), median of ${rounds} runs"
  printf '%-20s %9s %17s   %s\n' transport "trips/s" "x python (r | c)" \
    "processor time per round trip, us: client | server"
  for mode in tcp hyper; do
    : >"$work/floor.txt"
    for _ in $(seq 1 "$rounds"); do
      # The floor's server is its own child: it inherits the placement.
      "${pin[@]}" "$floor_bin" "$mode" "$seconds" >>"$work/floor.txt"
    done
    rate="$(median 1 <"$work/floor.txt")"
    ratios="$(awk -v a="$rate" -v r="$python_read" -v c="$python_change" \
      'BEGIN { printf "%.1fx | %.1fx", a / r, a / c }')"
    case "$mode" in
      tcp) transport="raw TCP (std)" ;;
      hyper) transport="bare hyper 1 HTTP" ;;
    esac
    printf '%-20s %9s %17s   %s | %s\n' "$transport" "$rate" "$ratios" \
      "$(median 2 <"$work/floor.txt")" "$(median 3 <"$work/floor.txt")"
  done
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

for placement in $placements; do
  case "$placement" in
    free)
      pin=()
      measure_placement "placed by the scheduler"
      ;;
    one-core)
      if ! command -v taskset >/dev/null 2>&1; then
        echo "taskset is not installed: the one-core placement is skipped"
        continue
      fi
      pin=(taskset -c 0)
      measure_placement "caller and emulator pinned to core 0"
      ;;
    *)
      echo "unknown placement '$placement' (free, one-core)" >&2
      exit 2
      ;;
  esac
  echo
done
