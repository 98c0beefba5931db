#!/usr/bin/env bash
# Does the cost of a request grow with what the emulator holds? Builds the emulator and the
# `scale` example in release, then prints calls/s of sequential BatchUpdateFirmware calls
# over one keep-alive connection with --rate-limit 0: fresh, after 10,000 and after 100,000
# tasks, over distinct devices and over 64 devices, in memory and with --state FILE, each
# with its ratio to fresh. Arguments go to the example, e.g. `--only memory`,
# `--spread 64`, `--checkpoints 10000`, `--phase-seconds 60` (how long one fill may run
# before the case moves on with what it reached; 180 by default).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir="${CARGO_TARGET_DIR:-$(pwd)/target}"
cargo build --release --locked -p iotexplorer-emulator --features iotexplorer-emulator/cli \
  --bin iotexplorer-emulator --example scale
echo "emulator at $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# --state pays the flush of the disk under the temporary directory.
echo "state files under ${TMPDIR:-/tmp} ($(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))"
exec "$target_dir/release/examples/scale" --emulator "$target_dir/release/iotexplorer-emulator" "$@"
