"""The card-reading vocabulary (``rules/vocabulary.yaml``): section synonyms, code-link kinds,
generic frameworks, data hosts and public corpora, validated strictly and compiled once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from openaudit.errors import RuleFileError
from openaudit.licenses import CatalogueError, read_yaml_mapping
from openaudit.operators import LinearRegex, RulePattern, compile_regex
from openaudit.rules_dir import builtin_rules_dir

_TOP_KEYS = {"schema_version", "extends", "sections", "code_kinds", "line_kinds",
             "own_code_lines", "own_code_labels",
             "section_kinds", "generic_code", "data_hosts", "data_words", "not_data",
             "public_corpora", "withdrawn_corpora", "data_records", "starting_point_lines",
             "excluded_before", "upstream_lines", "same_data_lines"}
_REQUIRED = _TOP_KEYS - {"extends"}
CODE_KINDS = ("training", "data", "evaluation", "inference")
VOCABULARY_EXTENDS = "vocabulary"  # `extends:` of a --rules file that extends the vocabulary


Pattern = re.Pattern[str] | LinearRegex  # shipped patterns: re; an extension's: RE2 only


@dataclass(frozen=True)
class Either:
    """Matches where the shipped pattern or an extension's matches; the extension's runs on
    RE2 alone (it comes from a file openaudit does not ship), so it cannot backtrack."""

    first: Pattern | Either | RulePattern
    second: LinearRegex

    @property
    def pattern(self) -> str:
        """Both patterns as one alternation (for display)."""
        return f"{self.first.pattern}|{self.second.pattern.removeprefix('(?i)')}"

    def search(self, text: str) -> object | None:
        """The first pattern's match, else the second's."""
        return self.first.search(text) or self.second.search(text)


Searcher = Pattern | Either | RulePattern


@dataclass(frozen=True)
class Corpus:
    """A public corpus people name without linking it, and where it can be obtained."""

    name: str
    pattern: Pattern
    where: str


@dataclass(frozen=True)
class WithdrawnCorpus:
    """A corpus its publishers no longer distribute: naming it as training data does not let
    anyone obtain that data."""

    name: str
    pattern: Pattern
    note: str


@dataclass(frozen=True, eq=False)  # hashed by identity: compiled once, used as a cache key
class Vocabulary:
    """Everything the README reader matches against, compiled."""

    sections: tuple[tuple[str, tuple[Pattern, ...]], ...]
    code_kinds: tuple[tuple[str, Searcher], ...]
    line_kinds: tuple[tuple[str, Searcher], ...]
    own_code_lines: Searcher
    own_code_labels: Searcher
    section_kinds: Mapping[str, str]
    generic_repos: Mapping[str, str]  # "owner/repo" (lower case) -> framework name
    data_hosts: Searcher
    data_words: Searcher
    not_data: Searcher
    public_corpora: tuple[Corpus, ...]
    withdrawn_corpora: tuple[WithdrawnCorpus, ...]
    data_records: Searcher  # links to one dataset's record on a data archive
    starting_point_lines: Searcher  # words presenting a linked model as the starting point
    excluded_before: Searcher  # words before a corpus name saying it was left out
    upstream_lines: Searcher  # words presenting a code link as the upstream of a fork used
    same_data_lines: Searcher  # a starting-point line saying the base used this card's data

    @property
    def section_names(self) -> tuple[str, ...]:
        """The canonical section names, in matching order."""
        return tuple(name for name, _ in self.sections)

    def section_of(self, normalised: str) -> str | None:
        """The canonical section a normalised heading names, or None."""
        for name, pattern in self._joined:
            if pattern.search(normalised):
                return name
        return None

    @cached_property
    def any_corpus(self) -> Searcher:
        """Matches where any public corpus is named (on RE2 where it can: a long
        case-insensitive alternation costs Python's ``re`` ~1 ms per README, RE2 ~15 µs)."""
        return _any_of([c.pattern for c in self.public_corpora])

    @cached_property
    def any_withdrawn(self) -> Searcher:
        """Matches where any withdrawn corpus is named (on RE2 where it agrees with ``re``)."""
        return _any_of([c.pattern for c in self.withdrawn_corpora])

    @cached_property
    def corpus_searchers(self) -> tuple[tuple[Corpus, Pattern | RulePattern], ...]:
        """Each public corpus with the searcher for its pattern."""
        return tuple((c, _searcher(c.pattern.pattern) if isinstance(c.pattern, re.Pattern)
                      else c.pattern) for c in self.public_corpora)

    @cached_property
    def _joined(self) -> tuple[tuple[str, Pattern], ...]:
        """One alternation per section entry: a heading costs one search per entry, not one per
        pattern (an extension's entries, on RE2, come first)."""
        return tuple((name, re.compile(_alternation(patterns), re.I)
                      if all(isinstance(p, re.Pattern) for p in patterns)
                      else LinearRegex("(?i)" + _alternation(patterns)))
                     for name, patterns in self.sections)

    def compile(self) -> None:
        """Build the joined searchers (raises re.error when RE2 cannot hold them)."""
        _ = self._joined, self.any_corpus, self.corpus_searchers, self.any_withdrawn

    def kinds_in(self, text: str) -> tuple[str, ...]:
        """The code kinds ``text`` (a link text, a label, a repository name) names, sorted."""
        return tuple(sorted(kind for kind, p in self.code_kinds if p.search(text)))

    def line_kinds_in(self, line: str) -> tuple[str, ...]:
        """The code kinds the words around a link on its line present it as, sorted."""
        return tuple(sorted(kind for kind, p in self.line_kinds if p.search(line)))


def _any_of(patterns: Sequence[Pattern]) -> Searcher:
    """One searcher matching where any of ``patterns`` does: the shipped ones joined (on RE2
    where it agrees with ``re``), an extension's joined on RE2 alone."""
    shipped = [p for p in patterns if isinstance(p, re.Pattern)]
    added = [p for p in patterns if isinstance(p, LinearRegex)]
    found: Searcher = _searcher(_alternation(shipped) or "x(?!x)")
    return Either(found, LinearRegex("(?i)" + _alternation(added))) if added else found


def _alternation(patterns: Sequence[Pattern]) -> str:
    return "|".join(f"(?:{p.pattern.removeprefix('(?i)')})" for p in patterns)


def _searcher(pattern: str) -> RulePattern:
    """A case-insensitive searcher for a shipped ``pattern`` that answers as ``re`` does, on
    RE2 where RE2 would give the same answer (fast on long alternations)."""
    return compile_regex(f"(?i){pattern}")


def _fail(path: str, where: str, what: str) -> RuleFileError:
    return RuleFileError(path, f"{where}: {what}")


def _regex(value: Any, path: str, where: str, linear: bool = False) -> Pattern:
    """A case-insensitive pattern; ``linear`` (an extension's): on RE2, which refuses
    backreferences and lookaround."""
    if not isinstance(value, str) or not value:
        raise _fail(path, where, "expected a non-empty regular expression string")
    try:
        return LinearRegex(f"(?i){value}") if linear else re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise _fail(path, where, f"invalid regular expression: {exc}") from exc


def _mapping(value: Any, path: str, where: str, keys: set[str],
             required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, where, "expected a mapping")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise _fail(path, where, f"unknown key(s) {', '.join(unknown)}; allowed: "
                                 f"{', '.join(sorted(keys))}")
    missing = sorted(required - set(value))
    if missing:
        raise _fail(path, where, f"missing key(s) {', '.join(missing)}")
    return value


def _list(value: Any, path: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, where, "expected a list")
    return value


def _text(value: Any, path: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, "expected a non-empty string")
    return value


def read_document(path: Path) -> dict[str, Any]:
    """Read a vocabulary file as a mapping (the catalogue's strict reader), every failure a
    :class:`RuleFileError`."""
    try:
        return read_yaml_mapping(path)
    except CatalogueError as exc:
        raise RuleFileError(str(exc.path), exc.message) from None


def parse_vocabulary(doc: Mapping[str, Any], path: str,
                     base: Vocabulary | None = None) -> Vocabulary:
    """Validate and compile ``doc``; with ``base``, ``doc`` extends it (every key optional)."""
    required = set() if base is not None else _REQUIRED
    _mapping(dict(doc), path, "top level", _TOP_KEYS, required)
    if doc.get("schema_version", 1) != 1:
        raise _fail(path, "schema_version", "expected 1")
    linear = base is not None  # an extension's patterns run on RE2 only
    sections = _sections(doc.get("sections", []), path, linear)
    if base is not None:  # an extension's sections are tried first, so they can refine
        known = set(base.section_names)
        for i, (name, _) in enumerate(sections):
            if name not in known:  # each section is a documented fact: no new names
                raise _fail(path, f"sections[{i}].name", f"unknown section {name!r} (an "
                            f"extension adds patterns to: {', '.join(sorted(known))})")
        sections = sections + base.sections
    kinds = _kinds(doc, "code_kinds", path, base.code_kinds if base is not None else None)
    line_kinds = _kinds(doc, "line_kinds", path, base.line_kinds if base is not None else None)
    names = {name for name, _ in sections}
    section_kinds = dict(base.section_kinds) if base is not None else {}
    for section, kind in _mapping(doc.get("section_kinds", {}), path, "section_kinds",
                                  names, set()).items():
        if kind not in CODE_KINDS:
            raise _fail(path, f"section_kinds.{section}",
                        f"expected one of {', '.join(CODE_KINDS)}")
        section_kinds[section] = kind
    generic = dict(base.generic_repos) if base is not None else {}
    for i, entry in enumerate(_list(doc.get("generic_code", []), path, "generic_code")):
        where = f"generic_code[{i}]"
        item = _mapping(entry, path, where, {"name", "repos"}, {"name", "repos"})
        for repo in _list(item["repos"], path, f"{where}.repos"):
            repo = _text(repo, path, f"{where}.repos").lower()
            if repo.count("/") != 1:
                raise _fail(path, f"{where}.repos", f"expected owner/repo, got {repo[:80]!r}")
            generic[repo] = _text(item["name"], path, f"{where}.name")
    corpora = [Corpus(*entry) for entry in _named_patterns(
        doc, "public_corpora", "where", path, linear,
        base.public_corpora if base is not None else ())]
    withdrawn = [WithdrawnCorpus(*entry) for entry in _named_patterns(
        doc, "withdrawn_corpora", "note", path, linear,
        base.withdrawn_corpora if base is not None else ())]

    def pattern(key: str) -> Searcher:
        if key in doc:
            new = _regex(doc[key], path, key, linear)
            if base is None:
                return new
            assert isinstance(new, LinearRegex)
            return Either(getattr(base, key), new)
        assert base is not None  # required keys are present without a base
        return getattr(base, key)  # type: ignore[no-any-return]

    vocab = Vocabulary(
        sections=sections, code_kinds=kinds, line_kinds=line_kinds,
        own_code_lines=pattern("own_code_lines"), own_code_labels=pattern("own_code_labels"),
        section_kinds=section_kinds,
        generic_repos=generic, data_hosts=pattern("data_hosts"),
        data_words=pattern("data_words"), not_data=pattern("not_data"),
        public_corpora=tuple(corpora), withdrawn_corpora=tuple(withdrawn),
        data_records=pattern("data_records"),
        starting_point_lines=pattern("starting_point_lines"),
        excluded_before=pattern("excluded_before"),
        upstream_lines=pattern("upstream_lines"),
        same_data_lines=pattern("same_data_lines"))
    try:  # joined now, not on the first card: patterns fine alone may be too large together
        vocab.compile()
    except re.error as exc:
        raise _fail(path, "sections / public_corpora", f"the patterns together are too large "
                    f"to compile: {exc}") from None
    return vocab


def _named_patterns(doc: Mapping[str, Any], key: str, third: str, path: str, linear: bool,
                    base: Sequence[Corpus | WithdrawnCorpus],
                    ) -> list[tuple[str, Pattern, str]]:
    """``base``'s entries, then the ``{name, pattern, THIRD}`` entries of ``doc[key]``; a name
    given twice is refused."""
    entries = [(c.name, c.pattern, c.where if isinstance(c, Corpus) else c.note) for c in base]
    seen = {name for name, _, _ in entries}
    for i, entry in enumerate(_list(doc.get(key, []), path, key)):
        where = f"{key}[{i}]"
        item = _mapping(entry, path, where, {"name", "pattern", third},
                        {"name", "pattern", third})
        name = _text(item["name"], path, f"{where}.name")
        if name in seen:
            raise _fail(path, f"{where}.name", f"duplicate corpus {name[:80]!r}")
        seen.add(name)
        entries.append((name, _regex(item["pattern"], path, f"{where}.pattern", linear),
                        _text(item[third], path, f"{where}.{third}")))
    return entries


def _kinds(doc: Mapping[str, Any], key: str, path: str,
           base: tuple[tuple[str, Searcher], ...] | None,
           ) -> tuple[tuple[str, Searcher], ...]:
    """A ``kind -> pattern`` table; an extension's pattern is tried besides the base's."""
    kinds = dict(base) if base is not None else {}
    raw_kinds = _mapping(doc.get(key, {}), path, key, set(CODE_KINDS),
                         set() if base is not None else set(CODE_KINDS))
    for kind, raw in raw_kinds.items():
        new = _regex(raw, path, f"{key}.{kind}", base is not None)
        if kind in kinds:
            assert isinstance(new, LinearRegex)
            kinds[kind] = Either(kinds[kind], new)
        else:
            kinds[kind] = new
    return tuple(sorted(kinds.items()))


def _sections(value: Any, path: str,
              linear: bool = False) -> tuple[tuple[str, tuple[Pattern, ...]], ...]:
    found: list[tuple[str, tuple[Pattern, ...]]] = []
    seen: set[str] = set()
    for i, entry in enumerate(_list(value, path, "sections")):
        where = f"sections[{i}]"
        item = _mapping(entry, path, where, {"name", "patterns"}, {"name", "patterns"})
        name = _text(item["name"], path, f"{where}.name")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise _fail(path, f"{where}.name", "expected lower_snake_case")
        if name in seen:
            raise _fail(path, f"{where}.name", f"duplicate section {name!r}")
        seen.add(name)
        patterns: Sequence[Any] = _list(item["patterns"], path, f"{where}.patterns")
        if not patterns:
            raise _fail(path, f"{where}.patterns", "expected at least one pattern")
        found.append((name, tuple(_regex(p, path, f"{where}.patterns[{j}]", linear)
                                  for j, p in enumerate(patterns))))
    return tuple(found)


def builtin_path() -> Path:
    """The shipped ``rules/vocabulary.yaml``."""
    return builtin_rules_dir() / "vocabulary.yaml"


@lru_cache(maxsize=1)
def builtin_vocabulary() -> Vocabulary:
    """The shipped vocabulary, loaded and compiled once per process."""
    path = builtin_path()
    return parse_vocabulary(read_document(path), str(path))
