"""Reference for the batch benchmark: only the fetches an audit cannot do without.

Per repo: one `model_info` call (with the same expand fields openaudit asks for), then README.md
and the licence-like files pinned to the commit, on a thread pool of the same size as
`openaudit batch --concurrency`. No parsing, no rules, no output: the floor an audit tool's wall
time is compared with. Two ways to read a file:

* ``--mode get`` (default, the floor): one GET of the resolve URL through huggingface_hub's own
  HTTP session — 1 + number-of-files requests per repo;
* ``--mode download``: ``hf_hub_download`` into the Hub cache, as a plain client script would
  (it sends a HEAD for the metadata, then the GET).

Usage: python benchmarks/reference_fetch.py IDS_FILE [--endpoint URL] [--concurrency 8]
       [--mode get|download]
Prints one JSON line: {"repos": N, "files": N, "errors": N, "seconds": S, "mode": M}.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_EXPAND = ["cardData", "gated", "tags", "sha", "siblings", "lastModified", "library_name",
           "pipeline_tag", "baseModels"]


def fetch_one(repo_id: str, endpoint: str | None, mode: str) -> int:
    """Fetch what an audit needs of one repo; returns the number of files read."""
    from huggingface_hub import HfApi, get_session, hf_hub_download, hf_hub_url

    from openaudit.facts import is_licence_file

    info = HfApi(endpoint=endpoint).model_info(repo_id, expand=_EXPAND)  # type: ignore[arg-type]
    names = [s.rfilename for s in info.siblings or []]
    # The same files an audit reads: README.md and openaudit's own licence-file test.
    wanted = [n for n in names if n == "README.md" or is_licence_file(n)]
    for name in wanted:
        if mode == "download":
            hf_hub_download(repo_id, name, revision=info.sha, endpoint=endpoint)
        else:
            url = hf_hub_url(repo_id, name, revision=info.sha, endpoint=endpoint)
            reply = get_session().get(url, timeout=20)
            reply.raise_for_status()
            _ = reply.content
    return len(wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", type=Path, help="file with one model id per line")
    parser.add_argument("--endpoint", default=None)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mode", choices=("get", "download"), default="get")
    args = parser.parse_args()
    ids = [line.strip() for line in args.ids.read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.startswith("#")]
    start = time.perf_counter()
    files = errors = 0
    with ThreadPoolExecutor(args.concurrency) as pool:
        futures = [pool.submit(fetch_one, repo_id, args.endpoint, args.mode) for repo_id in ids]
        for future in futures:
            try:
                files += future.result()
            except Exception:  # a reference counts failures; it never stops
                errors += 1
    print(json.dumps({"repos": len(ids), "files": files, "errors": errors,
                      "seconds": round(time.perf_counter() - start, 3), "mode": args.mode}))


if __name__ == "__main__":
    main()
