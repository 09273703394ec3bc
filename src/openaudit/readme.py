"""README body analysis: one CommonMark parse per README into headings, sections and links.

The body is parsed once with markdown-it (the Rust port, ``markdown-it-pyrs``: CommonMark plus
tables and bare-URL linkify). Headings are ATX, setext, HTML ``<hN>`` and bold lines standing
alone as a paragraph; their titles are normalised (emoji, numbering, decorations, qualifiers)
before the vocabulary (``rules/vocabulary.yaml``) names their canonical section. A section's
text runs to the next heading of the same or a higher level, so subsections are included in
their parent. Links carry their text, the label of the list item, paragraph or table row they
are in, and the canonical section they are under; code links get the kinds of code they point
to. Code fences hold no headings, but URLs in them (``git clone …``) are links.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from markdown_it_pyrs import MarkdownIt, Node

from openaudit.casefold import casefolded
from openaudit.vocabulary import Vocabulary, builtin_vocabulary

_PARSER = MarkdownIt("commonmark").enable_many(["table", "linkify", "strikethrough"])
SECTION_NAMES: tuple[str, ...] = builtin_vocabulary().section_names

_MAX_LABEL_WORDS = 5  # "Training data: …" is a label; a sentence ending in a colon is not
_PSEUDO_LEVEL = 7  # a bold line used as a heading ranks below every real heading
_MAX_PSEUDO_CHARS = 80
_NEWLINE = re.compile(b"\n")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# A template placeholder, bare or linked to the template's guide, and subheading lines: what a
# section holds when nobody filled it in.
_PLACEHOLDER = re.compile(
    r"\[(more information needed|needs more information|n/a|optional|more info needed)\]"
    r"(\([^)]*\))?|^[ \t]*#{1,6}[ \t].*$", re.I | re.M)
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_HREF = re.compile(r"""(?:href|src)\s*=\s*["']?(https?://[^"'\s>]+)""", re.IGNORECASE)
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.IGNORECASE | re.S)
_TAG = re.compile(r"<[^>]+>")
_CODE_HOSTS = re.compile(
    r"^https?://(www\.)?(github\.com|gitlab\.com|codeberg\.org|bitbucket\.org|git\.[\w.-]+|"
    r"gitee\.com|sr\.ht|[\w.-]*gitlab[\w.-]*)/([\w.-]+)/([\w.-]+)",
    re.IGNORECASE,
)
# A link into a code repository that shows a document, an image or a licence is not code.
_NOT_CODE_FILE = re.compile(
    r"/(blob|raw|tree)/[^?#]*(\.(pdf|png|jpe?g|gif|svg|webp|mp4|md|txt|rst|html?)|/licen[cs]e[^/]*|"
    r"/assets/[^?#]*)([?#].*)?$|/(assets|figures|images)/|/(releases|issues|discussions|pulls|wiki)"
    r"(/|$)", re.IGNORECASE)
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
_PAPER_HOSTS = re.compile(
    r"arxiv\.org/|doi\.org/|aclanthology\.org/|openreview\.net/|jmlr\.org/|proceedings\.|"
    r"papers\.nips\.cc/|semanticscholar\.org/|\.pdf$",
    re.IGNORECASE,
)
_HUB_DATASET = re.compile(r"huggingface\.co/datasets/([\w.-]+/[\w.-]+|[\w.-]+)", re.IGNORECASE)
# Leading decorations of a heading: emoji, symbols, punctuation, then numbering such as
# "3.", "3.1", "III.", "A)", "Step 2:".
_LEAD_NUMBER = re.compile(r"^(?:(?:\d+(?:\.\d+)*|[ivxlc]+|[a-h])[.):]\s+|\d+(?:\.\d+)+\s+|"
                          r"\d+\s+(?=[^\W\d]))", re.IGNORECASE)
_QUALIFIER = re.compile(r"\s*[(\[]([^)\]]*)[)\]]\s*")
_LINE_LABEL = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?[*_]{0,2}([^:*_\n\[\]()]{1,48}?)[*_]{0,2}"
                         r"\s*[:\uff1a](?!//)")  # "https://" is no label
# "trained on X with [the library](url)": the words just before a link that present it as
# what the model was trained with.
_TRAINED_WITH = re.compile(r"\b(trained|training|pre-?trained|fine-?tuned)\b[^.;:!?]{0,50}"
                           r"\b(with|using|via|in)\s+(?:[\w'\u2019-]+\s+){0,3}$", re.I)
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LINK_OPENING = re.compile(r"\[[^\]]*\]\($|[\[<(]+$")
_LABEL = re.compile(r"^\s*([^:\n]{1,48}?)\s*[:\uff1a]")


