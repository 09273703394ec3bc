"""One self-contained HTML file for a batch: totals, a verdict chart, a sortable and
filterable per-repo table, the repos not audited, and every repo's findings.

Inline CSS and JS only; a Content-Security-Policy allows exactly those two blocks (by hash) and
no network load. Without JS it is a plain table with native ``<details>``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, TextIO

from openaudit import __version__
from openaudit.records import RECORD_VERSION
from openaudit.render.batch.common import (
    NOT_AUDITED,
    OUTCOME_RANK,
    VERDICTS,
    PillarColumn,
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
    verdict_rank,
)
from openaudit.render.batch.html_chart import verdict_chart
from openaudit.render.batch.html_details import esc, outcome_badge, repo_details, verdict_badge

Record = Mapping[str, Any]


def _asset(name: str) -> str:
    return resources.files("openaudit.render.batch").joinpath("assets", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(style: str, script: str) -> str:
    """Nothing may load but the inline style and script with these exact hashes."""
    return (f"default-src 'none'; style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def _anchor(index: int) -> str:
    return f"repo-{index}"


def _header(records: Sequence[Record]) -> str:
    info = generation_info(records)
    done = len(audited(records))
    stats = [("Repos", len(records)), ("Audited", done), ("Not audited", len(records) - done)]
    cards = "".join(f'<div class="stat"><dt>{esc(name)}</dt><dd>{count}</dd></div>'
                    for name, count in stats)
    tools = esc(", ".join(info["tool_versions"]) or "none")
    packs = "".join(f"<li>{esc(p)}</li>" for p in info["rulesets"]) or "<li>none</li>"
    return (
        f'<header><h1>openaudit batch report</h1><dl class="stats">{cards}</dl>'
        f'<div class="meta"><p>Rendered by openaudit {esc(__version__)} from '
        f"batch records (record version {esc(RECORD_VERSION)}) made with openaudit "
        f"{tools}.</p><p>Rule packs:</p><ul>{packs}</ul></div></header>"
    )


def _chart(records: Sequence[Record]) -> str:
    return (f'<section aria-labelledby="chart-h"><h2 id="chart-h">Verdicts</h2>'
            f"<figure>{verdict_chart(verdict_counts(records))}</figure></section>")


def _controls() -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in VERDICTS)
    return (
        '<div class="controls" id="controls" hidden>'
        '<label>Repo id <input type="search" id="filter-repo" placeholder="filter by repo id" '
        'autocomplete="off"></label>'
        f'<label>Verdict <select id="filter-verdict"><option value="">all verdicts</option>'
        f"{options}</select></label>"
        '<span id="shown" aria-live="polite"></span></div>'
    )


def _row(record: Record, anchor: str, columns: Sequence[PillarColumn]) -> str:
    outcomes = pillar_outcomes(record)
    verdict = str(record.get("verdict"))
    cells = [
        f'<td class="repo-cell" data-sort="{esc(str(record.get("repo_id")).lower())}">'
        f'<a href="#{anchor}">{esc(record.get("repo_id"))}</a></td>',
        f"<td>{esc(record.get('repo_type'))}</td>",
        f'<td data-sort="{verdict_rank(verdict)}">{verdict_badge(verdict)}</td>',
        f'<td class="gaps">{esc(joined(record.get("gaps") or ()) or "none")}</td>',
    ]
    for column in columns:
        outcome = outcomes.get(column.id)
        if outcome is None:
            cells.append('<td class="pillar na" data-sort="9">—</td>')
        else:
            cells.append(f'<td class="pillar" data-sort="{OUTCOME_RANK.get(outcome, 8)}">'
                         f"{outcome_badge(outcome)}</td>")
    cells += [f'<td class="num" data-sort="{summary_count(record, o)}">'
              f"{summary_count(record, o)}</td>" for o in ("fail", "warn", "not-tested")]
    return (f'<tr data-repo="{esc(record.get("repo_id"))}" data-verdict="{esc(verdict)}">'
            + "".join(cells) + "</tr>")


def _repos(records: Sequence[Record]) -> str:
    if not records:
        return '<section><h2>Audited repos (0)</h2><p>No repo was audited.</p></section>'
    columns = pillar_columns(records)
    heads = ['<th scope="col">Repo</th>', '<th scope="col">Type</th>',
             '<th scope="col">Verdict</th>', '<th scope="col">Gaps</th>']
    heads += [f'<th scope="col" title="{esc(c.title)}">{esc(c.id)}</th>' for c in columns]
    heads += ['<th scope="col">Fail</th>', '<th scope="col">Warn</th>',
              '<th scope="col">Not tested</th>']
    rows = "\n".join(_row(r, _anchor(i), columns) for i, r in enumerate(records, 1))
    return (
        f'<section aria-labelledby="repos-h"><h2 id="repos-h">Audited repos ({len(records)})'
        f"</h2>{_controls()}"
        '<div class="table-wrap"><table id="repos"><caption>One row per repo; a pillar cell '
        "is the worst outcome of its rules (— : not in the repo's rule pack). Click a repo "
        "for its findings.</caption>"
        f"<thead><tr>{''.join(heads)}</tr></thead><tbody>\n{rows}\n</tbody></table></div>"
        "</section>"
    )


def _not_audited(records: Sequence[Record]) -> str:
    if not records:
        return ""
    rows = []
    for record in records:
        kind, message = error_parts(record)
        rows.append(f"<tr><td>{esc(record.get('repo_id'))}</td>"
                    f"<td>{esc(record.get('repo_type'))}</td>"
                    f"<td>{esc(record.get('revision') or '')}</td>"
                    f"<td><code>{esc(kind)}</code></td><td>{esc(message)}</td></tr>")
    return (
        f'<section aria-labelledby="errors-h"><h2 id="errors-h">{NOT_AUDITED.capitalize()} '
        f"({len(records)})</h2>"
        '<div class="table-wrap"><table id="not-audited"><thead><tr><th scope="col">Repo</th>'
        '<th scope="col">Type</th><th scope="col">Revision</th><th scope="col">Error</th>'
        '<th scope="col">Message</th></tr></thead><tbody>\n'
        + "\n".join(rows) + "\n</tbody></table></div></section>"
    )


def _details(records: Sequence[Record]) -> str:
    if not records:
        return ""
    body = "\n".join(repo_details(r, _anchor(i)) for i, r in enumerate(records, 1))
    return (f'<section aria-labelledby="details-h"><h2 id="details-h">Findings per repo</h2>'
            f"\n{body}\n</section>")


def render_html(records: Sequence[Record]) -> str:
    """The whole document as a string (records sorted first, so the bytes are stable)."""
    records = ordered(records)
    done = audited(records)
    style, script = _asset("report.css"), _asset("report.js")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        f'content="{esc(content_security_policy(style, script))}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>openaudit batch report: {len(records)} repo(s)</title>",
        f"<style>{style}</style></head><body>",
        _header(records),
        "<main>",
        _chart(records),
        _repos(done),
        _not_audited(errors(records)),
        _details(done),
        "</main>",
        f"<footer><p>{esc(batch_disclaimer(records))}</p></footer>",
        f"<script>{script}</script>",
        "</body></html>",
        "",
    ])


class HtmlRenderer:
    """The batch as one self-contained HTML page."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the page."""
        out.write(render_html(records))
