"""Markdown for a batch: a summary table, one row per repo with pillar icons, repos not audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from openaudit.render.batch.common import (
    NOT_AUDITED,
    audited,
    batch_disclaimer,
    error_parts,
    errors,
    generation_info,
    joined,
    ordered,
    pillar_columns,
    pillar_outcomes,
    summary_count,
    verdict_counts,
)
from openaudit.render.markdown import quiet

_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "not-tested": "❔"}
_VERDICT_ICON = {"compliant": "✅", "potentially-compliant": "⚠️", "non-compliant": "❌",
                 NOT_AUDITED: "💥"}


_MARKUP = "\\`*_[]|~"  # backslash first, so the escapes added after it stay single


def cell(text: object) -> str:
    """Literal text in a table cell: no pipe, line break, emphasis or raw HTML takes effect, and
    no @-mention, issue reference or URL notifies anyone or becomes a link."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in _MARKUP:
        value = value.replace(char, "\\" + char)
    return quiet(" ".join(value.split()))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


class BatchMarkdownRenderer:
    """For an issue, a PR or a release note: counts, per-repo pillars, and what failed."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the batch as Markdown."""
        records = ordered(records)
        info = generation_info(records)
        lines = [f"## openaudit batch: {len(records)} repo(s)", ""]
        if info["rulesets"]:
            lines += [f"**Rule packs:** {cell('; '.join(info['rulesets']))}  ",
                      f"**openaudit:** {cell(', '.join(info['tool_versions']))}", ""]
        lines += [_row(["Verdict", "Repos"]), _row(["---", "---:"])]
        lines += [_row([f"{_VERDICT_ICON.get(v, '')} {cell(v)}".strip(), str(n)])
                  for v, n in verdict_counts(records).items()]
        lines += [_row(["**total**", f"**{len(records)}**"])]
        lines += self._repos(audited(records))
        lines += self._not_audited(errors(records))
        lines += ["", f"_{cell(batch_disclaimer(records))}_", ""]
        out.write("\n".join(lines))

    @staticmethod
    def _repos(records: Sequence[Mapping[str, Any]]) -> list[str]:
        if not records:
            return []
        columns = pillar_columns(records)
        head = ["Repo", "Type", "Verdict", *(cell(c.id) for c in columns), "Gaps",
                "Fail", "Warn", "Not tested"]
        lines = ["", "### Repos", "", _row(head),
                 _row(["---"] * 3 + [":---:"] * len(columns) + ["---"] + ["---:"] * 3)]
        for record in records:
            outcomes = pillar_outcomes(record)
            verdict = str(record.get("verdict"))
            lines.append(_row([
                cell(record.get("repo_id")), cell(record.get("repo_type")),
                f"{_VERDICT_ICON.get(verdict, '')} {cell(verdict)}".strip(),
                *(_ICON.get(outcomes.get(c.id, ""), "—") for c in columns),
                cell(joined(record.get("gaps") or ()) or "none"),
                *(str(summary_count(record, o)) for o in ("fail", "warn", "not-tested")),
            ]))
        legend = " · ".join(f"{icon} {name}" for name, icon in _ICON.items())
        lines += ["", f"Pillars: {legend} · — not in the repo's pack. Columns: "
                  + ", ".join(f"{cell(c.id)} = {cell(c.title)}" for c in columns) + "."]
        return lines

    @staticmethod
    def _not_audited(records: Sequence[Mapping[str, Any]]) -> list[str]:
        if not records:
            return []
        lines = ["", f"### Not audited ({len(records)})", "",
                 _row(["Repo", "Type", "Error", "Message"]), _row(["---"] * 4)]
        for record in records:
            kind, message = error_parts(record)
            lines.append(_row([cell(record.get("repo_id")), cell(record.get("repo_type")),
                               cell(kind), cell(message)]))
        return lines
