"""Evaluate a rule pack over facts: findings, pillar outcomes and the verdict. Pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from openaudit import __version__
from openaudit.fact_specs import FREE_TEXT_FACTS
from openaudit.memo import Memo
from openaudit.models import (
    AuditReport,
    Evidence,
    Facts,
    Finding,
    Outcome,
    PillarResult,
    Severity,
    Target,
    Verdict,
)
from openaudit.operators import Evaluator, compile_condition, leaves, referenced_facts
from openaudit.ruleset import COMPILED, Pack, Pillar, Rule

_WORST_FIRST = (Outcome.FAIL, Outcome.NOT_TESTED, Outcome.WARN, Outcome.PASS)
# Enum member lookups go through a descriptor each time: bind the hot ones once.
_PASS, _FAIL, _WARN, _NOT_TESTED = Outcome.PASS, Outcome.FAIL, Outcome.WARN, Outcome.NOT_TESTED
_ERROR, _INFO = Severity.ERROR, Severity.INFO
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_MAX_EVIDENCE = 8


@dataclass(frozen=True)
class _Plan:
    """What running a rule needs that does not depend on the facts, worked out once per rule."""

    rule: Rule
    evaluate: Evaluator
    names: tuple[str, ...]  # facts the check reads, in order of first appearance
    # Per leaf: the fact, for "contains X" checks the evidence keys of X alone, and the source
    # of the evidence item that stands in when nothing was recorded ("fact NAME").
    leaves: tuple[tuple[str, tuple[str, ...], str], ...]
    fail_outcome: Outcome
    not_tested: tuple[str, ...]  # each template split by _template_parts
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    reason_code: str
    # Everything a finding depends on besides the rule: the facts whose values, unknown
    # reasons or evidence it reads. Equal inputs give an equal finding, so one is kept per
    # distinct input (a dump repeats the same licence, card and file patterns endlessly).
    inputs: tuple[str, ...]
    evidence_keys: tuple[str, ...]
    memo: Memo[Any, Finding]
    interned: Memo[Finding, Finding]


_MAX_MEMO = 2048  # findings kept per rule; the memo is cleared when it is full
_T = TypeVar("_T")


def _held(owner: Rule | Pack, build: Callable[[], _T]) -> _T:
    """What ``build`` compiles for ``owner``, made the first time ``owner`` is judged and then
    held by it: compiled once per loaded rule or pack, never looked up by an object id."""
    held = owner.__dict__.get(COMPILED)
    if held is None:
        held = build()
        object.__setattr__(owner, COMPILED, held)  # not a field: eq, hash and repr ignore it
    return held


def _plan(rule: Rule) -> _Plan:
    return _held(rule, lambda: _compile_plan(rule))


def _compile_plan(rule: Rule) -> _Plan:
    leaf_plans = []
    for leaf in leaves(rule.check):
        specific: tuple[str, ...] = ()
        if leaf.op in ("contains", "contains_any"):
            wanted = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            specific = tuple(f"{leaf.fact}:{value}" for value in wanted)
        leaf_plans.append((leaf.fact, specific, f"fact {leaf.fact}"))
    messages = rule.messages
    names = tuple(referenced_facts(rule.check))
    templates = (_template_parts(messages.get("not_tested", "Could not check: {reason}")),
                 _template_parts(messages["pass"]), _template_parts(messages["fail"]))
    placeholders = [name for parts in templates for name in parts[1::2] if name != "reason"]
    inputs = tuple(dict.fromkeys([*names, *(fact for fact, _, _ in leaf_plans), *placeholders]))
    evidence_keys = tuple(dict.fromkeys(key for fact, specific, _ in leaf_plans
                                        for key in (fact, *specific)))
    plan = _Plan(rule, compile_condition(rule.check), names, tuple(leaf_plans),
                 _FAIL if rule.severity is _ERROR else _WARN, *templates,
                 f"{rule.id}:{rule.name}", inputs, evidence_keys, Memo(_MAX_MEMO),
                 Memo(_MAX_MEMO))
    return plan


def run_rule(rule: Rule, facts: Facts) -> Finding:
    """Evaluate one rule and render its finding (the same finding for the same inputs)."""
    plan = _plan(rule)
    return _memoised(plan, facts, _key_parts(plan.inputs, facts))


def _memoised(plan: _Plan, facts: Facts, parts: Mapping[str, Any]) -> Finding:
    """``_run_plan``, remembered per distinct input. ``parts`` (``_key_parts``) covers at least
    the plan's inputs; a key is hashable unless a fact holds unhashable items."""
    key = (*map(parts.__getitem__, plan.inputs), *map(facts.evidence.get, plan.evidence_keys))
    try:
        finding = plan.memo.get(key)
    except TypeError:  # a value that cannot be a key (e.g. a list of mappings): judge afresh
        return _run_plan(plan, facts)
    if finding is None:
        fresh = _run_plan(plan, facts)
        # Inputs that differ (a README's text) often give an equal finding: hand out the one
        # already made, whose JSON text is already known (records.audit_record_line).
        finding = plan.interned.get(fresh) or plan.interned.put(fresh, fresh)
        plan.memo.put(key, finding)
    return finding


