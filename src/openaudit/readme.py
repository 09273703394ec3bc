"""README body analysis: sections by heading, and links by kind (code, papers, datasets)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from openaudit.casefold import casefolded

# Canonical section names and the heading words that map to them, checked in order: the first
# match wins, so the more specific names come first ("training data" before "training").
SECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("preprocessing", r"pre-?process|data (processing|filtering|cleaning|curation)|filtering"),
        ("training_data", r"training (data|dataset|corpus|corpora)|pre-?training data|"
                          r"^(the )?data(set|sets)?$|data ?mix|corpus|dataset (details|summary)"),
        ("training_procedure", r"training (procedure|details|setup|hyper-?parameters|regime)|"
                               r"^training$|hyper-?parameters|how (it|the model) was trained"),
        ("evaluation", r"evaluat|benchmark|results"),
        ("license", r"licen[cs]|terms of use|use policy"),
        ("uses", r"^(intended |direct |downstream )?uses?$|intended use|out-of-scope|how to use"),
        ("limitations", r"limitation|bias|risks"),
        ("code", r"source code|^code$|reproduc|repositor|codebase"),
        ("checkpoints", r"checkpoint"),
        ("personal_data", r"personal|sensitive|privacy|pii"),
        ("collection", r"collection|source data|data sources|provenance|curation rationale"),
        ("citation", r"citation|cite|bibtex"),
        ("model_details", r"model (details|description|summary|card)|overview|architecture"),
    )
)
SECTION_NAMES: tuple[str, ...] = tuple(name for name, _ in SECTION_PATTERNS)

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")  # the closing #s are stripped in Python
_FENCE_FIRST = frozenset("`~")
_MAY_MATTER = frozenset("#`~")  # first characters of headings and fences
_FENCES = ("```", "~~~")
_LINK_TEXT = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NOTES = re.compile(r"\[[^\]]*\]|[*_`]")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PLACEHOLDER = re.compile(r"\[(more information needed|needs more information|n/a)\]", re.I)
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_CODE_HOSTS = re.compile(
    r"^https?://(www\.)?(github\.com|gitlab\.com|codeberg\.org|bitbucket\.org|git\.[\w.-]+|"
    r"gitee\.com|sr\.ht|[\w.-]*gitlab[\w.-]*)/[\w.-]+/[\w.-]+",
    re.IGNORECASE,
)
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
_PAPER_HOSTS = re.compile(
    r"arxiv\.org/|doi\.org/|aclanthology\.org/|openreview\.net/|jmlr\.org/|proceedings\.|"
    r"papers\.nips\.cc/|semanticscholar\.org/|\.pdf$",
    re.IGNORECASE,
)
_HUB_DATASET = re.compile(r"huggingface\.co/datasets/([\w.-]+/[\w.-]+|[\w.-]+)", re.IGNORECASE)

CODE_KINDS: dict[str, re.Pattern[str]] = {
    # Keywords must start a word: "Retrieval" is not "eval", "Constraints" is not "train".
    "training": re.compile(r"\b(train|pre-?train|fine-?tun|recipe|optimi[sz])", re.I),
    "data": re.compile(r"\b(data|pre-?process|dedup|filter|toolkit|tokeni[sz]er training|crawl)",
                       re.I),
    "evaluation": re.compile(r"\b(eval|benchmark|harness)", re.I),
    "inference": re.compile(r"\b(inferenc|serv(e|ing)|generat|load(ing)?\b|run(ning)?\b|example|"
                            r"demo)", re.I),
}
# A link in one of these sections is of that kind when its own line says nothing more specific.
_SECTION_KIND = {
    "training_procedure": "training",
    "training_data": "data",
    "preprocessing": "data",
    "evaluation": "evaluation",
    "uses": "inference",
}


class Section(NamedTuple):
    """One README section: canonical name, heading, body text, 1-based heading and last line.

    ``text_line`` is the README line ``text`` starts on (blank lines after the heading are
    stripped from ``text``). Sections and links are named tuples: every README of a dump makes
    a dozen of them, and tuples are built and hashed in C.
    """

    name: str
    heading: str
    text: str
    line: int
    end_line: int
    text_line: int = 0

    @property
    def is_placeholder(self) -> bool:
        """True when the section only holds template placeholders or nothing at all."""
        text = self.text if "[" not in self.text else _PLACEHOLDER.sub("", self.text)
        return not text.strip(" \n\t-*_:")  # every placeholder starts with "["


class Link(NamedTuple):
    """A URL in the README with the line it is on and the kinds of code it points to."""

    url: str
    line: int
    context: str
    kinds: tuple[str, ...]


@lru_cache(maxsize=4096)  # pure, and the same headings recur across the Hub's cards
def canonical_section(heading: str) -> str | None:
    """Map a heading to a canonical section name, or None."""
    plain = _LINK_TEXT.sub(r"\1", heading)  # [text](url) -> text
    plain = _NOTES.sub("", plain)  # template notes such as "[optional]"
    plain = plain.strip().rstrip(":").strip()
    for name, pattern in SECTION_PATTERNS:
        if pattern.search(plain):
            return name
    return None


def blank_comments(body: str) -> str:
    """Remove HTML comments (template guidance) but keep the line count, for line numbers."""
    if "<!--" not in body:
        return body
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), body)


def split_sections(body: str, first_line: int = 1) -> list[Section]:
    """Split Markdown into sections at every heading; text before the first heading is skipped.

    A section's text runs to the next heading of the same or a higher level, so subsections are
    included in their parent (a "Training Data" subsection inside "Training" counts for both).
    """
    lines = body.splitlines()
    return sections_of(lines, headings_of(lines), first_line)


def sections_of(lines: list[str], headings: list[tuple[int, int, str]],
                first_line: int = 1) -> list[Section]:
    """:func:`split_sections` on lines already split and their :func:`headings_of`."""
    sections: list[Section] = []
    for idx, (pos, level, title) in enumerate(headings):
        name = canonical_section(title)
        if name is not None:
            end = next((p for p, lv, _ in headings[idx + 1 :] if lv <= level), len(lines))
            raw = "\n".join(lines[pos + 1 : end])
            text = raw.strip()
            skipped = raw.count("\n", 0, len(raw) - len(raw.lstrip())) if text else 0
            sections.append(Section(name, title, text, pos + first_line, end - 1 + first_line,
                                    pos + 1 + skipped + first_line))
    return sections


def headings_of(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every Markdown heading outside code fences."""
    found: list[tuple[int, int, str]] = []
    in_fence = False
    # Only a line starting with "#" can be a heading, and only one starting with a fence
    # character or whitespace can open or close a fence: the rest are skipped in one pass.
    for pos in [i for i, line in enumerate(lines)
                if (first := line[:1]) in _MAY_MATTER or first.isspace()]:
        line = lines[pos]
        first = line[:1]
        if first == "#":
            if in_fence:
                continue
            match = _HEADING.match(line)
            if match:
                title = match.group(2).rstrip().rstrip("#").rstrip()
                found.append((pos, len(match.group(1)), title))
        elif (first in _FENCE_FIRST or first.isspace()) and line.lstrip().startswith(_FENCES):
            in_fence = not in_fence
    return found


