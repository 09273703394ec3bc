"""Markdown for pull-request comments and release notes.

The verdict comes first, then the pillars, then what needs a look (failures, not-tested,
warnings) with evidence as ``file:line`` and the fix, then waived findings with their reasons;
passing rules are collapsed. The last line is a hidden marker (:data:`COMMENT_MARKER`) so a bot
can find its earlier comment and update it in place. Text taken from the audited repository is
escaped so that it cannot change the comment's layout, notify anyone or turn into a link.
"""

from __future__ import annotations

import re
from typing import TextIO

from openaudit.models import AuditReport, Evidence, Finding, Outcome
from openaudit.render.base import (
    RenderContext,
    by_attention,
    disclaimer,
    headline,
    needs_attention,
    pillar_why,
    remedy,
    target_label,
)

COMMENT_MARKER = "<!-- openaudit-report -->"
_ICON = {Outcome.PASS: "✅ pass", Outcome.FAIL: "❌ fail", Outcome.WARN: "⚠️ warn",
         Outcome.NOT_TESTED: "❔ not tested"}
_SECTIONS = ((Outcome.FAIL, "❌ Failing"), (Outcome.NOT_TESTED, "❔ Not tested (could not check)"),
             (Outcome.WARN, "⚠️ Warnings"))
_MAX_EVIDENCE = 3
# Punctuation that could start emphasis, code, a link, a tag, an entity or a table cell mid-line.
_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f]")  # not whitespace to str.split, not text
# What GitHub turns into a notification or a link in plain text: @user / @org/team (and e-mail
# addresses), #123, scheme:// and www. URLs. A word joiner after each match leaves the visible
# text as it was but no longer matches.
_NOTIFY_OR_LINK = re.compile(r"@|#(?=\d)|[a-z](?=://)|\bwww(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def quiet(value: str) -> str:
    """The same visible text, with no @-mention, issue reference or autolink left in it."""
    return _NOTIFY_OR_LINK.sub(lambda m: m.group() + WORD_JOINER, value)


def text(value: str) -> str:
    """Untrusted text as one line of literal Markdown that notifies nobody and links nowhere."""
    return quiet(_SPECIAL.sub(r"\\\1", _CONTROL.sub("\ufffd", " ".join(value.split()))))


def code(value: str) -> str:
    """Inline code that survives backticks inside the value."""
    flat = _CONTROL.sub("\ufffd", " ".join(value.split()))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


class MarkdownRenderer:
    """A PR-comment-ready report."""

    def __init__(self, context: RenderContext | None = None) -> None:
        self.context = context or RenderContext()

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report as Markdown."""
        lines = [
            f"## openaudit: `{report.verdict.value}`",
            "",
            f"**Target:** {text(target_label(report))}  ",
            f"**Rule pack:** {text(report.pack)} {text(report.ruleset_version)} "
            f"(digest `{report.ruleset_digest}`)  ",
            f"**Why:** {text(report.verdict_reason)}",
            "",
            "| Pillar | Outcome | Why |",
            "|---|---|---|",
        ]
        lines += [f"| {text(p.title)} | {_ICON[p.outcome]} | "
                  f"{text(pillar_why(p, report.findings))} |" for p in report.pillars]
        ordered = by_attention(report.findings)
        for outcome, heading in _SECTIONS:
            mine = [f for f in ordered if f.outcome is outcome and needs_attention(f)]
            if mine:
                lines += ["", f"### {heading} ({len(mine)})", ""]
                for f in mine:
                    lines += self._finding(f)
        waived = [f for f in ordered if f.waiver is not None]
        if waived:
            lines += ["", f"### 🔕 Waived by project policy ({len(waived)})", "",
                      "These findings are shown but do not count towards the verdict.", ""]
            lines += [f"- `{f.rule_id}` {text(f.title)} ({_ICON[f.outcome]}): "
                      f"**waived:** {text(f.waiver or '')}" for f in waived]
        passed = [f.rule_id for f in ordered if f.outcome is Outcome.PASS]
        if passed:
            lines += ["", f"<details><summary>{len(passed)} rules passed</summary>", "",
                      ", ".join(f"`{r}`" for r in passed), "", "</details>"]
        lines += ["", f"_{text(disclaimer(report.pack))}_", "", COMMENT_MARKER, ""]
        out.write("\n".join(lines))

    def _finding(self, f: Finding) -> list[str]:
        rule_id, state = f.rule_id, headline(f)[len(f.rule_id) + 1:]
        lines = [f"- **`{rule_id}` {text(state)}** ({text(f.pillar)}): {text(f.message)}"]
        if f.evidence:
            shown = "; ".join(self._evidence(e) for e in f.evidence[:_MAX_EVIDENCE])
            more = len(f.evidence) - _MAX_EVIDENCE
            lines.append(f"  - Evidence: {shown}" + (f" (+{more} more)" if more > 0 else ""))
        if f.fix:
            lines.append(f"  - Fix: {text(remedy(f))}")
        return lines

    def _evidence(self, item: Evidence) -> str:
        path = self.context.evidence_file(item)
        if path is None:
            where = code(item.source if item.line is None else f"{item.source}:{item.line}")
        else:
            rest = item.source[len(path):].strip()
            shown = self.context.path(path) + (f":{item.line}" if item.line is not None else "")
            where = code(shown) + (f" {text(rest)}" if rest else "")
        return where + (f" “{text(item.excerpt)}”" if item.excerpt else "")
