"""Repo id lists: one id per line, `#` comments, `dataset:` / `model:` prefixes, duplicates once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


def read_ids_file(name: str, default_type: RepoType, stdin: Iterable[str]) -> list[RepoRef]:
    """Ids from a file, or from ``stdin`` for ``-``. An unreadable file is a usage error."""
    if name == "-":
        return parse_ids(stdin, default_type)
    try:
        with open(name, encoding="utf-8") as handle:
            return parse_ids(handle, default_type)
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text", "give a text file with one repo id per "
                         "line") from None
    except OSError as exc:
        raise UsageError(f"cannot read the id file {name}: {exc.strerror or exc}",
                         "give a text file with one repo id per line, or - for stdin") from None
