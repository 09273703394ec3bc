"""The closed set of condition operators and three-valued (Kleene) evaluation of conditions.

A fact whose value is None is unknown; a leaf over an unknown fact is unknown, ``all`` is false as
soon as one item is false, ``any`` true as soon as one is true, and unknown otherwise. This is what
turns unreadable evidence into "not tested" instead of a pass or a fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openaudit.casefold import casefolded

Tri = bool | None  # True, False or None (unknown)


def _is_empty(value: Any) -> bool:
    return value in ("", False) or (isinstance(value, list | tuple) and not value)


def _exists(value: Any, _expected: Any) -> bool:
    return not _is_empty(value)


def _equals(value: Any, expected: Any) -> bool:
    return bool(value == expected)


def _one_of(value: Any, expected: Any) -> bool:
    return value in expected


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return str(expected).lower() in value.lower()
    return expected in value


def _contains_any(value: Any, expected: Any) -> bool:
    # ``_contains`` for each item, lowering a text fact once rather than once per item.
    if isinstance(value, str):
        folded = value.lower()
        return any(str(item).lower() in folded for item in expected)
    return any(item in value for item in expected)


def _matches(value: Any, expected: Any) -> bool:
    items = value if isinstance(value, list | tuple) else [value]
    return any(expected.search(str(item)) for item in items)


def _min_count(value: Any, expected: Any) -> bool:
    return len(value) >= int(expected)


@dataclass(frozen=True)
class OperatorSpec:
    """An operator: its predicate, the value type it takes, and the fact types it accepts."""

    func: Callable[[Any, Any], bool]
    value_type: str  # none | scalar | list | regex | int | str
    fact_types: frozenset[str]
    doc: str


OPERATORS: dict[str, OperatorSpec] = {
    "exists": OperatorSpec(_exists, "none", frozenset({"str", "bool", "list"}),
                           "the fact is non-empty (not '', false or [])"),
    "equals": OperatorSpec(_equals, "scalar", frozenset({"str", "bool"}),
                           "the fact equals the value"),
    "one_of": OperatorSpec(_one_of, "list", frozenset({"str"}),
                           "the fact is one of the listed values"),
    "contains": OperatorSpec(_contains, "str", frozenset({"str", "list"}),
                             "a list fact holds the value / a text fact contains it (any case)"),
    "contains_any": OperatorSpec(_contains_any, "list", frozenset({"str", "list"}),
                                 "the fact contains at least one of the listed values"),
    "matches": OperatorSpec(_matches, "regex", frozenset({"str", "list"}),
                            "the regex matches the text, or any list item"),
    "min_count": OperatorSpec(_min_count, "int", frozenset({"list"}),
                              "the list has at least this many items"),
}


@dataclass(frozen=True)
class Leaf:
    """``{fact, op, value}``."""

    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    """``all: [...]``: every item holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """``any: [...]``: at least one item holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """``not: {...}``."""

    item: Condition


Condition = Leaf | AllOf | AnyOf | Not


def evaluate(cond: Condition, facts: Mapping[str, Any]) -> Tri:
    """Three-valued evaluation of a condition over a fact mapping."""
    if isinstance(cond, Leaf):
        value = facts.get(cond.fact)
        return None if value is None else OPERATORS[cond.op].func(value, cond.value)
    if isinstance(cond, Not):
        inner = evaluate(cond.item, facts)
        return None if inner is None else not inner
    results = [evaluate(item, facts) for item in cond.items]
    if isinstance(cond, AllOf):
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


Evaluator = Callable[[Mapping[str, Any]], Tri]


def compile_condition(cond: Condition) -> Evaluator:
    """A closure computing exactly ``evaluate(cond, facts)``, without re-dispatching each node.

    Like :func:`evaluate`, ``all``/``any`` evaluate every item (no short-circuit), so an
    operator error surfaces the same way.
    """
    if isinstance(cond, Leaf):
        func, fact, expected = OPERATORS[cond.op].func, cond.fact, cond.value

        def leaf(facts: Mapping[str, Any]) -> Tri:
            value = facts.get(fact)
            return None if value is None else func(value, expected)

        return leaf
    if isinstance(cond, Not):
        inner = compile_condition(cond.item)

        def negate(facts: Mapping[str, Any]) -> Tri:
            result = inner(facts)
            return None if result is None else not result

        return negate
    items = tuple(compile_condition(item) for item in cond.items)
    if isinstance(cond, AllOf):

        def all_of(facts: Mapping[str, Any]) -> Tri:
            results = [item(facts) for item in items]
            return False if False in results else (None if None in results else True)

        return all_of

    def any_of(facts: Mapping[str, Any]) -> Tri:
        results = [item(facts) for item in items]
        return True if True in results else (None if None in results else False)

    return any_of


def leaves(cond: Condition) -> list[Leaf]:
    """Every leaf of a condition, in order."""
    if isinstance(cond, Leaf):
        return [cond]
    if isinstance(cond, Not):
        return leaves(cond.item)
    return [leaf for item in cond.items for leaf in leaves(item)]


def referenced_facts(cond: Condition) -> list[str]:
    """Fact names a condition reads, in order of first appearance."""
    if isinstance(cond, Leaf):
        return [cond.fact]
    if isinstance(cond, Not):
        return referenced_facts(cond.item)
    seen: dict[str, None] = {}
    for item in cond.items:
        seen.update(dict.fromkeys(referenced_facts(item)))
    return list(seen)


@dataclass(frozen=True)
class RulePattern:
    """A rule's regex, with a cheap test that proves most texts cannot match it.

    Every match of the pattern starts with one of ``starts`` (when it has them): the literal
    text each top-level alternative begins with. A README where none occurs is answered
    without running the regex; anywhere else the regex decides, so the result is always the
    regex's own.
    """

    regex: re.Pattern[str] | LinearRegex
    starts: tuple[str, ...]  # lower-cased for a case-insensitive pattern
    ignore_case: bool
    # For a pattern with lookaround (which RE2 lacks): the pattern without it, on RE2. It
    # matches wherever the pattern does (lookaround only narrows), so a text it rejects is
    # answered without Python's backtracking ``re``.
    superset: LinearRegex | None = None
    # A shipped pattern's ``re`` form, used where RE2 could answer differently (see
    # re2_agrees_on); None for an untrusted pattern, which runs on RE2 alone.
    fallback: re.Pattern[str] | None = None

    @property
    def pattern(self) -> str:
        """The pattern as written in the rule file."""
        return self.regex.pattern

    def search(self, text: str) -> object | None:
        """``self.regex.search(text)``, as Python's ``re`` would answer it."""
        if self.starts:
            # casefolded keeps every letter an ASCII case-insensitive pattern can match.
            haystack = casefolded(text) if self.ignore_case else text
            if not any(start in haystack for start in self.starts):
                return None
        if self.fallback is None:
            return self.regex.search(text)
        if not re2_agrees_on(text):  # RE2 and ``re`` differ here: ``re`` answers
            return self.fallback.search(text)
        if self.superset is not None and self.superset.search(text) is None:
            return None
        return self.regex.search(text)


