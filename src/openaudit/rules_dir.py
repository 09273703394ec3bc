"""Where the shipped rule data lives (its own module: every loader needs it, it needs nothing)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def builtin_rules_dir() -> Path:
    """The shipped ``rules/`` directory: package data in a wheel, the repo root in a checkout."""
    packaged = Path(str(resources.files("openaudit"))) / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"
