"""Throughput and peak memory of `--from-dump` on synthetic Hub metadata dumps.

Goal (issue #3): at least 2,000 records per second per core with workers = cpu count, and peak
memory flat in the number of records. Records are made from the golden fixture repos in
tests/fixtures/hub (Hub API item + README + licence texts), each with its own id, sha and a
unique README line, so no two records are byte-identical. Like a real dump, the mix repeats
licence files, card metadata, file lists and whole sections, which openaudit's memos reuse;
`--unique` makes every text of every record differ, for the floor where no memo helps.

Each size runs in a fresh child process; its peak RSS comes from os.wait4 (the child and the
worker processes it reaped). `run_dump` is timed directly; `--cli` also times
`openaudit batch --from-dump` end to end (journal and summary included).

Usage: python benchmarks/dump_bench.py [--records 10000,100000] [--workers N] [--cli] [--unique]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "hub"
sys.path.insert(0, str(ROOT / "tests"))

# The child: judge the dump with run_dump, print records, seconds, and a verdict histogram.
_CHILD = """
import json, sys, time
from pathlib import Path
from openaudit.dump import run_dump
start = time.perf_counter()
counts = {}
for record in run_dump(Path(sys.argv[1]), (), workers=int(sys.argv[2])):
    key = record.get("verdict") or "error:" + record["error"]["kind"]
    counts[key] = counts.get(key, 0) + 1
print(json.dumps({"seconds": time.perf_counter() - start, "counts": counts}))
"""


def fixture_records() -> list[dict[str, Any]]:
    """One dump record per golden fixture repo, as an exporter with read access would write."""
    from fixture_dump import fixture_items

    records = []
    for kind, item, files in fixture_items():
        records.append({
            "id": item["id"], "type": kind, "sha": item["sha"],
            "gated": item.get("gated"), "tags": item.get("tags"), "siblings": item["siblings"],
            "cardData": item.get("cardData"), "lastModified": item.get("lastModified"),
            "library_name": item.get("library_name"), "pipeline_tag": item.get("pipeline_tag"),
            "files": files,
        })
    return records


def write_dump(path: Path, count: int, unique: bool = False) -> None:
    """``unique``: every text of every record differs (front matter, each README section,
    each licence file, the file list), so nothing a memo holds is met again: the floor."""
    templates = fixture_records()
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            record = dict(templates[i % len(templates)])
            record["id"] = f"bench-org-{i // 1000:03d}/repo-{i:07d}"
            record["sha"] = f"{i:040x}"
            files = dict(record["files"])
            if "README.md" in files:
                files["README.md"] += f"\nSynthetic record {i}.\n"
            if unique:
                files = {name: _unique_text(name, text, i) for name, text in files.items()}
                record["siblings"] = [*record["siblings"], {"rfilename": f"notes/{i}.txt"}]
            record["files"] = files
            out.write(json.dumps(record) + "\n")


def _unique_text(name: str, text: str, i: int) -> str:
    """``text`` with a line naming record ``i`` after its front matter and every heading."""
    if name != "README.md":
        return f"{text}\nCopy {i}.\n"
    lines = text.split("\n")
    if lines[0].strip() == "---" and "---" in lines[1:]:
        lines.insert(1, f"model_name: synthetic-{i}")
    return "\n".join(f"{line}\nRecord {i}." if line.startswith("#") else line
                     for line in lines)


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds and peak RSS in KiB (child + reaped workers), and stdout.

    CPU time (user + system) does not depend on what else the machine runs, so records per
    CPU-second is the per-core rate even on a busy machine; wall time is reported beside it.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}: {text[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="10000,100000",
                        help="comma-separated dump sizes (default: 10000,100000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cli", action="store_true",
                        help="also time `openaudit batch --from-dump` end to end")
    parser.add_argument("--unique", action="store_true",
                        help="make every text of every record unique (no memo is ever hit "
                        "twice for the same input): the floor, not the fixture mix")
    args = parser.parse_args()
    sizes = [int(s) for s in args.records.split(",")]
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores ({_cpu_model()}), Python "
          f"{platform.python_version()}; workers={args.workers}"
          f"{'; every text unique' if args.unique else ''}")
    exe = shutil.which("openaudit") or str(Path(sys.executable).with_name("openaudit"))
    with tempfile.TemporaryDirectory(prefix="openaudit-dump-bench-") as tmp:
        env = {**os.environ, "HF_HOME": str(Path(tmp) / "hf"), "HF_HUB_OFFLINE": "1"}
        for size in sizes:
            dump = Path(tmp) / f"dump-{size}.jsonl"
            write_dump(dump, size, unique=args.unique)
            mib = dump.stat().st_size / 2**20
            print(f"load average before: {_load()}")
            wall, cpu, rss, text = run_child(
                [sys.executable, "-c", _CHILD, str(dump), str(args.workers)], env)
            result = json.loads(text.strip().splitlines()[-1])
            rate = size / result["seconds"]
            print(f"run_dump  {size:>8,} records ({mib:6.1f} MiB)  wall {result['seconds']:6.1f} s "
                  f"(process {wall:6.1f} s)  {rate:6.0f} rec/s  {rate / cores:6.0f} rec/s/core "
                  f"(wall)  CPU {cpu:6.1f} s  {size / cpu:6.0f} rec per CPU-second  "
                  f"peak RSS {rss / 1024:5.0f} MiB  {result['counts']}")
            if args.cli:
                out = Path(tmp) / f"out-{size}.jsonl"
                wall, cpu, rss, _ = run_child(
                    [exe, "batch", "--from-dump", str(dump), "--workers", str(args.workers),
                     "--format", "jsonl", "--output", str(out), "--fail-on", "never"], env)
                print(f"CLI       {size:>8,} records  wall {wall:6.1f} s  {size / wall:6.0f} "
                      f"rec/s  {size / wall / cores:6.0f} rec/s/core (wall)  CPU {cpu:6.1f} s  "
                      f"{size / cpu:6.0f} rec per CPU-second  peak RSS {rss / 1024:5.0f} MiB")
            print(f"load average after: {_load()}")
            dump.unlink()


def _load() -> str:
    """Other processes share the cores: the load average says how much (wall times vary)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
