"""Output formats behind one interface: pick a renderer by OutputFormat."""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from openaudit.render.base import Renderer


class OutputFormat(StrEnum):
    """Formats for a single audit report."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def renderer_for(fmt: OutputFormat) -> Renderer:
    """The renderer for a format (exhaustive: mypy checks every member is handled)."""
    if fmt is OutputFormat.TABLE:
        from openaudit.render.table import TableRenderer

        return TableRenderer()
    if fmt is OutputFormat.JSON:
        from openaudit.render.json_report import JsonRenderer

        return JsonRenderer()
    if fmt is OutputFormat.MARKDOWN:
        from openaudit.render.markdown import MarkdownRenderer

        return MarkdownRenderer()
    assert_never(fmt)
