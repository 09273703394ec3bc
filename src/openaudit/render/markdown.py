"""Markdown for pull requests and release notes."""

from __future__ import annotations

from typing import TextIO

from openaudit.models import AuditReport, Outcome
from openaudit.render.base import OUTCOME_ORDER, target_label

_ICON = {Outcome.PASS: "✅ pass", Outcome.FAIL: "❌ fail", Outcome.WARN: "⚠️ warn",
         Outcome.NOT_TESTED: "❔ not tested"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


class MarkdownRenderer:
    """A heading with the verdict, a pillar table, and the findings that need attention."""

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report as Markdown."""
        lines = [
            f"## openaudit: `{report.verdict.value}`",
            "",
            f"**Target:** {target_label(report)}  ",
            f"**Rule pack:** {report.pack} {report.ruleset_version} "
            f"(digest `{report.ruleset_digest}`)  ",
            f"**Why:** {report.verdict_reason}",
            "",
            "| Pillar | Outcome | Rules |",
            "|---|---|---|",
        ]
        lines += [f"| {p.title} | {_ICON[p.outcome]} | {', '.join(p.rule_ids)} |"
                  for p in report.pillars]
        todo = sorted((f for f in report.findings if f.outcome is not Outcome.PASS),
                      key=lambda f: (OUTCOME_ORDER[f.outcome], f.rule_id))
        if todo:
            lines += ["", "### Findings", "", "| Rule | Outcome | Finding | Evidence | Fix |",
                      "|---|---|---|---|---|"]
            for f in todo:
                evidence = "<br>".join(_cell(e.describe()) for e in f.evidence[:3])
                lines.append(f"| `{f.rule_id}` {_cell(f.title)} | {_ICON[f.outcome]} | "
                             f"{_cell(f.message)} | {evidence} | {_cell(f.fix)} |")
        passed = [f.rule_id for f in report.findings if f.outcome is Outcome.PASS]
        if passed:
            lines += ["", f"<details><summary>{len(passed)} rules passed</summary>", "",
                      ", ".join(f"`{r}`" for r in passed), "", "</details>"]
        lines += ["", "_openaudit is an evidence-based reading of OSAID 1.0, not an OSI "
                  "certification._", ""]
        out.write("\n".join(lines))
