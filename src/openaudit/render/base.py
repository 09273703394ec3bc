"""The renderer protocol shared by every output format."""

from __future__ import annotations

from typing import Protocol, TextIO

from openaudit.models import AuditReport, Outcome

OUTCOME_ORDER = {Outcome.FAIL: 0, Outcome.NOT_TESTED: 1, Outcome.WARN: 2, Outcome.PASS: 3}


class Renderer(Protocol):
    """Writes one audit report to a text stream."""

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report."""
        ...


def target_label(report: AuditReport) -> str:
    """``model org/name @ sha`` for headers."""
    t = report.target
    at = f" @ {t.sha[:12]}" if t.sha else ""
    rev = f" (revision {t.revision})" if t.revision else ""
    return f"{t.repo_type.value} {t.repo_id}{rev}{at}"
