"""Output formats behind one interface: pick a renderer by OutputFormat."""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from openaudit.render.base import RenderContext, Renderer

__all__ = ["OutputFormat", "RenderContext", "Renderer", "renderer_for"]


class OutputFormat(StrEnum):
    """Formats for a single audit report."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    GITHUB = "github"
    JUNIT = "junit"


def renderer_for(fmt: OutputFormat, context: RenderContext | None = None) -> Renderer:
    """The renderer for a format (exhaustive: mypy checks every member is handled).

    ``context`` carries what some formats need besides the report (rule metadata, the audited
    folder's path, the file list); every renderer works without it.
    """
    context = context or RenderContext()
    if fmt is OutputFormat.TABLE:
        from openaudit.render.table import TableRenderer

        return TableRenderer()
    if fmt is OutputFormat.JSON:
        from openaudit.render.json_report import JsonRenderer

        return JsonRenderer()
    if fmt is OutputFormat.MARKDOWN:
        from openaudit.render.markdown import MarkdownRenderer

        return MarkdownRenderer(context)
    if fmt is OutputFormat.SARIF:
        from openaudit.render.sarif import SarifRenderer

        return SarifRenderer(context)
    if fmt is OutputFormat.GITHUB:
        from openaudit.render.github import GithubRenderer

        return GithubRenderer(context)
    if fmt is OutputFormat.JUNIT:
        from openaudit.render.junit import JunitRenderer

        return JunitRenderer()
    assert_never(fmt)
