"""Rich terminal output for a batch: verdict counts, then one row per repo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from openaudit.records import is_error
from openaudit.render.batch.common import (
    NOT_AUDITED,
    error_parts,
    joined,
    ordered,
    verdict_counts,
)

_VERDICT_STYLE = {"compliant": "green", "potentially-compliant": "yellow",
                  "non-compliant": "red", NOT_AUDITED: "magenta"}


class BatchTableRenderer:
    """Human-readable batch summary; colour only when the stream is a terminal."""

    def __init__(self, width: int | None = None) -> None:
        self.width = width

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the counts and the per-repo table with Rich."""
        records = ordered(records)
        console = Console(file=out, width=self.width, highlight=False, soft_wrap=False)
        console.print(self._counts(records))
        console.print(self._repos(records))

    @staticmethod
    def _counts(records: Sequence[Mapping[str, Any]]) -> Table:
        table = Table(title=f"openaudit batch: {len(records)} repo(s)")
        table.add_column("Verdict")
        table.add_column("Repos", justify="right")
        for verdict, count in verdict_counts(records).items():
            table.add_row(Text(verdict, style=_VERDICT_STYLE.get(verdict, "")), str(count))
        return table

    @staticmethod
    def _repos(records: Sequence[Mapping[str, Any]]) -> Table:
        table = Table(title="Repos", expand=True)
        table.add_column("Repo", ratio=3, overflow="fold")
        table.add_column("Type", no_wrap=True)
        table.add_column("Verdict", no_wrap=True)
        table.add_column("Gaps / reason families, or error", ratio=3)
        for record in records:
            repo = Text(str(record.get("repo_id")))
            repo_type = Text(str(record.get("repo_type")))
            if is_error(record):
                kind, message = error_parts(record)
                table.add_row(repo, repo_type, Text(NOT_AUDITED, style=_VERDICT_STYLE[NOT_AUDITED]),
                              Text(f"{kind}: {message}"))
                continue
            verdict = str(record.get("verdict"))
            gaps = joined(record.get("gaps") or ()) or "none"
            families = joined(record.get("reason_families") or ())
            detail = f"{gaps} [{families}]" if families else gaps
            table.add_row(repo, repo_type, Text(verdict, style=_VERDICT_STYLE.get(verdict, "")),
                          Text(detail))
        return table
