"""Untrusted text made safe to show: the one output sanitiser every writer goes through.

Everything read from an audited folder, a dump or an endpoint (card values, headings, file
names, rule files named by a policy, server messages) may be hostile. Before it reaches a
terminal, a CI log or a report:

* C0 and C1 control characters, DEL and the Unicode bidi controls are shown as visible escapes
  (``\\x1b``, ``\\u202e``), so no terminal sequence runs and no text is reordered on screen;
  newline and tab stay where the format can carry them (``keep``);
* credentials in URLs are redacted (``https://user:pass@host`` → ``https://***@host``);
* no line can start a CI workflow command: a line whose first non-blank text is ``::`` (GitHub
  Actions), ``##[`` or ``##vso[`` (the older runner and Azure Pipelines syntax) gets a backslash
  before it.

JSON is different: it must stay valid and lossless for machines, so :func:`json_text` writes
the characters above as JSON ``\\uXXXX`` escapes, which decode to the very same string; the one
change it makes to the data is the credential redaction.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from openaudit.models import AuditReport, Evidence, Finding, PillarResult, Target

if TYPE_CHECKING:
    from openaudit.render.base import RenderContext

# Bidi embeddings, overrides, isolates and marks: they reorder the text around them on screen.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Line and paragraph separators: some viewers (and JavaScript) break lines at them.
SEPARATORS = "\u2028\u2029"
_UNSAFE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *map(ord, BIDI + SEPARATORS)]


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE: dict[int, str] = {code: _escape(code) for code in _UNSAFE}
_TO_ESCAPE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}{SEPARATORS}]")
_TABLES: dict[str, dict[int, str]] = {}


def _table(keep: str) -> dict[int, str]:
    table = _TABLES.get(keep)
    if table is None:
        table = _TABLES[keep] = {k: v for k, v in _TABLE.items() if chr(k) not in keep}
    return table


def visible(text: str, keep: str = "") -> str:
    """Control, DEL, bidi and separator characters as visible escapes; those in ``keep`` stay.

    Keeping newline but not CR turns ``\\r\\n`` into a newline (a line end, not a control).
    """
    if _TO_ESCAPE.search(text) is None:  # a scan in C; translate looks up every character
        return text
    if "\n" in keep and "\r" not in keep and "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_table(keep))


# scheme://userinfo@ : everything between ``//`` and the last ``@`` before the host's end. No
# quote or backslash in it, so that in JSON text a match never leaves its string.
_USERINFO = r"\b([a-z][a-z0-9+.-]*://)[^\s/?#@\"\\]*(?:@[^\s/?#@\"\\]*)*@"
_CREDENTIALS = re.compile(_USERINFO, re.IGNORECASE)
_CREDENTIALS_UTF8 = re.compile(_USERINFO.encode(), re.IGNORECASE)


def redact(text: str) -> str:
    """``https://user:pass@host`` → ``https://***@host`` wherever a URL is in the text."""
    return _CREDENTIALS.sub(r"\1***@", text) if "@" in text else text


# A runner reads a command from a line whose text, after leading white space, starts so.
_COMMAND = re.compile(r"^([^\S\n]*)(::|##\[|##vso\[)", re.MULTILINE)


def defuse_commands(text: str) -> str:
    """A backslash before ``::``, ``##[`` or ``##vso[`` wherever one would start a line."""
    return _COMMAND.sub(r"\1\\\2", text)


MULTILINE = "\n\t"  # what text for people keeps by default: its lines and tabs


def clean(text: str, keep: str = MULTILINE) -> str:
    """Untrusted text for people: redacted, controls escaped, no workflow command.

    ``keep=""`` escapes newline and tab too (file names, ids). A format that escapes CR itself
    (github, SARIF) may keep it: ``keep="\\n\\t\\r"``.
    """
    # Each step only when its trigger is there: nearly every string is returned as it came.
    if "://" in text:
        text = redact(text)
    if not (text.isascii() and text.isprintable()):
        text = visible(text, keep)
    return defuse_commands(text) if "::" in text or "##" in text else text


def one_line(text: str) -> str:
    """``clean`` that escapes newline and tab too: ids, file names, list items."""
    return clean(text, "")


