"""Split a README.md into YAML front matter and body, tolerating every way a card can be broken."""

from __future__ import annotations

import marshal
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from openaudit.memo import Memo
from openaudit.yaml_guard import MAX_YAML_ALIASES, MAX_YAML_DEPTH, yaml_problem

_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_LINE = re.compile(r"^---[ \t]*$", re.MULTILINE)  # _FENCE on a line of a whole text
# Line boundaries of str.splitlines() other than "\n": a text without them splits at "\n" alone.
_ODD_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_NOT_PLAIN = re.compile(r"[^\n -~]")  # anything but printable ASCII and newlines
_FLOW = re.compile(r"[\[{]")
_TOP_KEY = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?\s*:")
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
        error_line: The README.md line the front matter problem is on, when there is one.
        front_matter: The front matter's lines (README.md lines 2, 3, …), for line look-ups.
    """

    metadata: dict[str, Any]
    status: str
    error: str = ""
    body: str = ""
    body_line: int = 1
    key_lines: dict[str, int] = field(default_factory=dict)
    error_line: int | None = None
    front_matter: tuple[str, ...] = ()

    def value_line(self, key: str, label: str = "") -> int | None:
        """README.md line of top-level ``key``'s value or, with ``label``, of that nested key.

        A ``|`` or ``>`` block scalar starts on the line after the key. A nested key is the
        first line below ``key`` that starts with ``label`` and a colon, before the next
        top-level key; failing that, the key's own line.
        """
        line = self.key_lines.get(key)
        if line is None:
            return None
        own = self.front_matter[line - 2] if 0 <= line - 2 < len(self.front_matter) else ""
        if not label:
            tail = own.split(":", 1)[-1].strip()
            return line + 1 if tail[:1] in ("|", ">") else line
        for pos in range(line - 1, len(self.front_matter)):
            text = self.front_matter[pos]
            if _TOP_KEY.match(text):
                break
            if text.strip().strip("\"'").startswith(label) and ":" in text:
                return pos + 2
        return line


def parse_card(text: str) -> ParsedCard:
    """Parse README text; never raises."""
    split = split_front_matter(text)
    if split is None:
        return ParsedCard({}, "missing", body=text, body_line=1)
    end, yaml_text, body = split
    if end is None:
        return ParsedCard({}, "malformed", "front matter starts with '---' but never ends", text,
                          error_line=1)
    front_matter, key_lines = _front_matter_lines(yaml_text, end)
    try:
        data = _load_remembered(yaml_text)
    except Exception:  # any failure is redone the reference way below
        # Broken or refused: redo it the reference way, so the outcome and message are exactly
        # what the pure-Python event pass and the load have always given. That parser is
        # quadratic in the nesting depth, so the depth is checked first, on libyaml's events.
        problem = yaml_problem(yaml_text, MAX_YAML_DEPTH, MAX_YAML_ALIASES)
        if problem is not None:
            return ParsedCard({}, "malformed", f"front matter {problem}", body, end + 2,
                              key_lines, 1, front_matter)
        try:
            if _alias_count(yaml_text) > MAX_YAML_ALIASES:
                return ParsedCard({}, "malformed", f"front matter uses more than "
                                  f"{MAX_YAML_ALIASES} YAML aliases (refused: alias expansion "
                                  "can exhaust memory)", body, end + 2, key_lines, 1,
                                  front_matter)
            data = yaml.load(yaml_text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            message, line = _yaml_error(exc, offset=1)
            return ParsedCard({}, "malformed", message, body, end + 2, key_lines,
                              1 if line is None else line, front_matter)
    if data is None:
        return ParsedCard({}, "ok", body=body, body_line=end + 2, key_lines=key_lines,
                          front_matter=front_matter)
    if not isinstance(data, dict):
        kind = type(data).__name__
        return ParsedCard({}, "not-a-mapping", f"front matter is a {kind}, not a mapping", body,
                          end + 2, key_lines, 2 if end > 1 else 1, front_matter)
    metadata = {str(k): v for k, v in data.items()}
    return ParsedCard(metadata, "ok", body=body, body_line=end + 2, key_lines=key_lines,
                      front_matter=front_matter)


def split_front_matter(text: str) -> tuple[int | None, str, str] | None:
    """(index of the closing ``---`` line or None, front matter text, body), or None without
    front matter: the lines of ``text.splitlines()`` re-joined with newlines, as
    ``split_front_matter_reference`` does, but sliced out of ``text`` when it has no line
    break other than ``\\n`` (so both split it alike)."""
    if _ODD_BREAKS.search(text):
        return split_front_matter_reference(text)
    first_end = text.find("\n")
    first = text if first_end == -1 else text[:first_end]
    if not _FENCE.match(first.lstrip("\ufeff")):
        return None
    if first_end == -1:
        return None, "", ""
    closing = _FENCE_LINE.search(text, first_end + 1)
    if closing is None:
        return None, "", ""
    start = closing.start()
    end = text.count("\n", 0, start)  # the closing fence's line index
    yaml_text = text[first_end + 1 : start - 1] if end > 1 else ""
    body = text[closing.end() + 1 :]
    return end, yaml_text, body[:-1] if body.endswith("\n") else body


def split_front_matter_reference(text: str) -> tuple[int | None, str, str] | None:
    """``split_front_matter`` by ``splitlines``, for every text."""
    lines = text.splitlines()
    if not lines or not _FENCE.match(lines[0].lstrip("\ufeff")):
        return None
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        return None, "", ""
    return end, "\n".join(lines[1:end]), "\n".join(lines[end + 1 :])


def _front_matter_lines(yaml_text: str, end: int) -> tuple[tuple[str, ...], dict[str, int]]:
    """The front matter's lines (README lines 2 to ``end``) and its top-level key lines."""
    key = (yaml_text, end > 1)
    found = _LINES.get(key)
    if found is None:
        front_matter = tuple(yaml_text.split("\n")) if end > 1 else ()
        found = (front_matter, _top_level_key_lines(front_matter, offset=2))
        if len(yaml_text) <= _MAX_REMEMBERED_TEXT:
            _LINES.put(key, found)
    return found[0], dict(found[1])  # a copy: a caller may not change another card's lines


