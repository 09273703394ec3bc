"""Read a local folder laid out as it will be pushed to the Hub, producing the same snapshot."""

from __future__ import annotations

import os
from pathlib import Path

from openaudit.card import parse_card
from openaudit.errors import FetchError, UsageError
from openaudit.facts import is_licence_file
from openaudit.hub import MAX_FILE_BYTES, MAX_LICENCE_FILES, over_cap, too_large
from openaudit.models import FileText, RepoSnapshot, RepoType
from openaudit.safe_read import RefusedFile, TooLarge, read_capped
from openaudit.textio import decode_capped

# Card keys only dataset cards use; their presence makes `--repo-type auto` pick "dataset".
_DATASET_KEYS = {"task_categories", "task_ids", "size_categories", "source_datasets",
                 "pretty_name", "configs", "dataset_info", "annotations_creators",
                 "language_creators", "multilinguality", "paperswithcode_id"}
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules", ".cache"}


def read_folder(path: Path, repo_type: RepoType) -> RepoSnapshot:
    """Snapshot a local folder: file list, README.md and licence-like files (never weights)."""
    if not path.exists():
        raise UsageError(f"{path} does not exist", "pass the folder you are about to push")
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder", "pass the folder you are about to push")
    files = _list_files(path)
    readme = _read(path, "README.md") if "README.md" in files else None
    licence_paths = [p for p in files if is_licence_file(p)]
    licences = tuple(_read(path, p) for p in licence_paths[:MAX_LICENCE_FILES])
    licences += tuple(over_cap(p) for p in licence_paths[MAX_LICENCE_FILES:])
    gated = _declared_gating(readme)
    return RepoSnapshot(
        repo_id=path.resolve().name, repo_type=repo_type, source="local", files=tuple(files),
        gated=gated, readme=readme, license_files=licences,
    )


def detect_repo_type(path: Path) -> RepoType:
    """Guess model or dataset from the card: dataset-only keys mean a dataset."""
    try:
        data = read_capped(path / "README.md", MAX_FILE_BYTES, root=path)
    except RefusedFile:  # missing, refused or too large: check reports it; guess a model
        return RepoType.MODEL
    text, _ = decode_capped(data, MAX_FILE_BYTES)
    keys = set(parse_card(text).metadata)
    return RepoType.DATASET if keys & _DATASET_KEYS else RepoType.MODEL


def _raise(exc: OSError) -> None:
    raise exc  # os.walk skips unreadable folders silently unless told otherwise


def _list_files(root: Path) -> list[str]:
    found: list[str] = []
    try:
        for current, dirs, names in os.walk(root, onerror=_raise):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            rel = Path(current).relative_to(root)
            found.extend((rel / n).as_posix() for n in names)
    except OSError as exc:
        where = exc.filename or root
        raise FetchError(f"cannot list {where}: {exc.strerror or exc}",
                         "make every folder readable, or audit a copy") from None
    return sorted(p.removeprefix("./") for p in found)


def _read(root: Path, rel: str) -> FileText:
    # The folder may be an attacker's checkout: only regular files inside it are read.
    try:
        data = read_capped(root / rel, MAX_FILE_BYTES, root=root)
    except TooLarge as exc:  # same rule as for Hub files, so both give the same facts
        return too_large(rel, exc.size)
    except RefusedFile as exc:
        return FileText(rel, None, exc.reason)
    text, errors = decode_capped(data, MAX_FILE_BYTES)
    return FileText(rel, text, None, errors, False)


def _declared_gating(readme: FileText | None) -> str:
    """A local folder has no Hub settings: gating is read from what the card declares.

    ``extra_gated_*`` keys switch gating on when pushed (automatic approval); openaudit also reads
    an explicit ``gated: manual`` or ``gated: auto`` key so a pre-release check can state it.
    """
    if readme is None or readme.text is None:
        return "false"
    meta = parse_card(readme.text).metadata
    declared = str(meta.get("gated", "")).lower()
    if declared in ("auto", "manual", "true"):
        return "auto" if declared == "true" else declared
    return "auto" if any(k.startswith("extra_gated_") for k in meta) else "false"
