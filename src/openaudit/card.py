"""Split a README.md into YAML front matter and body, tolerating every way a card can be broken."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_FENCE = re.compile(r"^---[ \t]*$")
_NOT_PLAIN = re.compile(r"[^\n -~]")  # anything but printable ASCII and newlines
_FLOW = re.compile(r"[\[{]")
_TOP_KEY = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?\s*:")
MAX_YAML_ALIASES = 20  # real cards use few or none; "billion laughs" needs many
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ParsedCard:
    """A README split into metadata and body.

    Attributes:
        metadata: The front matter mapping ({} when there is none or it is broken).
        status: ``ok``, ``missing`` (no front matter), ``malformed`` (YAML error) or
            ``not-a-mapping`` (valid YAML that is a list, string, number…).
        error: A one-line description of the YAML problem, when status is not ok/missing.
        body: The Markdown after the front matter.
        body_line: 1-based line number in README.md where the body starts.
        key_lines: Top-level metadata key → 1-based line number in README.md.
    """

    metadata: dict[str, Any]
    status: str
    error: str = ""
    body: str = ""
    body_line: int = 1
    key_lines: dict[str, int] = field(default_factory=dict)


def parse_card(text: str) -> ParsedCard:
    """Parse README text; never raises."""
    lines = text.splitlines()
    if not lines or not _FENCE.match(lines[0].lstrip("\ufeff")):
        return ParsedCard({}, "missing", body=text, body_line=1)
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        return ParsedCard({}, "malformed", "front matter starts with '---' but never ends", text)
    yaml_text = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    key_lines = _top_level_key_lines(lines[1:end], offset=2)
    try:
        data = _load_fast(yaml_text)
    except Exception:  # any failure is redone the reference way below
        # Broken or refused: redo it the reference way, so the outcome and message are exactly
        # what the pure-Python event pass and the load have always given.
        try:
            if _alias_count(yaml_text) > MAX_YAML_ALIASES:
                return ParsedCard({}, "malformed", f"front matter uses more than "
                                  f"{MAX_YAML_ALIASES} YAML aliases (refused: alias expansion "
                                  "can exhaust memory)", body, end + 2, key_lines)
            data = yaml.load(yaml_text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            return ParsedCard({}, "malformed", _yaml_error(exc, offset=1), body, end + 2,
                              key_lines)
    if data is None:
        return ParsedCard({}, "ok", body=body, body_line=end + 2, key_lines=key_lines)
    if not isinstance(data, dict):
        kind = type(data).__name__
        return ParsedCard({}, "not-a-mapping", f"front matter is a {kind}, not a mapping", body,
                          end + 2, key_lines)
    metadata = {str(k): v for k, v in data.items()}
    return ParsedCard(metadata, "ok", body=body, body_line=end + 2, key_lines=key_lines)


class _NeedsReference(Exception):
    """The fast path cannot decide this text exactly as the reference path would."""


def _load_fast(yaml_text: str) -> Any:
    """Load with libyaml alone, refusing alias bombs before anything is constructed.

    The reference path also runs PyYAML's pure-Python parser, which is stricter than libyaml
    on a few inputs (tabs, a byte-order mark inside the text, ``?`` in a flow collection), so
    only text where the two are known to agree takes this path: printable ASCII and newlines,
    and no ``?`` next to a flow collection. An alias is written ``*name``, so a text without
    ``*`` has none; otherwise the aliases are counted on libyaml's event stream.
    """
    if _NOT_PLAIN.search(yaml_text) or ("?" in yaml_text and _FLOW.search(yaml_text)):
        raise _NeedsReference
    if "*" in yaml_text:
        aliases = sum(isinstance(event, yaml.AliasEvent)
                      for event in yaml.parse(yaml_text, Loader=_LOADER))
        if aliases > MAX_YAML_ALIASES:
            raise _NeedsReference
    return yaml.load(yaml_text, Loader=_LOADER)


def _alias_count(yaml_text: str) -> int:
    """Aliases in the YAML, counted on PyYAML's event stream (nothing is expanded)."""
    return sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(yaml_text))


def _top_level_key_lines(yaml_lines: list[str], offset: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, line in enumerate(yaml_lines):
        match = _TOP_KEY.match(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = i + offset
    return found


def _yaml_error(exc: yaml.YAMLError, offset: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"invalid YAML at README.md line {mark.line + 1 + offset}: {problem}"
    return f"invalid YAML: {problem}"
