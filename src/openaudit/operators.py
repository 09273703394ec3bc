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


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rule regex (raises re.error on a bad pattern)."""
    return re.compile(pattern)
