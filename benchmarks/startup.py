"""Start-up time of `openaudit --version` / `--help` against a bare interpreter.

Goal (issue #2): under 150 ms more than `python -c pass`. Prints the best and median wall time
of N fresh processes for each command, and the overhead over the bare interpreter.

Usage: python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], runs: int) -> list[float]:
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm the file cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = shutil.which("openaudit")
    tool = [exe] if exe else [sys.executable, "-m", "openaudit"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "openaudit --version": [*tool, "--version"],
        "openaudit --help": [*tool, "--help"],
        "openaudit rules list": [*tool, "rules", "list"],
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {args.runs} runs each")
    base = None
    for name, cmd in commands.items():
        samples = _time(cmd, args.runs)
        best, median = min(samples), statistics.median(samples)
        base = best if base is None else base
        print(f"{name:<24} best {best:7.1f} ms  median {median:7.1f} ms  "
              f"overhead vs bare (best) {best - base:7.1f} ms")


if __name__ == "__main__":
    main()
