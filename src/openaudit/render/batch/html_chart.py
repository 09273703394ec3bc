"""The verdict distribution as an inline SVG bar chart, with text labels and counts."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

_LABEL_WIDTH = 200
_BAR_WIDTH = 360
_ROW_HEIGHT = 34
_BAR_HEIGHT = 22


def css_class(name: str) -> str:
    """A CSS class fragment for a verdict or outcome name (``not audited`` → ``not-audited``)."""
    return "-".join(name.split())


def verdict_chart(counts: Mapping[str, int]) -> str:
    """One labelled bar per verdict (and the repos not audited); readable without colour.

    Each bar group carries ``data-verdict`` and ``data-count`` so tests and scripts can read the
    figures; the SVG's title and description give screen readers the same numbers.
    """
    total = sum(counts.values())
    width = _LABEL_WIDTH + _BAR_WIDTH + 110
    height = _ROW_HEIGHT * len(counts) + 8
    described = "; ".join(f"{name}: {count}" for name, count in counts.items())
    parts = [
        f'<svg class="chart" id="verdict-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="chart-title chart-desc">',
        '<title id="chart-title">Verdict distribution</title>',
        f'<desc id="chart-desc">{escape(described)} (of {total} repos)</desc>',
    ]
    for row, (name, count) in enumerate(counts.items()):
        y = 4 + row * _ROW_HEIGHT
        bar = round(_BAR_WIDTH * count / total) if total else 0
        share = f"{100 * count / total:.0f}%" if total else "0%"
        text_y = y + _BAR_HEIGHT / 2
        parts += [
            f'<g class="bar v-{css_class(name)}" data-verdict="{escape(name)}" '
            f'data-count="{count}">',
            f'<text class="bar-label" x="{_LABEL_WIDTH - 10}" y="{text_y}" '
            f'text-anchor="end" dominant-baseline="central">{escape(name)}</text>',
            f'<rect class="bar-track" x="{_LABEL_WIDTH}" y="{y}" width="{_BAR_WIDTH}" '
            f'height="{_BAR_HEIGHT}" rx="3"/>',
            f'<rect class="bar-fill" x="{_LABEL_WIDTH}" y="{y}" width="{bar}" '
            f'height="{_BAR_HEIGHT}" rx="3"/>',
            f'<text class="bar-count" x="{_LABEL_WIDTH + _BAR_WIDTH + 10}" y="{text_y}" '
            f'dominant-baseline="central">{count} ({share})</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return "\n".join(parts)