class _NeedsReference(Exception):
    """The fast path cannot decide this text exactly as the reference path would."""


# Front matter text -> its data, marshalled: loading gives every caller its own copy, so no
# card can change another's. Cards repeat (templates, one organisation's releases), and
# building the objects is most of what a YAML load costs.
_MAX_LOADED = 4096
_LOADED: Memo[str, bytes] = Memo(_MAX_LOADED)
_LINES: Memo[tuple[str, bool], tuple[tuple[str, ...], dict[str, int]]] = Memo(_MAX_LOADED)
_MAX_REMEMBERED_TEXT = 65_536  # characters; a longer front matter is loaded every time


def _load_remembered(yaml_text: str) -> Any:
    """``_load_fast(yaml_text)``, remembered for front matter seen before."""
    blob = _LOADED.get(yaml_text)
    if blob is not None:
        return marshal.loads(blob)
    data = _load_fast(yaml_text)
    if len(yaml_text) <= _MAX_REMEMBERED_TEXT:
        try:
            blob = marshal.dumps(data)
        except ValueError:  # a YAML date or timestamp: not marshallable, load it every time
            return data
        _LOADED.put(yaml_text, blob)
    return data


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


def _top_level_key_lines(yaml_lines: Sequence[str], offset: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, line in enumerate(yaml_lines):
        match = _TOP_KEY.match(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = i + offset
    return found


def _yaml_error(exc: yaml.YAMLError, offset: int) -> tuple[str, int | None]:
    """The one-line message and the README.md line it names, if any."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        line = mark.line + 1 + offset
        return f"invalid YAML at README.md line {line}: {problem}", line
    return f"invalid YAML: {problem}", None