def clean_data(value: Any, keep: str = MULTILINE) -> Any:
    """``clean`` applied to every string value of JSON-like data (a batch record, a SARIF log).

    Keys are left alone: they are the format's own (writers print the values of keys they
    know), and skipping them halves the work on a batch of many records.
    """
    if isinstance(value, str):
        return clean(value, keep)
    if isinstance(value, Mapping):
        return {k: clean_data(v, keep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v, keep) for v in value]
    return value


# ---- audit reports ---------------------------------------------------------------------------


class _ReportCleaner:
    """Cleans each text field of a report: ids and file names to one line, prose with ``keep``."""

    def __init__(self, keep: str) -> None:
        self.keep = keep

    def text(self, value: str) -> str:
        return clean(value, self.keep)

    def opt(self, value: str | None) -> str | None:
        return None if value is None else clean(value, self.keep)

    line = staticmethod(one_line)

    def evidence(self, item: Evidence) -> Evidence:
        return Evidence(self.line(item.source), item.line, self.opt(item.excerpt))

    def finding(self, f: Finding) -> Finding:
        return replace(f, rule_id=self.line(f.rule_id), title=self.text(f.title),
                       pillar=self.line(f.pillar), message=self.text(f.message),
                       evidence=tuple(map(self.evidence, f.evidence)), fix=self.text(f.fix),
                       clause=self.text(f.clause), reason_code=self.line(f.reason_code),
                       waiver=self.opt(f.waiver))

    def pillar(self, p: PillarResult) -> PillarResult:
        return replace(p, name=self.line(p.name), title=self.text(p.title),
                       gap_group=self.line(p.gap_group), rule_ids=tuple(map(self.line, p.rule_ids)))

    def target(self, t: Target) -> Target:
        return replace(t, repo_id=self.line(t.repo_id), source=self.line(t.source),
                       revision=None if t.revision is None else self.line(t.revision),
                       sha=None if t.sha is None else self.line(t.sha))

    def report(self, r: AuditReport) -> AuditReport:
        line = self.line
        return replace(r, target=self.target(r.target), pack=line(r.pack),
                       ruleset_version=line(r.ruleset_version),
                       ruleset_digest=line(r.ruleset_digest),
                       verdict_reason=self.text(r.verdict_reason), gaps=tuple(map(line, r.gaps)),
                       pillars=tuple(map(self.pillar, r.pillars)),
                       findings=tuple(map(self.finding, r.findings)),
                       tool_version=line(r.tool_version),
                       reason_families=tuple(map(line, r.reason_families)))


def clean_report(report: AuditReport, keep: str = MULTILINE) -> AuditReport:
    """The report with every text field cleaned (ids and file names to one line)."""
    return _ReportCleaner(keep).report(report)


def clean_context(context: RenderContext) -> RenderContext:
    """File names cleaned as evidence sources are, so the two still match."""
    files = None if context.files is None else frozenset(
        map(one_line, context.files))
    return replace(context, base_dir=one_line(context.base_dir), files=files)


# ---- JSON ------------------------------------------------------------------------------------

# JSON text holds these raw only inside strings (json.dumps escapes C0 itself), so an escape
# in their place is valid and decodes to the same string.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{BIDI}{SEPARATORS}]")
_JSON_UNSAFE_CODES = (0x7F, *range(0x80, 0xA0), *map(ord, BIDI + SEPARATORS))
_JSON_UNSAFE_UTF8 = re.compile(b"|".join(re.escape(chr(c).encode()) for c in _JSON_UNSAFE_CODES))


def json_text(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with DEL, C1, bidi and line
    separator characters written as ``\\uXXXX`` escapes (the same data, nothing hidden) and
    credentials in URLs redacted (the one change to the data)."""
    if not (text.isascii() and "\x7f" not in text):
        text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return redact(text)


def json_bytes(data: bytes) -> bytes:
    """``json_text`` for UTF-8 encoded JSON lines (records a dump's workers encoded)."""
    if not (data.isascii() and b"\x7f" not in data):
        data = _JSON_UNSAFE_UTF8.sub(
            lambda m: f"\\u{ord(m.group().decode()):04x}".encode(), data)
    return _CREDENTIALS_UTF8.sub(rb"\1***@", data) if b"@" in data else data


# ---- stderr ----------------------------------------------------------------------------------


def say(text: str) -> None:
    """Write a message for people to stderr, cleaned (newlines kept, each line defused)."""
    sys.stderr.write(clean(text))
