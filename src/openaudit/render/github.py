"""GitHub Actions workflow commands: one annotation per finding that is not a pass.

``fail`` is ``::error``, ``warn`` is ``::warning``. ``not-tested`` is ``::warning`` too, not
``::notice``: the evidence could not be read, that keeps the verdict from ``compliant``, and
someone has to act (grant access, shrink or fix the file). A waived finding is a ``::notice``
that says it was waived and why: visible, but not a problem. Text from the audited repository
(excerpts, file names) is escaped the way the Actions runner unescapes it, so it can never end a
command early or start a new one. The last line is a plain verdict summary.

For a local check, a finding with no file evidence (a missing section, link or component) is
placed on the card, ``README.md``, as in SARIF: that is the file the fix goes into. For a Hub
audit it has no ``file=``: the checkout the workflow runs in is not the audited repository.
"""

from __future__ import annotations

from typing import TextIO

from openaudit.models import AuditReport, Finding, Outcome
from openaudit.render.base import (
    CARD_FILE,
    RenderContext,
    by_attention,
    could_not_check,
    headline,
    remedy,
    target_label,
)

_COMMAND = {Outcome.FAIL: "error", Outcome.WARN: "warning", Outcome.NOT_TESTED: "warning"}


def escape_data(text: str) -> str:
    """Escape a command's message: ``%``, CR and LF (as the runner's toolkit does)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value: as data, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubRenderer:
    """``::error file=…,line=…,title=…::message`` lines, then the verdict."""

    def __init__(self, context: RenderContext | None = None) -> None:
        self.context = context or RenderContext()

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write one workflow command per non-pass finding and a summary line."""
        card = report.target.source == "local" and (
            self.context.files is None or CARD_FILE in self.context.files)
        for finding in by_attention(report.findings):
            if finding.outcome is not Outcome.PASS:
                out.write(self.command(finding, CARD_FILE if card else None) + "\n")
        out.write(summary_line(report) + "\n")

    def command(self, finding: Finding, fallback_file: str | None = None) -> str:
        """The workflow command for one finding; ``fallback_file`` when it has no file evidence."""
        props: list[tuple[str, str]] = []
        files = self.context.file_evidence(finding)
        if files:
            path, item = files[0]
            props.append(("file", self.context.path(path)))
            if item.line is not None:
                props.append(("line", str(item.line)))
        elif fallback_file is not None:
            props.append(("file", self.context.path(fallback_file)))
        title = headline(finding)
        if finding.waiver is not None:
            name = "notice"
            title = f"{title} (waived)"
            message = (f"Waived by project policy: {finding.waiver.rstrip('.')}. "
                       f"Finding ({finding.outcome.value}): {finding.message}")
        else:
            name = _COMMAND[finding.outcome]
            text = finding.message
            if finding.outcome is Outcome.NOT_TESTED:
                text = could_not_check(text)
            message = f"{text} (fix: {remedy(finding)})"
        props.append(("title", title))
        head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
        return f"::{name} {head}::{escape_data(message)}"


def summary_line(report: AuditReport) -> str:
    """``openaudit: VERDICT for TARGET — reason (counts)`` on one line."""
    counted = [f for f in report.findings if f.waiver is None]
    counts = [f"{sum(f.outcome is o for f in counted)} {label}"
              for o, label in ((Outcome.FAIL, "failed"), (Outcome.NOT_TESTED, "not tested"),
                               (Outcome.WARN, "warnings"), (Outcome.PASS, "passed"))]
    waived = sum(f.waiver is not None for f in report.findings)
    if waived:
        counts.append(f"{waived} waived")
    line = (f"openaudit: {report.verdict.value} for {target_label(report)} — "
            f"{report.verdict_reason} ({', '.join(counts)})")
    return " ".join(line.split())  # one line whatever the reason text holds