def find_links(body: str, first_line: int = 1) -> list[Link]:
    """Every URL in the body with the kinds of code it points to (empty for non-code links)."""
    lines = body.splitlines()
    return links_of(lines, None, first_line)


def links_of(lines: list[str], headings: list[tuple[int, int, str]] | None,
             first_line: int = 1) -> list[Link]:
    """:func:`find_links` on lines already split (and, if known, their headings)."""
    sections: _HeadingIndex | None = None
    links: list[Link] = []
    for pos in [i for i, line in enumerate(lines) if "://" in line]:  # in every URL match
        line = lines[pos]
        for match in _URL.finditer(line):
            url = match.group(0).rstrip(".,;:!?*_")
            kinds: tuple[str, ...] = ()
            if _CODE_HOSTS.match(url):
                if sections is None:
                    sections = _HeadingIndex.of(lines, headings)
                kinds = _code_kinds(url, line, sections.at(pos))
            links.append(Link(url, pos + first_line, line.strip()[:200], kinds))
    return links


@dataclass(frozen=True)
class _HeadingIndex:
    """The canonical section each line is in: that of the last heading at or above it."""

    positions: tuple[int, ...]  # heading line indices, ascending
    names: tuple[str | None, ...]

    @classmethod
    def of(cls, lines: list[str], headings: list[tuple[int, int, str]] | None) -> _HeadingIndex:
        found = headings_of(lines) if headings is None else headings
        return cls(tuple(pos for pos, _, _ in found),
                   tuple(canonical_section(title) for _, _, title in found))

    def at(self, pos: int) -> str | None:
        index = bisect_right(self.positions, pos) - 1
        return self.names[index] if index >= 0 else None