class Section(NamedTuple):
    """One README section: canonical name, heading, body text, 1-based heading and last line.

    ``text_line`` is the README line ``text`` starts on (blank lines after the heading are
    stripped from ``text``).
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
        text = _PLACEHOLDER.sub("", self.text) if "[" in self.text or "#" in self.text \
            else self.text
        return not text.strip(" \n\t-*_:|")


class Link(NamedTuple):
    """A URL in the README: its line, that line's text, the kinds of code it points to (empty
    for non-code links), its link text, the label it is listed under and its section."""

    url: str
    line: int
    context: str
    kinds: tuple[str, ...]
    text: str = ""
    label: str = ""
    section: str | None = None


class Heading(NamedTuple):
    """A heading: 0-based line index in the body, level (7 for a bold line), title."""

    pos: int
    level: int
    title: str


@dataclass(frozen=True)
class Document:
    """What one parse of a README body yields."""

    headings: tuple[Heading, ...]
    sections: tuple[Section, ...]
    links: tuple[Link, ...]


def normalise_heading(title: str) -> tuple[str, str]:
    """(heading, qualifier): lower case, without emoji, numbering, decorations and markup.

    ``"## 🟣 3. Model Details (training):"`` gives ``("model details", "training")``.
    """
    text = unicodedata.normalize("NFKC", title)
    text = _TAG.sub(" ", text).replace("&", " and ")
    text = re.sub(r"[*_`~#|>]+", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url) in a raw title
    qualifiers = [q.strip() for q in _QUALIFIER.findall(text)]
    text = _QUALIFIER.sub(" ", text)
    text = _strip_lead(text)
    text = re.sub(r"[^\w\s'/-]+", " ", text)
    text = " ".join(text.split()).casefold().strip(" -/'")
    qualifier = " ".join(" ".join(qualifiers).split()).casefold()
    return text, qualifier


def _strip_lead(text: str) -> str:
    """Drop everything before the first letter or digit, then any numbering, repeatedly."""
    while True:
        start = next((i for i, ch in enumerate(text) if ch.isalnum()), len(text))
        text = text[start:]
        stripped = _LEAD_NUMBER.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


@lru_cache(maxsize=4096)  # pure, and the same headings recur across the Hub's cards
def canonical_section(heading: str, vocab: Vocabulary | None = None) -> str | None:
    """Map a heading to a canonical section name, or None."""
    vocab = vocab or builtin_vocabulary()
    main, qualifier = normalise_heading(heading)
    found = vocab.section_of(main) if main else None
    if found is None and qualifier:
        found = vocab.section_of(qualifier)
    return found


def blank_comments(body: str) -> str:
    """Remove HTML comments (template guidance) but keep the line count, for line numbers."""
    if "<!--" not in body:
        return body
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), body)


def parse(body: str, first_line: int = 1, vocab: Vocabulary | None = None) -> Document:
    """Parse a README body (front matter removed) whose first line is README line
    ``first_line`` into its headings, canonical sections and links."""
    vocab = vocab or builtin_vocabulary()
    safe = _parser_safe(body)
    lines = _lines(safe)
    walker = _Walker(safe, vocab)
    walker.block(_PARSER.tree(safe))
    headings = tuple(sorted(walker.headings))
    names = tuple(canonical_section(h.title, vocab) for h in headings)
    sections = tuple(sorted((*_sections(lines, headings, names, first_line),
                             *_label_sections(lines, walker.labelled, vocab, first_line)),
                            key=lambda sec: (sec.line, -sec.end_line)))
    index = _HeadingIndex(tuple(h.pos for h in headings), tuple(h.level for h in headings),
                          names)
    links = tuple(_finish_link(raw, index, vocab, first_line, lines) for raw in walker.links)
    return Document(headings, sections, links)


def split_sections(body: str, first_line: int = 1) -> list[Section]:
    """The canonical sections of a README body."""
    return list(parse(body, first_line).sections)


def find_links(body: str, first_line: int = 1) -> list[Link]:
    """Every URL in the body with the kinds of code it points to (empty for non-code links)."""
    return list(parse(body, first_line).links)


def _lines(body: str) -> list[str]:
    """The body's lines as the parser counts them: split at "\n" only (``splitlines`` also
    splits at U+2028, form feeds and the like, which would shift every line after one), a
    line's trailing "\r" dropped."""
    lines = body.split("\n")
    if lines[-1] == "":  # a final newline ends the last line, as with splitlines
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _parser_safe(body: str) -> str:
    """The body as the parser can take it: lone surrogates (from a dump) become U+FFFD."""
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        return body.encode("utf-8", "replace").decode("utf-8")
    return body


