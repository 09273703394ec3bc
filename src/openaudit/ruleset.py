"""Load rule packs from YAML and validate them strictly.

Any unknown key, bad operator, unknown fact, bad regex, missing field or duplicate id is a
RuleFileError naming the file, the rule and the key; a broken rule is never skipped with a warning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from openaudit.errors import RuleFileError
from openaudit.fact_specs import FACT_SPECS
from openaudit.models import Outcome, RepoType, Severity
from openaudit.operators import OPERATORS, AllOf, AnyOf, Condition, Leaf, Not, compile_regex
from openaudit.safe_read import MAX_CONFIG_BYTES, RefusedFile, read_capped
from openaudit.yaml_guard import short_repr, yaml_problem

SCHEMA_VERSION = 1
# libyaml's safe loader when available: rule packs load several times faster.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_RULE_KEYS = {"id", "name", "title", "pillar", "clause", "severity", "check", "message", "fix",
              "rationale", "references", "examples"}
_OPTIONAL_RULE_KEYS = {"cards"}
_MAX_CARD_FILES = 8


@dataclass(frozen=True)
class CardExample:
    """A small repository a rule's documentation shows: its README.md (front matter included)
    and other files by name. Run through the real folder reader and fact builders."""

    readme: str
    files: Mapping[str, str] = field(default_factory=dict)


# The attribute under which the engine keeps what it compiles for a rule (its plan) or a pack
# (its layout), the first time either is judged: held by the object, not a field, not pickled.
COMPILED = "_compiled"


class _HoldsCompiled:
    """Pickles without what the engine compiled (closures; rebuilt on first use)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop(COMPILED, None)
        return state