def _key_parts(names: Iterable[str], facts: Facts) -> dict[str, tuple[Any, str | None]]:
    """Each fact's part of a memo key: its value (typed, see ``_key_value``) and why unknown."""
    values, unknown = facts.values, facts.unknown_reasons
    return {name: (value if type(value := values.get(name)) is str or value is None
                   else _key_value(value), unknown.get(name)) for name in names}


def _key_value(value: Any) -> Any:
    """A scalar other than text carries its type, and a list becomes a typed tuple, so values
    that compare equal but render or evaluate differently (``True`` and ``1``, a list and a
    tuple) never share a key."""
    if type(value) is str or value is None:
        return value
    return (type(value), tuple(value)) if isinstance(value, list | tuple) else (type(value), value)


def _run_plan(plan: _Plan, facts: Facts) -> Finding:
    rule = plan.rule
    values = facts.values
    result = plan.evaluate(values)
    reason = ""
    if result is None:
        outcome = _NOT_TESTED
        unknown = facts.unknown_reasons
        reason = "; ".join(sorted({unknown.get(n, f"{n} is unknown")
                                   for n in plan.names if values.get(n) is None}))
        parts = plan.not_tested
    elif result:
        outcome, parts = _PASS, plan.passed
    else:
        outcome, parts = plan.fail_outcome, plan.failed
    return Finding(rule.id, rule.title, rule.pillar, rule.severity, outcome,
                   _render_parts(parts, values, reason), _evidence(plan, facts),
                   "" if outcome is _PASS else rule.fix, rule.clause, plan.reason_code)


def render_message(template: str, values: Mapping[str, Any], reason: str = "") -> str:
    """Fill ``{fact}`` placeholders with readable values (``{reason}`` for not-tested)."""
    return _render_parts(_template_parts(template), values, reason)


def _render_parts(parts: tuple[str, ...], values: Mapping[str, Any], reason: str) -> str:
    if len(parts) == 1:
        return _strip(parts[0])
    out = list(parts)
    for i in range(1, len(parts), 2):
        name = parts[i]
        out[i] = reason if name == "reason" else format_value(values.get(name))
    return "".join(out).strip()


@lru_cache(maxsize=1024)
def _strip(template: str) -> str:
    """A template without placeholders is its own message: one shared string per template."""
    return template.strip()


@lru_cache(maxsize=1024)
def _template_parts(template: str) -> tuple[str, ...]:
    """Literal text at even positions, placeholder names at odd ones (templates come from packs)."""
    return tuple(_PLACEHOLDER.split(template))


def format_value(value: Any) -> str:
    """Human rendering of a fact value."""
    if value is None:
        return "unknown"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip()
    if not text:
        return "none"
    return text if len(text) <= 120 else text[:117] + "..."


def _evidence(plan: _Plan, facts: Facts) -> tuple[Evidence, ...]:
    items: list[Evidence] = []
    recorded, values = facts.evidence, facts.values
    for name, specific, source in plan.leaves:
        # For "contains X" checks, the evidence recorded for X alone (e.g. one restriction).
        found: Sequence[Evidence] | None = None
        if specific:
            found = [e for key in specific for e in recorded.get(key, ())]
        if not found:
            found = recorded.get(name)
        if found:
            items.extend(found)
        else:
            value = values.get(name)
            if value is None:
                items.append(Evidence(source, None,
                                      f"unknown: {facts.unknown_reasons.get(name, 'not read')}"))
            else:
                items.append(Evidence(source, None, format_value(value)))
    if len(items) <= 1:
        return tuple(items)
    unique = list(dict.fromkeys(items))
    return tuple(unique[:_MAX_EVIDENCE])