def _sections(lines: list[str], headings: tuple[Heading, ...], names: tuple[str | None, ...],
              first_line: int) -> Iterator[Section]:
    for idx, (heading, name) in enumerate(zip(headings, names, strict=True)):
        if name is None:
            continue
        end = next((h.pos for h in headings[idx + 1:] if h.level <= heading.level), len(lines))
        raw = "\n".join(lines[heading.pos + 1:end])
        text = raw.strip()
        skipped = raw.count("\n", 0, len(raw) - len(raw.lstrip())) if text else 0
        yield Section(name, heading.title, text, heading.pos + first_line,
                      end - 1 + first_line, heading.pos + 1 + skipped + first_line)


# Canonical sections a list item, table row or paragraph label can stand for ("| Training
# Data | … |", "- **Data preprocessing:** …"): the data and code parts of a card. A licence
# label is not one: the licence section is read as licence text.
LABEL_SECTIONS = frozenset({"training_data", "preprocessing", "collection", "personal_data"})


def _label_sections(lines: list[str], labelled: list[tuple[int, int, str]],
                    vocab: Vocabulary, first_line: int) -> Iterator[Section]:
    for first, last, label in labelled:
        name = canonical_section(label, vocab)
        if name in LABEL_SECTIONS:
            text = "\n".join(lines[first:last + 1]).strip()
            yield Section(name, label, text, first + first_line, last + first_line,
                          first + first_line)


class _RawLink(NamedTuple):
    url: str
    pos: int  # 0-based body line
    text: str
    label: str


class _Walker:
    """Collects headings and links from a markdown-it tree (byte offsets become lines)."""

    def __init__(self, body: str, vocab: Vocabulary) -> None:
        self.body = body
        self.raw = body.encode("utf-8")
        self.newlines = [m.start() for m in _NEWLINE.finditer(self.raw)]
        # Where a link can start (a URL, an autolink or HTML, a reference link's "]"): a node
        # whose source holds none of these holds no link and is not walked.
        self.link_marks = [m.start() for m in _LINK_MARK.finditer(self.raw)]
        self.lines = _lines(body)
        self.vocab = vocab
        self.headings: list[Heading] = []
        self.links: list[_RawLink] = []
        self.labelled: list[tuple[int, int, str]] = []  # (first, last body line, label)

    def label_item(self, node: Node, label: str) -> None:
        if label and node.srcmap:
            start, end = node.srcmap
            self.labelled.append((self.line_of(start), self.line_of(max(start, end - 1)),
                                  label))

    def line_of(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) if self.newlines else 0

    def block(self, node: Node, label: str = "") -> None:
        for child in node.children:
            self.visit(child, label)

    def visit(self, child: Node, label: str) -> None:
        name = child.name
        if name in ("heading", "lheading"):
            start = child.srcmap[0] if child.srcmap else 0
            level = int(child.meta.get("level", 1))
            self.headings.append(Heading(self.line_of(start), level, _plain(child)))
            self.inline(child, label)
        elif name == "paragraph":
            self.paragraph(child, label)
        elif name == "list_item":
            underlined = _underlined_title(child)
            if underlined is not None:  # "3. Training Data" over a "====" line
                start = child.srcmap[0] if child.srcmap else 0
                self.headings.append(Heading(self.line_of(start), *underlined))
            own = _label_of(child)
            self.label_item(child, own)
            self.inline_or_block(child, own or label)
        elif name == "trow":
            cells = child.children
            row_label = _plain(cells[0]) if cells else ""
            self.label_item(child, row_label.strip()[:_MAX_PSEUDO_CHARS])
            for cell in cells:
                self.inline(cell, row_label[:_MAX_PSEUDO_CHARS])
        elif name == "html_block":
            self.html(child)
        elif name in ("fence", "code_block"):
            self.code(child)
        else:
            self.block(child, label)

    def inline_or_block(self, node: Node, label: str) -> None:
        """A tight list item holds inline nodes directly; a loose one holds paragraphs."""
        if any(c.name in _BLOCKS for c in node.children):
            for child in node.children:
                if child.name in _BLOCKS:
                    self.visit(child, label)
                else:
                    self.inline(child, label)
        else:
            self.inline(node, label)

    def paragraph(self, node: Node, label: str) -> None:
        children = node.children
        names = [c.name for c in children]
        text = ""
        if "strong" in names or "em" in names:  # perhaps a bold line used as a heading
            kids = [c for c, name in zip(children, names, strict=True) if not (
                name == "text" and not str(c.meta.get("content", "")).strip(" :"))]
            if len(kids) == 1 and kids[0].name in ("strong", "em"):
                text = _plain(node).strip()
        if text and len(text) <= _MAX_PSEUDO_CHARS:
            start = node.srcmap[0] if node.srcmap else 0
            self.headings.append(Heading(self.line_of(start), _PSEUDO_LEVEL, text))
        else:
            self.label_item(node, _label_of(node))
        self.inline(node, label)  # a paragraph's lines are labelled one by one (_line_label)

    def inline(self, node: Node, label: str) -> None:
        srcmap = node.srcmap
        if srcmap:  # no URL, autolink, HTML or reference link in its source: no link
            marks = self.link_marks
            i = bisect_left(marks, srcmap[0])
            if i == len(marks) or marks[i] >= srcmap[1]:
                return
        for child in node.walk():
            name = child.name
            if name in ("link", "autolink", "linkify"):
                url = str(child.meta.get("url", ""))
                if url.lower().startswith(("http://", "https://")):
                    start = child.srcmap[0] if child.srcmap else 0
                    self.links.append(_RawLink(url, self.line_of(start), _plain(child), label))
            elif name == "html_inline":
                self.html(child, label)

    def html(self, node: Node, label: str = "") -> None:
        content = str(node.meta.get("content", ""))
        start = node.srcmap[0] if node.srcmap else 0
        base = self.line_of(start)
        for match in _HREF.finditer(content):
            self.links.append(_RawLink(match.group(1), base + content.count("\n", 0,
                                                                            match.start()),
                                       "", label))
        if node.name == "html_block":
            for match in _HTML_HEADING.finditer(content):
                title = " ".join(_TAG.sub(" ", match.group(2)).split())
                if title:
                    self.headings.append(Heading(base + content.count("\n", 0, match.start()),
                                                 int(match.group(1)), title))

    def code(self, node: Node) -> None:
        content = str(node.meta.get("content", ""))
        if "://" not in content:
            return
        start = node.srcmap[0] if node.srcmap else 0
        base = self.line_of(start) + (1 if node.name == "fence" else 0)
        for offset, line in enumerate(content.split("\n")):
            for match in _URL.finditer(line):
                self.links.append(_RawLink(match.group(0), base + offset, "", ""))