class LinearRegex:
    """A pattern run by RE2: matching time is linear in the text, whatever the pattern.

    Rule files that are not shipped with openaudit (``--rules``, a policy's ``rules``, the
    audited folder's own) are untrusted: a backtracking pattern such as ``(a+)+$`` would hang
    Python's ``re`` on a crafted README. RE2 has no backreferences or lookaround; such a
    pattern is refused when the file is loaded.
    """

    def __init__(self, pattern: str) -> None:
        import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

        options = re2.Options()
        options.log_errors = False  # its C++ logger would write to stderr
        try:
            self._regex = re2.compile(pattern, options)
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise re.error(f"{detail} (patterns from rule files that openaudit does not ship run "
                           "on RE2: no backreferences or lookaround)") from None
        self.pattern = pattern
        self.flags = re.IGNORECASE if pattern.startswith("(?i)") else 0

    def search(self, text: str) -> object | None:
        found: object | None
        try:
            found = self._regex.search(text)
        except UnicodeEncodeError:  # a lone surrogate (from a JSON escape) has no UTF-8 form
            found = self._regex.search(text.encode("utf-8", "replace").decode("utf-8"))
        return found


def compile_regex(pattern: str, linear: bool = False) -> RulePattern:
    """Compile a rule regex (raises re.error on a bad pattern); ``linear``: on RE2 only.

    A shipped pattern runs on RE2 too when RE2 accepts it (long case-insensitive alternations
    over a README cost Python's ``re`` tens of times more); one with lookaround runs on ``re``.
    """
    regex: re.Pattern[str] | LinearRegex
    checked: re.Pattern[str] | None = None
    if linear:
        regex = LinearRegex(pattern)
    else:
        checked = re.compile(pattern)  # Python's syntax decides what is a valid rule pattern
        regex = re2_twin(pattern) or checked
    ignore_case = bool(regex.flags & re.IGNORECASE)
    body = pattern.removeprefix("(?i)")
    starts = _alternative_starts(body, ignore_case) if body == pattern or ignore_case else ()
    superset = None
    if isinstance(regex, re.Pattern):
        stripped = without_lookaround(pattern)
        superset = re2_twin(stripped) if stripped is not None else None
    return RulePattern(regex, starts, ignore_case, superset, checked)


