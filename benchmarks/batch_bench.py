"""`openaudit batch` against the loopback fake Hub with injected latency.

Goals (issue #3), all on synthetic repos (README with card YAML, LICENSE, config.json, a tiny
weights file) served by tests/fakehub.py with 50 ms added to every request:

1. cold cache, concurrency 8: wall time at most 1.3 x that of benchmarks/reference_fetch.py
   (only the unavoidable fetches, same concurrency), and at most 3 requests per repo;
2. the same batch again on the warm cache: at most 5 requests in total; with --offline: none;
3. peak memory (RSS high-water of the child, from os.wait4) flat in the number of repos.

Every run is a fresh child process with its own HF_HOME (warm runs reuse the cold run's), and
the request counts come from the fake Hub's own log.

Usage: python benchmarks/batch_bench.py [--repos 500] [--memory-repos 100] [--concurrency 8]
       [--latency 0.05] [--skip-reference]
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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "tests" / "fixtures" / "hub" / "models" / "lanternworks" / "lumen-1.4b"
sys.path.insert(0, str(ROOT / "tests"))

from fakehub import FakeHub  # noqa: E402  (tests/ is not a package)


@dataclass
class Run:
    seconds: float
    requests: int
    peak_rss_kib: int
    code: int
    output: str
    kinds: str  # the requests by method and route, e.g. "GET info 500, GET file 1000"


def _route(method: str, path: str) -> str:
    if "/resolve/" in path:
        return f"{method} file"
    if path.startswith("/api/") and "/tree/" in path:
        return f"{method} tree"
    return f"{method} {'info' if path.count('/') >= 4 else 'list'}"


def make_repos(root: Path, count: int) -> list[str]:
    """Synthetic compliant-looking model repos; returns their ids."""
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    licence = (TEMPLATE / "LICENSE").read_text(encoding="utf-8")
    ids = []
    for i in range(count):
        ns, name = f"bench-org-{i // 100:03d}", f"model-{i:05d}"
        folder = root / "models" / ns / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").write_text(readme.replace("Lumen-1.4B", name), encoding="utf-8")
        (folder / "LICENSE").write_text(licence, encoding="utf-8")
        (folder / "config.json").write_text(json.dumps({"model_type": "gpt_neox",
                                                        "hidden_size": 64 + i % 7}))
        (folder / "model.safetensors").write_bytes(b"\0" * 16)
        (folder / ".gitattributes").write_text("*.safetensors filter=lfs diff=lfs merge=lfs\n")
        ids.append(f"{ns}/{name}")
    return ids


def run_child(cmd: list[str], env: dict[str, str], hub: FakeHub) -> Run:
    """One child process: wall time, the requests the fake Hub saw, and the child's peak RSS."""
    hub.clear_log()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
    kinds = Counter(_route(r.method, r.path) for r in hub.requests)
    return Run(seconds, len(hub.requests), usage.ru_maxrss, os.waitstatus_to_exitcode(status),
               text, ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def hub_env(hf_home: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE")}
    return {**env, "HF_HOME": str(hf_home), "HF_ENDPOINT": endpoint, "NO_COLOR": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_XET": "1"}


def openaudit_exe() -> list[str]:
    exe = shutil.which("openaudit") or str(Path(sys.executable).with_name("openaudit"))
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "openaudit"]


def batch_cmd(ids_file: Path, out: Path, endpoint: str, concurrency: int,
              *extra: str) -> list[str]:
    return [*openaudit_exe(), "batch", str(ids_file), "--endpoint", endpoint, "--concurrency",
            str(concurrency), "--format", "jsonl", "--output", str(out), "--fail-on", "never",
            *extra]


def _check(run: Run, what: str) -> None:
    if run.code not in (0, 1):
        raise SystemExit(f"{what} exited {run.code}:\n{run.output[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--memory-repos", type=int, default=100,
                        help="a smaller batch, to compare peak memory with (0: skip)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; fake Hub latency {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}")
    with tempfile.TemporaryDirectory(prefix="openaudit-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ids = make_repos(tmp / "hub", max(args.repos, args.memory_repos))
        with FakeHub(tmp / "hub", latency=args.latency) as hub:
            n = args.repos
            ids_file = tmp / f"ids-{n}.txt"
            ids_file.write_text("\n".join(ids[:n]) + "\n", encoding="utf-8")

            refs: dict[str, Run] = {}
            for mode in () if args.skip_reference else ("get", "download"):
                ref = run_child([sys.executable, str(ROOT / "benchmarks" / "reference_fetch.py"),
                                 str(ids_file), "--endpoint", hub.url, "--concurrency",
                                 str(args.concurrency), "--mode", mode],
                                hub_env(tmp / f"hf-ref-{mode}", hub.url), hub)
                _check(ref, f"reference_fetch.py --mode {mode}")
                refs[mode] = ref
                print(f"reference --mode {mode:<8} {n} repos cold {ref.seconds:7.2f} s  "
                      f"{ref.requests / n:5.2f} requests/repo  peak RSS "
                      f"{ref.peak_rss_kib / 1024:6.0f} MiB  ({ref.kinds})")

            home = tmp / "hf-openaudit"
            cold = run_child(batch_cmd(ids_file, tmp / "cold.jsonl", hub.url, args.concurrency),
                             hub_env(home, hub.url), hub)
            _check(cold, "openaudit batch (cold)")
            lines = (tmp / "cold.jsonl").read_text(encoding="utf-8").splitlines()
            verdicts: dict[str, int] = {}
            for line in lines:
                record = json.loads(line)
                key = record.get("verdict") or f"error:{record['error']['kind']}"
                verdicts[key] = verdicts.get(key, 0) + 1
            print(f"openaudit batch            {n} repos cold {cold.seconds:7.2f} s  "
                  f"{cold.requests / n:5.2f} requests/repo (goal <= 3)  peak RSS "
                  f"{cold.peak_rss_kib / 1024:6.0f} MiB  records {len(lines)} {verdicts}  "
                  f"({cold.kinds})")
            for mode, ref in refs.items():
                print(f"ratio openaudit / reference --mode {mode}: "
                      f"{cold.seconds / ref.seconds:.2f} (goal <= 1.3)")

            warm = run_child(batch_cmd(ids_file, tmp / "warm.jsonl", hub.url, args.concurrency),
                             hub_env(home, hub.url), hub)
            _check(warm, "openaudit batch (warm)")
            print(f"openaudit batch            {n} repos warm {warm.seconds:7.2f} s  "
                  f"{warm.requests:5d} requests in total (goal <= 5)  ({warm.kinds})")
            offline = run_child(batch_cmd(ids_file, tmp / "offline.jsonl", hub.url,
                                          args.concurrency, "--offline"),
                                hub_env(home, hub.url), hub)
            _check(offline, "openaudit batch --offline")
            print(f"openaudit batch --offline  {n} repos      {offline.seconds:7.2f} s  "
                  f"{offline.requests:5d} requests in total (goal 0)")

            if args.memory_repos:
                m = args.memory_repos
                small_ids = tmp / f"ids-{m}.txt"
                small_ids.write_text("\n".join(ids[:m]) + "\n", encoding="utf-8")
                small = run_child(batch_cmd(small_ids, tmp / "small.jsonl", hub.url,
                                            args.concurrency), hub_env(tmp / "hf-small", hub.url),
                                  hub)
                _check(small, "openaudit batch (memory)")
                print(f"peak RSS cold: {m} repos {small.peak_rss_kib / 1024:.0f} MiB, "
                      f"{n} repos {cold.peak_rss_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