def pillar_outcome(findings: list[Finding]) -> Outcome:
    """Worst counted outcome: fail > not-tested > warn > pass.

    Info findings and waived findings (a project policy's waiver) never count.
    """
    counted = {f.outcome for f in findings if f.severity is not _INFO and f.waiver is None}
    return next((o for o in _WORST_FIRST if o in counted), _PASS)


def pillar_results(pack: Pack, findings: list[Finding]) -> list[PillarResult]:
    """One result per pillar of the pack, in the pack's order."""
    by_pillar: dict[str, list[Finding]] = {}
    for finding in findings:
        by_pillar.setdefault(finding.pillar, []).append(finding)
    pillars = []
    for pillar in pack.pillars:
        mine = by_pillar.get(pillar.id, [])
        pillars.append(PillarResult(pillar.id, pillar.title, pillar_outcome(mine), pillar.group,
                                    tuple(f.rule_id for f in mine)))
    return pillars


def audit(pack: Pack, facts: Facts, target: Target, *,
          ruleset_digest: str | None = None) -> AuditReport:
    """Run every rule of the pack and decide the verdict by the pack's declared policy.

    ``ruleset_digest`` is the report's digest when it covers more than the pack (default: the
    pack's own digest).
    """
    layout = _layout(pack)
    parts = _key_parts(layout.inputs, facts)  # rules share most of their inputs
    findings: list[Any] = [None] * len(layout.plans)  # each filled below
    # The rules that read no prose are judged together: one key for all of them.
    key = (*map(parts.__getitem__, layout.steady_inputs),
           *map(facts.evidence.get, layout.steady_evidence))
    try:
        steady = layout.steady.get(key)
        hashable = True
    except TypeError:  # a value that cannot be a key: judge each rule on its own
        steady, hashable = None, False
    if steady is None:
        steady = tuple(_memoised(layout.plans[i], facts, parts) for i in layout.steady_rules)
        if hashable:
            layout.steady.put(key, steady)
    for i, finding in zip(layout.steady_rules, steady, strict=True):
        findings[i] = finding
    for i in layout.prose_rules:
        findings[i] = _memoised(layout.plans[i], facts, parts)
    # Fresh findings carry no waiver, so the pillars and the verdict depend on the outcomes
    # alone: worked out once per distinct combination.
    outcomes = tuple([f.outcome for f in findings])
    decided = layout.decided.get(outcomes)
    if decided is None:
        pillars = tuple(PillarResult(pillar.id, pillar.title,
                                     pillar_outcome([findings[i] for i in indices]),
                                     pillar.group, ids)
                        for pillar, indices, ids in layout.pillars)
        verdict, reason, gaps = decide_verdict(pack, list(pillars))
        decided = layout.decided.put(
            outcomes, (pillars, verdict, reason, gaps, reason_families(pack, gaps)))
    pillars, verdict, reason, gaps, families = decided
    return AuditReport(
        target=target, pack=pack.id, ruleset_version=pack.version,
        ruleset_digest=pack.digest if ruleset_digest is None else ruleset_digest,
        verdict=verdict, verdict_reason=reason, gaps=gaps, pillars=pillars,
        findings=tuple([findings[i] for i in layout.by_rule_id]), tool_version=__version__,
        reason_families=families,
    )


@dataclass(frozen=True)
class _Layout:
    """Where a pack's findings go, which depends on the pack alone: worked out once per pack."""

    pack: Pack
    # Per pillar, in the pack's order: the indices of its rules in pack.rules, and their ids
    # (what pillar_results gives for findings in rule order).
    pillars: tuple[tuple[Pillar, tuple[int, ...], tuple[str, ...]], ...]
    by_rule_id: tuple[int, ...]  # rule indices sorted (stably) by rule id
    # Outcomes of the rules, in pack order -> (pillars, verdict, reason, gaps, families).
    decided: Memo[tuple[Outcome, ...], tuple[Any, ...]]
    plans: tuple[_Plan, ...]  # of the rules, in pack order
    inputs: tuple[str, ...]  # every fact some rule's finding depends on
    # Rules (indices) that read prose, and the others with every input and evidence key they
    # read: their findings are remembered together, by those inputs.
    prose_rules: tuple[int, ...]
    steady_rules: tuple[int, ...]
    steady_inputs: tuple[str, ...]
    steady_evidence: tuple[str, ...]
    steady: Memo[tuple[Any, ...], tuple[Finding, ...]]