# Syntax RE2 reads differently from Python's re even on ASCII text: POSIX classes ("[[:digit:]]"
# is a set of characters to re), "{,n}" (literal to RE2) and a "$" outside multi-line mode
# (re also matches before a final newline).
_RE2_READS_DIFFERENTLY = re.compile(r"\[:|\{,")


def re2_twin(pattern: str) -> LinearRegex | None:
    """``pattern`` on RE2 when RE2 reads it as ``re`` does (on text ``re2_agrees_on``), else
    None: lookaround, backreferences and the syntax above stay with ``re``."""
    flags = re.match(r"\(\?([a-zA-Z]+)\)", pattern)
    if _RE2_READS_DIFFERENTLY.search(pattern) or (
            "$" in pattern and not (flags and "m" in flags.group(1))):
        return None
    try:
        return LinearRegex(pattern)
    except re.error:
        return None


# Text on which RE2 and Python's ``re`` agree: ASCII (RE2's \w, \d and \b are ASCII-only
# while re's are Unicode, and the two fold case differently beyond ASCII) without \v or
# \x1c-\x1f, which re's \s matches and RE2's does not.
_RE2_DIFFERS = ("\x0b", "\x1c", "\x1d", "\x1e", "\x1f")


def re2_agrees_on(text: str) -> bool:
    """True when a shipped pattern gives the same answer on RE2 as on ``re`` for ``text``."""
    # isascii() reads a flag CPython keeps on every str; the rest are memchr-fast scans.
    return text.isascii() and not any(char in text for char in _RE2_DIFFERS)


def without_lookaround(pattern: str) -> str | None:
    """``pattern`` with every lookahead and lookbehind group removed, or None when it has none.

    Removing a lookaround only widens what a pattern matches, so the result matches wherever
    ``pattern`` does. Escapes and character classes are skipped over, not parsed.
    """
    out: list[str] = []
    i, removed = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
        elif char == "[":
            end = _class_end(pattern, i)
            if end < 0:
                return None
            out.append(pattern[i:end + 1])
            i = end + 1
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            end = _group_end(pattern, i)
            if end < 0 or pattern[end + 1:end + 2] in ("?", "*", "+", "{"):
                return None  # a quantified lookaround: removing it would requantify its left
            removed = True
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out) if removed else None


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the class opened at ``start``, or -1."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":  # a leading "]" is a literal
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1


def _group_end(pattern: str, start: int) -> int:
    """The index of the ``)`` closing the group opened at ``start``, or -1."""
    depth, i = 0, start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            if i < 0:
                return -1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


# Characters that stand for themselves in a pattern and under IGNORECASE (letters only as
# ASCII, which casefolded covers): a run of them at the start of an alternative is literal.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789" " -_:/,;'\"=<>@%!&~`")
_QUANTIFIERS = frozenset("?*+{")


def _alternative_starts(pattern: str, ignore_case: bool) -> tuple[str, ...]:
    """The literal start of each top-level alternative, or () when one has none.

    Only a pattern made of alternatives at depth 0 is split; inline flags other than a
    leading ``(?i)``, anchors, classes and escapes at a start end its literal run, and a
    character a quantifier applies to is not part of it.
    """
    branches: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":  # a class may hold "|" or ")": skip to its end
            end = _class_end(pattern, i)
            if end == -1:
                return ()
            i = end + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    starts = []
    for branch in branches:
        run = 0
        while run < len(branch) and branch[run] in _PLAIN:
            run += 1
        if run < len(branch) and branch[run] in _QUANTIFIERS:
            run -= 1  # the quantifier makes that character optional or repeated
        if run < 1:
            return ()
        starts.append(branch[:run].lower() if ignore_case else branch[:run])
    return tuple(dict.fromkeys(starts))
