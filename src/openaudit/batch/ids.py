"""Repo id lists: one id per line, `#` comments, `dataset:` / `model:` prefixes, duplicates once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from openaudit.errors import UsageError
from openaudit.models import RepoType

_PREFIXES = {f"{t.value}:": t for t in RepoType}


@dataclass(frozen=True, order=True)
class RepoRef:
    """One repo of a batch."""

    repo_type: RepoType
    repo_id: str

    @property
    def key(self) -> tuple[str, str]:
        """The same key as ``records.record_key`` of this repo's record."""
        return (self.repo_type.value, self.repo_id)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0] if "/" in self.repo_id else ""


def parse_ids(lines: Iterable[str], default_type: RepoType) -> list[RepoRef]:
    """Ids in input order, each once. Invalid ids are kept: they get an error record later."""
    refs: dict[RepoRef, None] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()  # ids never contain '#', so it starts a comment
        if not text:
            continue
        repo_type = default_type
        for prefix, kind in _PREFIXES.items():
            if text.startswith(prefix):
                repo_type, text = kind, text[len(prefix):].strip()
                break
        refs.setdefault(RepoRef(repo_type, text))
    return list(refs)


def read_ids_file(name: str, default_type: RepoType, stdin: IO[str]) -> list[RepoRef]:
    """Ids from a file, or from ``stdin`` for ``-``. An unreadable file is a usage error.

    Both are read as strict UTF-8 (a leading byte-order mark is dropped), so a binary or
    mis-encoded list is refused rather than turned into ids with replacement characters.
    """
    if name == "-":
        raw = getattr(stdin, "buffer", None)  # a real stdin: decode its bytes ourselves
        lines = _decoded(raw.read(), "stdin").splitlines() if raw is not None else stdin
        return parse_ids(lines, default_type)
    try:
        with open(name, "rb") as handle:
            return parse_ids(_decoded(handle.read(), name).splitlines(), default_type)
    except OSError as exc:
        raise UsageError(f"cannot read the id file {name}: {exc.strerror or exc}",
                         "give a text file with one repo id per line, or - for stdin") from None


def _decoded(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                         f"{exc.start})", "give a text file with one repo id per line") from None
