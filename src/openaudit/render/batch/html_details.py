"""Per-repo details for the HTML batch report: findings with evidence, fix and waiver."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from openaudit.render.batch.common import OUTCOME_RANK, joined, summary_count
from openaudit.render.batch.html_chart import css_class

_OUTCOME_MARK = {"pass": "✓", "fail": "✗", "warn": "!", "not-tested": "?"}


def esc(value: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return escape("" if value is None else str(value), quote=True)


def outcome_badge(outcome: str) -> str:
    """An outcome as colour *and* text (a mark and the word), so it reads without colour."""
    mark = _OUTCOME_MARK.get(outcome, "·")
    return (f'<span class="o o-{css_class(esc(outcome))}"><span aria-hidden="true">{mark}</span> '
            f"{esc(outcome)}</span>")


def verdict_badge(verdict: str) -> str:
    """A verdict as a coloured label."""
    return f'<span class="verdict v-{css_class(esc(verdict))}">{esc(verdict)}</span>'


def _evidence(finding: Mapping[str, Any]) -> str:
    items = []
    for item in finding.get("evidence") or ():
        line = item.get("line")
        where = f"{item.get('source')}:{line}" if line is not None else str(item.get("source"))
        excerpt = item.get("excerpt")
        quoted = f' <q class="excerpt">{esc(excerpt)}</q>' if excerpt else ""
        items.append(f"<li><code>{esc(where)}</code>{quoted}</li>")
    return f'<ul class="evidence">{"".join(items)}</ul>' if items else ""


def _finding(finding: Mapping[str, Any]) -> str:
    outcome = str(finding.get("outcome"))
    waiver = finding.get("waiver")
    waived = (f'<p class="waiver"><strong>Waived:</strong> {esc(waiver)}</p>'
              if waiver else "")
    return (
        f'<article class="finding f-{css_class(esc(outcome))}">'
        f'<h4><code>{esc(finding.get("rule_id"))}</code> {esc(finding.get("title"))} '
        f'{outcome_badge(outcome)} <span class="severity">{esc(finding.get("severity"))}</span>'
        f"</h4>"
        f'<p class="message">{esc(finding.get("message"))}</p>{waived}'
        f"{_evidence(finding)}"
        f'<p class="fix"><strong>Fix:</strong> {esc(finding.get("fix"))}</p>'
        f'<p class="clause">{esc(finding.get("clause"))} · <code>'
        f'{esc(finding.get("reason_code"))}</code></p>'
        "</article>"
    )


def repo_details(record: Mapping[str, Any], anchor: str) -> str:
    """A closed ``<details>`` for one audited repo: why the verdict, then every finding."""
    findings = sorted(record.get("findings") or (),
                      key=lambda f: (OUTCOME_RANK.get(str(f.get("outcome")), 9),
                                     str(f.get("rule_id"))))
    todo = [f for f in findings if f.get("outcome") != "pass" or f.get("waiver")]
    passed = [f for f in findings if f.get("outcome") == "pass" and not f.get("waiver")]
    ruleset = record.get("ruleset") or {}
    counts = ", ".join(f"{summary_count(record, o)} {o}" for o in ("fail", "warn", "not-tested"))
    at = " · ".join(part for part in (
        f"revision {esc(record.get('revision'))}" if record.get("revision") else "",
        f"sha <code>{esc(record.get('sha'))}</code>" if record.get("sha") else "",
        f"source {esc(record.get('source'))}" if record.get("source") else "",
        f"rule pack {esc(ruleset.get('pack'))} {esc(ruleset.get('version'))}",
    ) if part)
    body = "".join(_finding(f) for f in todo) or "<p>Every rule passed.</p>"
    passed_list = ""
    if passed:
        items = "".join(f"<li><code>{esc(f.get('rule_id'))}</code> {esc(f.get('title'))}</li>"
                        for f in passed)
        passed_list = (f'<details class="passed"><summary>{len(passed)} rule(s) passed'
                       f"</summary><ul>{items}</ul></details>")
    gaps = joined(record.get("gaps") or ()) or "none"
    return (
        f'<details class="repo" id="{esc(anchor)}"><summary>'
        f'<span class="repo-id">{esc(record.get("repo_id"))}</span> '
        f"{verdict_badge(str(record.get('verdict')))} "
        f'<span class="counts">{esc(counts)}</span></summary>'
        f'<p class="reason">{esc(record.get("verdict_reason"))} (gaps: {esc(gaps)})</p>'
        f'<p class="target">{esc(record.get("repo_type"))} · {at}</p>'
        f"{body}{passed_list}</details>"
    )