@dataclass(frozen=True)
class Rule(_HoldsCompiled):
    """One declarative rule."""

    id: str
    name: str
    title: str
    pillar: str
    clause: str
    severity: Severity
    check: Condition
    messages: Mapping[str, str]
    fix: str
    rationale: str
    references: tuple[str, ...]
    examples: Mapping[str, tuple[Mapping[str, Any], ...]]
    source: str
    # Whole-card examples by expected outcome (``pass``, ``fail``, optionally ``not-tested``).
    cards: Mapping[str, tuple[CardExample, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Pillar:
    """A pillar groups rules; its gap group decides how a failure counts toward the verdict."""

    id: str
    title: str
    group: str


@dataclass(frozen=True)
class GapGroup:
    """Pillars whose failures count as one gap, with the reason family reported for it."""

    id: str
    title: str
    reason: str


@dataclass(frozen=True)
class VerdictStep:
    """First step whose limits hold gives the verdict; a step without limits always matches."""

    verdict: str
    max_gaps: int | None
    max_warnings: int | None
    max_not_tested: int | None
    # Groups short by the evidence read: a failing pillar, or a warning (not-tested does not count).
    max_short_groups: int | None = None


@dataclass(frozen=True)
class Pack(_HoldsCompiled):
    """A validated rule pack: pillars, the verdict policy and the rules."""

    id: str
    title: str
    version: str
    applies_to: RepoType
    description: str
    pillars: tuple[Pillar, ...]
    groups: tuple[GapGroup, ...]
    verdicts: tuple[VerdictStep, ...]
    rules: tuple[Rule, ...]
    digest: str
    directory: Path

    def rule(self, rule_id: str) -> Rule | None:
        """Find a rule by id."""
        return next((r for r in self.rules if r.id == rule_id), None)


def load_pack(directory: Path, extra_files: tuple[Path, ...] = (), *,
              shipped: bool = False) -> Pack:
    """Load ``pack.yaml`` and every other ``*.yaml`` in the directory, plus extra rule files.

    ``shipped``: the directory is one of openaudit's own packs. The regexes of every other rule
    file run on RE2, in linear time (see ``LinearRegex``).
    """
    pack_file = directory / "pack.yaml"
    head_bytes = _read_bytes(pack_file)
    head = _mapping(_parse_yaml(pack_file, head_bytes), str(pack_file), "", "")
    _keys(head, {"schema_version", "pack"}, {"schema_version", "pack"}, str(pack_file))
    _schema_version(head, str(pack_file))
    meta = _mapping(head["pack"], str(pack_file), "", "pack")
    _keys(meta, {"id", "title", "version", "applies_to", "pillars", "policy", "description"},
          {"id", "title", "version", "applies_to", "pillars", "policy"}, str(pack_file), "", "pack")
    groups, verdicts = _policy(meta["policy"], str(pack_file))
    pillars = _pillars(meta["pillars"], {g.id for g in groups}, str(pack_file))
    rules: dict[str, Rule] = {}
    files = sorted(p for p in directory.glob("*.yaml") if p.name != "pack.yaml")
    digest = hashlib.sha256(head_bytes)
    pack_id = _str(meta["id"], str(pack_file), "", "pack.id")
    for path in [*files, *extra_files]:
        data = _read_bytes(path)
        digest.update(data)
        seen_here: set[str] = set()
        extra = path in extra_files
        for rule in _rule_file(path, data, {p.id for p in pillars}, pack_id, extra,
                               linear=extra or not shipped):
            if rule.id in seen_here:
                raise RuleFileError(str(path), "duplicate rule id in this file", rule.id, "id")
            seen_here.add(rule.id)
            if rule.id in rules and path not in extra_files:
                raise RuleFileError(str(path), "duplicate rule id (also in "
                                    f"{rules[rule.id].source})", rule.id, "id")
            rules[rule.id] = rule  # a later extra file may override a built-in rule by id
    _unique_names(rules.values())
    try:
        applies_to = RepoType(str(meta["applies_to"]))
    except ValueError:
        raise RuleFileError(str(pack_file), "must be 'model' or 'dataset'", "",
                            "pack.applies_to") from None
    return Pack(_str(meta["id"], str(pack_file), "", "pack.id"),
                _str(meta["title"], str(pack_file), "", "pack.title"),
                _str(meta["version"], str(pack_file), "", "pack.version"), applies_to,
                str(meta.get("description", "")), pillars, groups, verdicts,
                tuple(sorted(rules.values(), key=lambda r: r.id)), digest.hexdigest()[:16],
                directory)


def _read_bytes(path: Path) -> bytes:
    try:
        return read_capped(path, MAX_CONFIG_BYTES)
    except RefusedFile as exc:
        raise RuleFileError(str(path), exc.reason) from None


def read_rule_yaml(path: Path) -> Any:
    """A rule, pack or catalogue file's YAML, read within the limits (RuleFileError else)."""
    return _parse_yaml(path, _read_bytes(path))


def _parse_yaml(path: Path, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleFileError(str(path), "is not valid UTF-8") from None
    problem = yaml_problem(text)
    if problem is not None:
        raise RuleFileError(str(path), problem)
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc)[:200]
        raise RuleFileError(str(path), f"invalid YAML{where}: {problem}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # A tag whose value cannot be built (e.g. `!!int x`, `!!timestamp x`).
        raise RuleFileError(str(path), "invalid YAML: a tagged value cannot be read "
                            f"({type(exc).__name__})") from None


def _schema_version(doc: Mapping[str, Any], path: str) -> None:
    version = doc.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:  # true and 1.0 are not 1
        raise RuleFileError(path, "unsupported schema_version "
                            f"{short_repr(doc.get('schema_version'))} "
                            f"(expected {SCHEMA_VERSION})", "", "schema_version")


def _mapping(value: Any, path: str, rule_id: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuleFileError(path, f"expected a mapping, got {type(value).__name__}", rule_id, key)
    return value


def _list(value: Any, path: str, rule_id: str, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise RuleFileError(path, "expected a non-empty list", rule_id, key)
    return value


def _str(value: Any, path: str, rule_id: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleFileError(path, "expected a non-empty string", rule_id, key)
    return value.strip()


def _keys(doc: Mapping[str, Any], allowed: set[str], required: set[str], path: str,
          rule_id: str = "", prefix: str = "") -> None:
    for key in sorted(set(doc) - allowed, key=str):
        raise RuleFileError(path, f"unknown key (allowed: {', '.join(sorted(allowed))})", rule_id,
                            f"{prefix}.{key}" if prefix else str(key))
    for key in sorted(required - set(doc)):
        raise RuleFileError(path, "missing required key", rule_id,
                            f"{prefix}.{key}" if prefix else key)


def _policy(value: Any, path: str) -> tuple[tuple[GapGroup, ...], tuple[VerdictStep, ...]]:
    policy = _mapping(value, path, "", "pack.policy")
    _keys(policy, {"groups", "verdicts"}, {"groups", "verdicts"}, path, "", "pack.policy")
    groups: list[GapGroup] = []
    for item in _list(policy["groups"], path, "", "pack.policy.groups"):
        g = _mapping(item, path, "", "pack.policy.groups")
        _keys(g, {"id", "title", "reason"}, {"id", "title", "reason"}, path, "", "policy.groups")
        if any(existing.id == g["id"] for existing in groups):
            raise RuleFileError(path, f"duplicate group id {short_repr(g['id'])}", "",
                                "policy.groups.id")
        groups.append(GapGroup(_str(g["id"], path, "", "groups.id"),
                               _str(g["title"], path, "", "groups.title"),
                               _str(g["reason"], path, "", "groups.reason")))
    steps = []
    limits = ("max_gaps", "max_warnings", "max_not_tested", "max_short_groups")
    for item in _list(policy["verdicts"], path, "", "pack.policy.verdicts"):
        s = _mapping(item, path, "", "pack.policy.verdicts")
        _keys(s, {"verdict", *limits}, {"verdict"}, path, "", "policy.verdicts")
        if not isinstance(s["verdict"], str) or s["verdict"] not in (
                "compliant", "potentially-compliant", "non-compliant"):
            raise RuleFileError(path, f"unknown verdict {short_repr(s['verdict'])}", "",
                                "verdicts.verdict")
        for key in limits:
            if key in s and (type(s[key]) is not int or s[key] < 0):
                raise RuleFileError(path, "expected a non-negative integer", "", f"verdicts.{key}")
        steps.append(VerdictStep(s["verdict"], *(s.get(k) for k in limits)))
    if any(getattr(steps[-1], k) is not None for k in limits):
        raise RuleFileError(path, "the last verdict step must have no limits (the fallback)", "",
                            "pack.policy.verdicts")
    return tuple(groups), tuple(steps)


def _pillars(value: Any, groups: set[str], path: str) -> tuple[Pillar, ...]:
    pillars: list[Pillar] = []
    for item in _list(value, path, "", "pack.pillars"):
        p = _mapping(item, path, "", "pack.pillars")
        _keys(p, {"id", "title", "group"}, {"id", "title", "group"}, path, "", "pillars")
        pillar_id = _str(p["id"], path, "", "pillars.id")
        group = _str(p["group"], path, "", "pillars.group")
        if group not in groups:
            raise RuleFileError(path, f"unknown group {short_repr(group)}", "", "pillars.group")
        if any(existing.id == pillar_id for existing in pillars):
            raise RuleFileError(path, f"duplicate pillar id {short_repr(pillar_id)}", "",
                                "pillars.id")
        pillars.append(Pillar(pillar_id, _str(p["title"], path, "", "pillars.title"), group))
    return tuple(pillars)


def _rule_file(path: Path, data: bytes, pillars: set[str], pack_id: str, extra: bool, *,
               linear: bool) -> list[Rule]:
    doc = _mapping(_parse_yaml(path, data), str(path), "", "")
    required = {"schema_version", "rules", "extends"} if extra else {"schema_version", "rules"}
    _keys(doc, {"schema_version", "rules", "extends"}, required, str(path))
    _schema_version(doc, str(path))
    if "extends" in doc and doc["extends"] != pack_id:
        raise RuleFileError(str(path), f"extends {short_repr(doc['extends'])} but is loaded "
                            "into pack "
                            f"{short_repr(pack_id)}", "", "extends")
    return [_rule(item, str(path), pillars, linear)
            for item in _list(doc["rules"], str(path), "", "rules")]


def _rule(value: Any, path: str, pillars: set[str], linear: bool) -> Rule:
    raw = _mapping(value, path, "", "rules[]")
    rule_id = str(raw.get("id", "?"))
    _keys(raw, _RULE_KEYS | _OPTIONAL_RULE_KEYS, _RULE_KEYS, path, rule_id)
    if not _RULE_ID.match(rule_id):
        raise RuleFileError(path, "id must look like ABC-001", rule_id, "id")
    if not isinstance(raw["pillar"], str) or raw["pillar"] not in pillars:
        raise RuleFileError(path, f"unknown pillar {short_repr(raw['pillar'])} (pack pillars: "
                            f"{', '.join(sorted(pillars))})", rule_id, "pillar")
    try:
        severity = Severity(raw["severity"])
    except ValueError:
        raise RuleFileError(path, "must be error, warning or info", rule_id, "severity") from None
    check = _condition(raw["check"], path, rule_id, "check", linear)
    return Rule(
        rule_id, _str(raw["name"], path, rule_id, "name"), _str(raw["title"], path, rule_id,
                                                                 "title"),
        str(raw["pillar"]), _str(raw["clause"], path, rule_id, "clause"), severity, check,
        _messages(raw["message"], path, rule_id), _str(raw["fix"], path, rule_id, "fix"),
        _str(raw["rationale"], path, rule_id, "rationale"),
        tuple(_str(r, path, rule_id, "references") for r in _list(raw["references"], path,
                                                                    rule_id, "references")),
        _examples(raw["examples"], path, rule_id), path,
        _cards(raw["cards"], path, rule_id) if "cards" in raw else {})


def _cards(value: Any, path: str, rule_id: str) -> dict[str, tuple[CardExample, ...]]:
    """``cards: {pass: [CARD], fail: [CARD]}``, a CARD ``{readme: TEXT, files: {NAME: TEXT}}``.

    A rule whose failing state no single card can show (it needs evidence beyond the card)
    gives ``not_tested`` cards in place of ``fail``."""
    cards = _mapping(value, path, rule_id, "cards")
    _keys(cards, {"pass", "fail", "not_tested"}, {"pass"}, path, rule_id, "cards")
    if "fail" not in cards and "not_tested" not in cards:
        raise RuleFileError(path, "missing required key", rule_id, "cards.fail")
    result: dict[str, tuple[CardExample, ...]] = {}
    for outcome, items in cards.items():
        where = f"cards.{outcome}"
        examples = []
        for item in _list(items, path, rule_id, where):
            card = _mapping(item, path, rule_id, where)
            _keys(card, {"readme", "files"}, {"readme"}, path, rule_id, where)
            files = _mapping(card.get("files", {}), path, rule_id, f"{where}.files")
            if len(files) > _MAX_CARD_FILES:
                raise RuleFileError(path, f"at most {_MAX_CARD_FILES} files", rule_id,
                                    f"{where}.files")
            for name, text in files.items():
                if (not isinstance(name, str) or not name or name.startswith("/")
                        or ".." in name.split("/") or name == "README.md"):
                    raise RuleFileError(path, f"bad file name {short_repr(name)}", rule_id,
                                        f"{where}.files")
                if not isinstance(text, str):
                    raise RuleFileError(path, "file contents must be text", rule_id,
                                        f"{where}.files.{name}")
            examples.append(CardExample(_str(card["readme"], path, rule_id, f"{where}.readme"),
                                        dict(files)))
        result[Outcome(outcome.replace("_", "-")).value] = tuple(examples)
    return result


def _messages(value: Any, path: str, rule_id: str) -> dict[str, str]:
    msgs = _mapping(value, path, rule_id, "message")
    _keys(msgs, {"pass", "fail", "not_tested"}, {"pass", "fail"}, path, rule_id, "message")
    result = {k: _str(v, path, rule_id, f"message.{k}") for k, v in msgs.items()}
    for key, text in result.items():
        for name in _PLACEHOLDER.findall(text):
            if name not in FACT_SPECS and name != "reason":
                raise RuleFileError(path, f"unknown placeholder {{{name}}}", rule_id,
                                    f"message.{key}")
    return result


def _examples(value: Any, path: str, rule_id: str) -> dict[str, tuple[Mapping[str, Any], ...]]:
    ex = _mapping(value, path, rule_id, "examples")
    _keys(ex, {"pass", "fail", "not_tested"}, {"pass", "fail"}, path, rule_id, "examples")
    result: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for outcome, cases in ex.items():
        items = []
        for case in _list(cases, path, rule_id, f"examples.{outcome}"):
            facts = _mapping(case if case is not None else {}, path, rule_id,
                             f"examples.{outcome}")
            for name in facts:
                if name not in FACT_SPECS:
                    raise RuleFileError(path, f"unknown fact {short_repr(name)}", rule_id,
                                        f"examples.{outcome}")
            items.append(facts)
        result[Outcome(outcome.replace("_", "-")).value] = tuple(items)
    return result


def _condition(value: Any, path: str, rule_id: str, key: str, linear: bool) -> Condition:
    node = _mapping(value, path, rule_id, key)
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in node:
            _keys(node, {combinator}, {combinator}, path, rule_id, key)
            items = _list(node[combinator], path, rule_id, f"{key}.{combinator}")
            return cls(tuple(_condition(i, path, rule_id, f"{key}.{combinator}", linear)
                             for i in items))
    if "not" in node:
        _keys(node, {"not"}, {"not"}, path, rule_id, key)
        return Not(_condition(node["not"], path, rule_id, f"{key}.not", linear))
    return _leaf(node, path, rule_id, key, linear)


def _leaf(node: dict[str, Any], path: str, rule_id: str, key: str, linear: bool) -> Leaf:
    _keys(node, {"fact", "op", "value"}, {"fact", "op"}, path, rule_id, key)
    fact, op = node["fact"], node["op"]
    if not isinstance(fact, str) or fact not in FACT_SPECS:
        raise RuleFileError(path, f"unknown fact {short_repr(fact)} (see `openaudit facts --list`)",
                            rule_id, f"{key}.fact")
    if not isinstance(op, str) or op not in OPERATORS:
        raise RuleFileError(path, f"unknown operator {short_repr(op)} (operators: "
                            f"{', '.join(sorted(OPERATORS))})", rule_id, f"{key}.op")
    spec = OPERATORS[op]
    if FACT_SPECS[fact].type not in spec.fact_types:
        raise RuleFileError(path, f"operator {short_repr(op)} does not apply to "
                            f"{FACT_SPECS[fact].type} "
                            f"fact {short_repr(fact)}", rule_id, f"{key}.op")
    value = _operand(spec.value_type, node, path, rule_id, key, linear)
    _check_scalar_type(FACT_SPECS[fact].type, op, value, path, rule_id, key)
    return Leaf(fact, op, value)


def _check_scalar_type(fact_type: str, op: str, value: Any, path: str, rule_id: str,
                       key: str) -> None:
    """`equals`/`one_of` values must have the fact's type: `false` never equals "false"."""
    if op not in ("equals", "one_of"):
        return
    wanted = bool if fact_type == "bool" else str
    items = value if isinstance(value, tuple) else (value,)
    if any(type(item) is not wanted for item in items):
        hint = ' (quote it: "false")' if wanted is str else ""
        raise RuleFileError(path, f"{fact_type} fact needs {wanted.__name__} values{hint}",
                            rule_id, f"{key}.value")


def _operand(kind: str, node: dict[str, Any], path: str, rule_id: str, key: str,
             linear: bool) -> Any:
    value: Any = node.get("value")
    if kind == "none":
        if "value" in node:
            raise RuleFileError(path, "this operator takes no value", rule_id, f"{key}.value")
        return None
    ok = {
        "scalar": isinstance(value, str | bool),
        "list": isinstance(value, list) and bool(value),
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "regex": isinstance(value, str),
    }[kind]
    if not ok:
        raise RuleFileError(path, f"expected a {kind} value", rule_id, f"{key}.value")
    if kind == "regex":
        try:
            return compile_regex(value, linear=linear)
        except re.error as exc:
            raise RuleFileError(path, f"bad regex: {exc}", rule_id, f"{key}.value") from None
    return tuple(value) if kind == "list" else value


def _unique_names(rules: Any) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in seen:
            raise RuleFileError(rule.source, f"duplicate rule name {short_repr(rule.name)} (also "
                                f"{seen[rule.name].id})", rule.id, "name")
        seen[rule.name] = rule
