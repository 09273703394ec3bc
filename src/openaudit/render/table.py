"""Rich terminal output: verdict banner, one line per pillar, findings with evidence and fixes."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from openaudit.models import AuditReport, Outcome, Verdict
from openaudit.render.base import by_attention, disclaimer, pillar_why, remedy, target_label

_STYLE = {Outcome.PASS: "green", Outcome.FAIL: "red", Outcome.WARN: "yellow",
          Outcome.NOT_TESTED: "magenta"}
_VERDICT_STYLE = {Verdict.COMPLIANT: "bold white on green",
                  Verdict.POTENTIALLY_COMPLIANT: "bold black on yellow",
                  Verdict.NON_COMPLIANT: "bold white on red"}


class TableRenderer:
    """Human-readable report; colour only when the stream is a terminal.

    Text from the report goes in as ``Text``, never as a markup string: ``[red]`` or
    ``[link=…]`` in a card stays literal.
    """

    def __init__(self, width: int | None = None) -> None:
        self.width = width

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report with Rich."""
        console = Console(file=out, width=self.width, highlight=False, soft_wrap=False)
        banner = Text(f" {report.verdict.value.upper()} ", style=_VERDICT_STYLE[report.verdict])
        banner.append(f"  {target_label(report)}\n", style="bold")
        banner.append(f"{report.verdict_reason}\n", style="italic")
        banner.append(f"rule pack {report.pack} {report.ruleset_version} · "
                      f"digest {report.ruleset_digest}", style="dim")
        console.print(Panel(banner, title="openaudit", expand=True))
        console.print(self._pillars(report))
        console.print(self._findings(report))
        footer = Text(f"{disclaimer(report.pack)} `openaudit explain RULE_ID` tells why a rule "
                      "exists and how to fix it.", style="dim")
        console.print(footer)

    def _pillars(self, report: AuditReport) -> Table:
        table = Table(title="Pillars", show_lines=False, expand=True)
        table.add_column("Pillar")
        table.add_column("Outcome")
        table.add_column("Why", ratio=3)
        for p in report.pillars:
            table.add_row(Text(p.title), Text(p.outcome.value, style=_STYLE[p.outcome]),
                          Text(pillar_why(p, report.findings)))
        return table

    def _findings(self, report: AuditReport) -> Table:
        table = Table(title="Findings", show_lines=True, expand=True)
        table.add_column("Rule", no_wrap=True)
        table.add_column("Outcome", no_wrap=True)
        table.add_column("Finding and evidence", ratio=3)
        table.add_column("Fix", ratio=2)
        for f in by_attention(report.findings):
            body = Text(f.message)
            for item in f.evidence[:4]:
                body.append("\n  • " + item.describe(), style="dim")
            outcome = Text(f.outcome.value, style=_STYLE[f.outcome])
            if f.waiver is not None:  # still shown, but it no longer counts
                outcome = Text(f.outcome.value, style="dim strike")
                outcome.append("\nwaived", style="cyan")
                body.append(f"\nwaived: {f.waiver}", style="cyan")
            rule = Text(f"{f.rule_id}\n")
            rule.append(f.pillar, style="dim")
            table.add_row(rule, outcome, body, Text(remedy(f)))
        return table
