"""Batch reports: many audit records (and error records) in one document, behind one interface.

Every renderer sorts the records itself (``common.ordered``), so the same records in any order
give byte-identical output. The reports for people (table, markdown, csv, html) get records whose
every string is cleaned (``openaudit.sanitize``); JSON and JSONL stay lossless, with bidi and
control characters written as JSON escapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol, TextIO, assert_never

from openaudit.sanitize import clean_data


class BatchFormat(StrEnum):
    """Formats for a batch of audit records."""

    TABLE = "table"
    JSONL = "jsonl"
    JSON = "json"
    MARKDOWN = "markdown"
    CSV = "csv"
    HTML = "html"


class BatchRenderer(Protocol):
    """Writes batch records (audits and errors, in any order) to a text stream."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the report."""
        ...


class Cleaned:
    """The choke point of the batch reports for people: every string of every record cleaned."""

    def __init__(self, inner: BatchRenderer) -> None:
        self.inner = inner

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Render the cleaned records."""
        self.inner.render([clean_data(r) for r in records], out)


def batch_renderer_for(fmt: BatchFormat) -> BatchRenderer:
    """The renderer for a batch format (exhaustive: mypy checks every member is handled)."""
    if fmt is BatchFormat.TABLE:
        from openaudit.render.batch.table import BatchTableRenderer

        return Cleaned(BatchTableRenderer())
    if fmt is BatchFormat.JSONL:
        from openaudit.render.batch.jsonl import JsonlRenderer

        return JsonlRenderer()
    if fmt is BatchFormat.JSON:
        from openaudit.render.batch.json_doc import BatchJsonRenderer

        return BatchJsonRenderer()
    if fmt is BatchFormat.MARKDOWN:
        from openaudit.render.batch.markdown import BatchMarkdownRenderer

        return Cleaned(BatchMarkdownRenderer())
    if fmt is BatchFormat.CSV:
        from openaudit.render.batch.csv_report import CsvRenderer

        return Cleaned(CsvRenderer())
    if fmt is BatchFormat.HTML:
        from openaudit.render.batch.html import HtmlRenderer

        return Cleaned(HtmlRenderer())
    assert_never(fmt)
