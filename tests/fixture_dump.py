"""The golden fixture repos as a metadata exporter with read access would see them.

Shared by tests and benchmarks/dump_bench.py, which build dump records from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fakehub import FakeHub
from openaudit.facts import is_licence_file

FIXTURES = Path(__file__).parent / "fixtures" / "hub"


def fixture_items() -> Iterator[tuple[str, dict[str, Any], dict[str, str]]]:
    """``(repo type, Hub API item, {path: text} of README.md and licence files)`` per repo."""
    hub = FakeHub(FIXTURES)
    for folder in sorted(FIXTURES.glob("*/*/*")):
        kind, ns, name = folder.parts[-3:]
        repo = hub.repo(kind, ns, name)
        assert repo is not None
        files = {p: (folder / p).read_bytes().decode("utf-8", "replace")
                 for p in repo.files() if p == "README.md" or is_licence_file(p)}
        yield kind.removesuffix("s"), repo.info(), files