def _layout(pack: Pack) -> _Layout:
    return _held(pack, lambda: _compile_layout(pack))


def _compile_layout(pack: Pack) -> _Layout:
    rules = pack.rules
    plans = tuple(_plan(rule) for rule in rules)
    pillars = []
    for pillar in pack.pillars:
        indices = tuple(i for i, rule in enumerate(rules) if rule.pillar == pillar.id)
        pillars.append((pillar, indices, tuple(rules[i].id for i in indices)))
    prose = tuple(i for i, plan in enumerate(plans) if FREE_TEXT_FACTS & set(plan.inputs))
    steady = tuple(i for i in range(len(plans)) if i not in prose)
    layout = _Layout(pack, tuple(pillars),
                     tuple(sorted(range(len(rules)), key=lambda i: rules[i].id)), Memo(_MAX_MEMO),
                     plans, tuple(dict.fromkeys(n for plan in plans for n in plan.inputs)),
                     prose, steady,
                     tuple(dict.fromkeys(n for i in steady for n in plans[i].inputs)),
                     tuple(dict.fromkeys(k for i in steady for k in plans[i].evidence_keys)),
                     Memo(_MAX_MEMO))
    return layout


def reason_families(pack: Pack, gaps: tuple[str, ...]) -> tuple[str, ...]:
    """The sorted reason families (``blocked-by-terms``, ``missing-component``…) of the gaps."""
    reasons = {g.id: g.reason for g in pack.groups}
    return tuple(sorted({reasons[g] for g in gaps}))


def decide_verdict(pack: Pack, pillars: list[PillarResult]) -> tuple[Verdict, str, tuple[str, ...]]:
    """Count gaps (groups with a failing pillar), groups in doubt (a warning, no failure),
    warnings and not-tested pillars, then apply the policy.

    A group short is a gap or a doubt: evidence read against it. Unchecked evidence (not-tested)
    is bounded by ``max_not_tested`` alone, so "could not check" never makes a verdict worse.
    """
    gaps = tuple(g.id for g in pack.groups
                 if any(p.outcome is _FAIL for p in pillars if p.gap_group == g.id))
    doubts = tuple(g.id for g in pack.groups if g.id not in gaps and any(
        p.outcome is _WARN for p in pillars if p.gap_group == g.id))
    warnings = sum(p.outcome is _WARN for p in pillars)
    not_tested = sum(p.outcome is _NOT_TESTED for p in pillars)
    counts = {"max_gaps": len(gaps), "max_warnings": warnings, "max_not_tested": not_tested,
              "max_short_groups": len(gaps) + len(doubts)}
    for step in pack.verdicts:
        limits = {"max_gaps": step.max_gaps, "max_warnings": step.max_warnings,
                  "max_not_tested": step.max_not_tested,
                  "max_short_groups": step.max_short_groups}
        if all(limit is None or counts[key] <= limit for key, limit in limits.items()):
            return Verdict(step.verdict), _reason(pack, gaps, warnings, not_tested,
                                                  doubts), gaps
    raise AssertionError("the policy's last step always matches")  # guaranteed by the loader


def _reason(pack: Pack, gaps: tuple[str, ...], warnings: int, not_tested: int,
            doubts: tuple[str, ...] = ()) -> str:
    titles = {g.id: g for g in pack.groups}
    parts = []
    if gaps:
        families = sorted({titles[g].reason for g in gaps})
        parts.append(f"{_count(len(gaps), 'gap')}: " + ", ".join(titles[g].title for g in gaps)
                     + f" [{', '.join(families)}]")
    if doubts:  # groups short without a failure: each counts like a gap for the verdict
        parts.append("in doubt: " + ", ".join(titles[g].title for g in doubts))
    if not_tested:
        parts.append(f"{_count(not_tested, 'pillar')} could not be checked")
    if warnings:
        parts.append(f"{_count(warnings, 'pillar')} with warnings")
    return "; ".join(parts) if parts else "every pillar passes"


def _count(n: int, noun: str) -> str:
    """``1 gap``, ``2 gaps``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
