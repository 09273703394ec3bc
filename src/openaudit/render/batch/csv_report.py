"""CSV for spreadsheets: one row per repo, stable columns, safe against formula injection."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from openaudit.records import is_error
from openaudit.render.batch.common import (
    error_parts,
    joined,
    ordered,
    pillar_columns,
    pillar_outcomes,
    summary_count,
)

LEADING_COLUMNS = ("repo_type", "repo_id", "revision", "sha", "verdict", "reason_families",
                   "gaps")
COUNT_COLUMNS = ("fail", "warn", "not-tested")
TRAILING_COLUMNS = (*COUNT_COLUMNS, "error_kind", "error_message")
LIST_SEPARATOR = ";"
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell text; a leading formula character is defused with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def header(pillar_ids: Sequence[str]) -> list[str]:
    """Column names; a pillar id that clashes with a fixed column is prefixed ``pillar:``."""
    fixed = {*LEADING_COLUMNS, *TRAILING_COLUMNS}
    pillars = [f"pillar:{p}" if p in fixed else p for p in pillar_ids]
    return [*LEADING_COLUMNS, *pillars, *TRAILING_COLUMNS]


class CsvRenderer:
    """Header row, then one row per record (audit or error), sorted by repo."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the CSV (``\\n`` line ends; lists joined with ``;``)."""
        records = ordered(records)
        pillar_ids = [c.id for c in pillar_columns(records)]
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([safe_cell(name) for name in header(pillar_ids)])
        for record in records:
            writer.writerow([safe_cell(v) for v in self._row(record, pillar_ids)])

    @staticmethod
    def _row(record: Mapping[str, Any], pillar_ids: Sequence[str]) -> list[object]:
        base = [record.get("repo_type"), record.get("repo_id"), record.get("revision"),
                record.get("sha")]
        if is_error(record):
            kind, message = error_parts(record)
            return [*base, "", "", "", *([""] * len(pillar_ids)), *([""] * len(COUNT_COLUMNS)),
                    kind, message]
        outcomes = pillar_outcomes(record)
        return [*base, record.get("verdict"),
                joined(record.get("reason_families") or (), LIST_SEPARATOR),
                joined(record.get("gaps") or (), LIST_SEPARATOR),
                *(outcomes.get(p, "") for p in pillar_ids),
                *(summary_count(record, o) for o in COUNT_COLUMNS), "", ""]