def _code_kinds(url: str, line: str, section: str | None) -> tuple[str, ...]:
    text_kinds = _kinds_in(_URL.sub(" ", line))
    if text_kinds:
        return text_kinds
    path = re.sub(r"^https?://[^/]+/", "", url)
    url_kinds = _kinds_in(path.replace("-", " ").replace("_", " "))
    if url_kinds:
        return url_kinds
    if section in _SECTION_KIND:
        return (_SECTION_KIND[section],)
    return ("unspecified",)


def _kinds_in(text: str) -> tuple[str, ...]:
    return tuple(sorted(kind for kind, pattern in CODE_KINDS.items() if pattern.search(text)))


def arxiv_ids(body: str, folded: str | None = None) -> list[str]:
    """arXiv identifiers linked in the body, sorted and unique.

    ``folded`` is ``casefolded(body)`` when the caller already has it.
    """
    folded = casefolded(body) if folded is None else folded
    if "arxiv" not in folded:
        return []
    return sorted(set(_findall_from(_ARXIV, "arxiv", body, folded)))


@lru_cache(maxsize=4096)  # pure, and the same papers are linked from many cards
def is_paper_link(url: str) -> bool:
    """True for links to papers and technical reports."""
    return bool(_PAPER_HOSTS.search(url))


def hub_dataset_ids(body: str, folded: str | None = None) -> list[str]:
    """Hub dataset ids linked in the body (huggingface.co/datasets/…), sorted and unique.

    ``folded`` is ``casefolded(body)`` when the caller already has it.
    """
    folded = casefolded(body) if folded is None else folded
    if "huggingface" not in folded:
        return []
    return sorted({m.rstrip(".") for m in _findall_from(_HUB_DATASET, "huggingface", body,
                                                         folded)})


def _findall_from(pattern: re.Pattern[str], word: str, text: str, folded: str) -> list[str]:
    """``pattern.findall(text)`` (one group), for a case-insensitive pattern that starts with
    the letters ``word``: tried only where ``folded`` (``casefolded(text)``) has the word.

    A scan of every position of a long README is what a case-insensitive findall costs; when
    the offsets of ``folded`` agree with ``text``, matches can only start at the word.
    """
    if len(folded) != len(text):
        return pattern.findall(text)
    found: list[str] = []
    pos = folded.find(word)
    while pos != -1:
        match = pattern.match(text, pos)
        if match:
            found.append(match.group(1))
            pos = folded.find(word, max(match.end(), pos + 1))
        else:
            pos = folded.find(word, pos + 1)
    return found


@dataclass(frozen=True)
class LineMap:
    """Maps a line of a text assembled from README parts back to its README.md line.

    ``starts`` holds ``(first line of the part in the assembled text, its README.md line)``,
    in order; a part's lines follow one another, so line ``n`` of the part is ``line + n``.
    """

    starts: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of_parts(cls, parts: Iterable[tuple[str, int]], separator_lines: int) -> LineMap:
        """The map of ``sep.join(texts)``, where ``sep`` adds ``separator_lines`` line breaks."""
        starts: list[tuple[int, int]] = []
        at = 1
        for text, line in parts:
            starts.append((at, line))
            at += text.count("\n") + separator_lines
        return cls(tuple(starts))

    def __call__(self, line: int) -> int | None:
        """The README.md line of ``line`` (1-based), or None when the map knows no part."""
        found = None
        for start, readme_line in self.starts:
            if start > line:
                break
            found = readme_line + (line - start)
        return found