_LINK_MARK = re.compile(rb"://|<|(?i:www\.)|\]")  # what any link's source holds
_BLOCKS = frozenset({"paragraph", "bullet_list", "ordered_list", "blockquote", "fence",
                     "code_block", "table", "html_block", "heading", "lheading", "hr"})


def _underlined_title(item: Node) -> tuple[int, str] | None:
    """(level, title) of a numbered list item underlined like a setext heading, else None."""
    kids = item.children
    if len(kids) != 3 or [k.name for k in kids] != ["text", "softbreak", "text"]:
        return None
    underline = str(kids[2].meta.get("content", "")).strip()
    if len(set(underline)) != 1 or underline[0] not in "=-":
        return None
    return (1 if underline[0] == "=" else 2), str(kids[0].meta.get("content", ""))


def _plain(node: Node) -> str:
    """The text of a node: text, code spans and image alt texts, without markup."""
    parts: list[str] = []
    for child in node.walk():
        if child.name in ("text", "text_special", "code_inline"):
            parts.append(str(child.meta.get("content", "")))
        elif child.name in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _label_of(node: Node) -> str:
    """The label a list item or paragraph starts with: its leading bold text, or the words
    before its first colon (``**Repository:** …``, ``Training code: …``)."""
    children = node.children
    if children and children[0].name == "paragraph":
        children = children[0].children
    if not children:
        return ""
    first = children[0]
    if first.name in ("strong", "em"):
        return _plain(first).strip().rstrip(":\uff1a").strip()[:_MAX_PSEUDO_CHARS]
    if first.name == "text":
        match = _LABEL.match(str(first.meta.get("content", "")))
        if match and len(match.group(1).split()) <= _MAX_LABEL_WORDS:
            return match.group(1).strip()
    return ""


def _line_label(line: str) -> str:
    """The label a line starts with: ``**Training code:** …``, ``Repository: …``."""
    match = _LINE_LABEL.match(line)
    return match.group(1).strip() if match else ""


