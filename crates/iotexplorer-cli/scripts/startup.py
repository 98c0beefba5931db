#!/usr/bin/env python3
"""Prints how long the `iotexplorer` binary takes from process start to printed output:
a call against a local emulator (started once, outside the measurement), and
--generate-cli-skeleton. Median and 90th percentile of many runs.

    python3 startup.py PATH/TO/release/iotexplorer [RUNS]
"""

import os
import statistics
import subprocess
import sys
import time


def measure(command, runs, env):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            sys.exit("%s failed: %s" % (" ".join(command), done.stderr.decode()))
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1]


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    emulator = subprocess.Popen([binary, "emulator", "--listen", "127.0.0.1:0", "--rate-limit", "0"],
                                stdout=subprocess.PIPE, env=env)
    try:
        url = emulator.stdout.readline().decode().split("listening on ", 1)[1].strip()
        call = [binary, "--endpoint", url, "--region", "ap-guangzhou",
                "--secretId", "AKIDEMULATOREXAMPLE",
                "--secretKey", "emulator-demo-secret-key-not-for-production",
                "DescribeFirmware", "--ProductID", "ABCDE12345", "--FirmwareVersion", "2.0.0"]
        for name, command in [
            ("call against the emulator", call),
            ("call, --output table --filter", call + ["--output", "table", "--filter", "{V: Version, P: ProductId}"]),
            ("--generate-cli-skeleton", [binary, "BatchUpdateFirmware", "--generate-cli-skeleton"]),
        ]:
            median, p90 = measure(command, runs, env)
            print("%-32s median %.2f ms, p90 %.2f ms (%d runs)" % (name, median, p90, runs))
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
