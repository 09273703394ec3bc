"""Output formats behind one interface: pick a renderer by OutputFormat."""

from __future__ import annotations

from enum import StrEnum
from typing import TextIO, assert_never

from openaudit.models import AuditReport
from openaudit.render.base import RenderContext, Renderer
from openaudit.sanitize import MULTILINE, clean_context, clean_report

__all__ = ["OutputFormat", "RenderContext", "Renderer", "renderer_for"]


class OutputFormat(StrEnum):
    """Formats for a single audit report."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    GITHUB = "github"
    JUNIT = "junit"


class Cleaned:
    """The choke point of the formats for people: the renderer gets the report with every text
    cleaned (``openaudit.sanitize.clean_report``)."""

    def __init__(self, inner: Renderer, keep: str = MULTILINE) -> None:
        self.inner = inner
        self.keep = keep

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Render the cleaned report."""
        self.inner.render(clean_report(report, self.keep), out)


def renderer_for(fmt: OutputFormat, context: RenderContext | None = None) -> Renderer:
    """The renderer for a format (exhaustive: mypy checks every member is handled).

    ``context`` carries what some formats need besides the report (rule metadata, the audited
    folder's path, the file list); every renderer works without it. Table, markdown, github
    and junit render a cleaned report (with the context's file names cleaned alike, so evidence
    still finds its file); JSON and SARIF clean as they encode (JSON losslessly, SARIF with the
    rule metadata too).
    """
    context = context or RenderContext()
    if fmt is OutputFormat.TABLE:
        from openaudit.render.table import TableRenderer

        return Cleaned(TableRenderer())
    if fmt is OutputFormat.JSON:
        from openaudit.render.json_report import JsonRenderer

        return JsonRenderer()
    if fmt is OutputFormat.MARKDOWN:
        from openaudit.render.markdown import MarkdownRenderer

        return Cleaned(MarkdownRenderer(clean_context(context)))
    if fmt is OutputFormat.SARIF:
        from openaudit.render.sarif import SarifRenderer

        return SarifRenderer(context)
    if fmt is OutputFormat.GITHUB:
        from openaudit.render.github import GithubRenderer

        # CR is escaped as %0D by the command syntax itself, so it may stay.
        return Cleaned(GithubRenderer(clean_context(context)), keep=MULTILINE + "\r")
    if fmt is OutputFormat.JUNIT:
        from openaudit.render.junit import JunitRenderer

        return Cleaned(JunitRenderer())
    assert_never(fmt)