@dataclass(frozen=True)
class _HeadingIndex:
    """The canonical section each line is in: that of the heading above it, or, when that
    heading has no canonical name, of the nearest heading of a higher level above that one."""

    positions: tuple[int, ...]  # heading line indices, ascending
    levels: tuple[int, ...]
    names: tuple[str | None, ...]

    def in_intro(self, pos: int) -> bool:
        """True for a line above the second heading: the title's own block."""
        return bisect_right(self.positions, pos) <= 1

    def at(self, pos: int) -> str | None:
        index = bisect_right(self.positions, pos) - 1
        while index >= 0:
            if self.names[index] is not None:
                return self.names[index]
            level = self.levels[index]
            index -= 1
            while index >= 0 and self.levels[index] >= level:
                index -= 1
        return None


def _finish_link(raw: _RawLink, index: _HeadingIndex, vocab: Vocabulary, first_line: int,
                 lines: list[str]) -> Link:
    url = raw.url.rstrip(".,;:!?*_")
    if raw.text.strip() == raw.url:  # an autolink's text is its URL: no words of its own
        raw = raw._replace(text="")
    section = index.at(raw.pos)
    context = lines[raw.pos].strip()[:200] if raw.pos < len(lines) else ""
    label = raw.label or _line_label(context)
    raw = raw._replace(label=label)
    kinds: tuple[str, ...] = ()
    match = _CODE_HOSTS.match(url)
    if match and not _NOT_CODE_FILE.search(url):
        repo = f"{match.group(3)}/{match.group(4)}".lower().removesuffix(".git")
        kinds = _code_kinds(repo, raw, context, section, vocab, index.in_intro(raw.pos))
    return Link(url, raw.pos + first_line, context, kinds, raw.text.strip()[:200], label,
                section)


def _code_kinds(repo: str, raw: _RawLink, line: str, section: str | None,
                vocab: Vocabulary, intro: bool = False) -> tuple[str, ...]:
    """What a code link is for; a general-purpose framework is only ever ``framework``."""
    if repo in vocab.generic_repos:
        return ("framework",)
    presented = f"{raw.text} {raw.label}"
    kinds = vocab.kinds_in(presented)
    if kinds:
        return kinds
    rest = _URL.sub(" ", line)
    at = line.find(raw.url)
    before = _LINK_OPENING.sub("", line[:at]) if at > 0 else ""
    before = _URL.sub(" ", _MD_LINK.sub(r"\1", before))
    if before and _TRAINED_WITH.search(before[-120:]):
        return ("inference", "training")
    # A repository URL alone on its line in the title's block (above the second heading) is
    # the project's own home, as "Repository:" is.
    bare = not raw.text.strip() and not raw.label and line.strip("<> ") == raw.url
    own = bool(vocab.own_code_labels.search(raw.label.strip().casefold())
               or vocab.own_code_labels.search(raw.text.strip().casefold())
               or vocab.own_code_lines.search(rest) or (bare and intro and section is None))
    if own:
        kind = vocab.section_kinds.get(section or "")
        return (kind,) if kind else ("inference", "training")
    kinds = vocab.line_kinds_in(rest)
    if kinds:
        return kinds
    words = repo.split("/", 1)[1].replace("-", " ").replace("_", " ")
    kinds = vocab.kinds_in(words)
    if kinds:
        return kinds
    if section is not None and section in vocab.section_kinds:
        return (vocab.section_kinds[section],)
    return ("unspecified",)


def arxiv_ids(body: str, folded: str | None = None) -> list[str]:
    """arXiv identifiers linked in the body, sorted and unique."""
    folded = casefolded(body) if folded is None else folded
    if "arxiv" not in folded:
        return []
    return sorted(set(_ARXIV.findall(body)))


@lru_cache(maxsize=4096)  # pure, and the same papers are linked from many cards
def is_paper_link(url: str) -> bool:
    """True for links to papers and technical reports."""
    return bool(_PAPER_HOSTS.search(url))


def hub_dataset_ids(body: str, folded: str | None = None) -> list[str]:
    """Hub dataset ids linked in the body (huggingface.co/datasets/…), sorted and unique."""
    folded = casefolded(body) if folded is None else folded
    if "huggingface" not in folded:
        return []
    return sorted({m.rstrip(".") for m in _HUB_DATASET.findall(body)})


def corpora_named(text: str, vocab: Vocabulary | None = None) -> list[tuple[str, str]]:
    """(name, where to obtain it) of every public corpus of the vocabulary ``text`` names."""
    vocab = vocab or builtin_vocabulary()
    if not vocab.any_corpus.search(text):  # one scan rules out most texts
        return []
    return [(c.name, c.where) for c, searcher in vocab.corpus_searchers if searcher.search(text)]


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
