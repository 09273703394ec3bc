"""Operators, three-valued evaluation, rule outcomes, pillar aggregation and the verdict policy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from openaudit.engine import (
    audit,
    decide_verdict,
    format_value,
    pillar_outcome,
    render_message,
    run_rule,
)
from openaudit.models import (
    Evidence,
    Facts,
    Finding,
    Outcome,
    PillarResult,
    RepoType,
    Severity,
    Target,
    Verdict,
)
from openaudit.operators import AllOf, AnyOf, Condition, Leaf, Not, evaluate, referenced_facts
from openaudit.packs import load_ruleset
from openaudit.ruleset import Pack, Rule

OSAID = load_ruleset().pack_for(RepoType.MODEL)

# Leaves with a fixed truth value over FACTS: T is true, F is false, U is unknown (fact is None).
FACTS: dict[str, Any] = {"card.license": ["mit"], "card.tags": [], "access.gated": None}
T = Leaf("card.license", "exists", None)
F = Leaf("card.tags", "exists", None)
U = Leaf("access.gated", "exists", None)
BY_NAME = {True: T, False: F, None: U}
TRI = (True, False, None)


def _kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def test_leaves_have_the_intended_truth_values() -> None:
    assert (evaluate(T, FACTS), evaluate(F, FACTS), evaluate(U, FACTS)) == (True, False, None)


@pytest.mark.parametrize("a", TRI)
@pytest.mark.parametrize("b", TRI)
def test_all_is_kleene_and(a: bool | None, b: bool | None) -> None:
    assert evaluate(AllOf((BY_NAME[a], BY_NAME[b])), FACTS) is _kleene_and(a, b)


@pytest.mark.parametrize("a", TRI)
@pytest.mark.parametrize("b", TRI)
def test_any_is_kleene_or(a: bool | None, b: bool | None) -> None:
    assert evaluate(AnyOf((BY_NAME[a], BY_NAME[b])), FACTS) is _kleene_or(a, b)


@pytest.mark.parametrize(("a", "expected"), [(True, False), (False, True), (None, None)])
def test_not_keeps_unknown(a: bool | None, expected: bool | None) -> None:
    assert evaluate(Not(BY_NAME[a]), FACTS) is expected


def test_nested_unknown_propagates_and_false_short_circuits() -> None:
    # not(any(U, F)) = not(U) = U ; all(that, F) = F ; any(that, T) = T
    inner = Not(AnyOf((U, F)))
    assert evaluate(inner, FACTS) is None
    assert evaluate(AllOf((inner, F)), FACTS) is False
    assert evaluate(AnyOf((inner, T)), FACTS) is True


def test_missing_fact_is_unknown() -> None:
    assert evaluate(Leaf("license.stated", "equals", True), {}) is None


def test_referenced_facts_in_first_appearance_order() -> None:
    cond: Condition = AllOf((Leaf("b", "exists", None), Not(AnyOf((
        Leaf("a", "exists", None), Leaf("b", "exists", None), Leaf("c", "exists", None))))))
    assert referenced_facts(cond) == ["b", "a", "c"]


def _op(op: str, value: Any, expected: Any) -> bool | None:
    return evaluate(Leaf("f", op, expected), {"f": value})


@pytest.mark.parametrize(("value", "expected"), [
    ("", False), ("x", True), (" ", True), ([], False), (["a"], True), ((), False),
    (False, False), (True, True),
])
def test_exists(value: Any, expected: bool) -> None:
    assert _op("exists", value, None) is expected


@pytest.mark.parametrize(("value", "operand", "expected"), [
    ("false", "false", True), ("false", False, False), (True, True, True), (False, True, False),
    ("Auto", "auto", False),  # equals is exact
])
def test_equals(value: Any, operand: Any, expected: bool) -> None:
    assert _op("equals", value, operand) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("manual", True), ("auto", True), ("false", False), ("Manual", False), ("", False),
])
def test_one_of(value: str, expected: bool) -> None:
    assert _op("one_of", value, ("manual", "auto")) is expected


@pytest.mark.parametrize(("value", "operand", "expected"), [
    ("Licensed under the Apache License", "apache license", True),  # str: any case
    ("licensed under MIT", "APACHE", False),
    (["behavioural-use", "flow-down"], "flow-down", True),  # list: holds the item
    (["behavioural-use-extra"], "behavioural-use", False),  # not a substring of an item
    (["Flow-Down"], "flow-down", False),  # list items match exactly
    ([], "x", False),
])
def test_contains(value: Any, operand: str, expected: bool) -> None:
    assert _op("contains", value, operand) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (["naming-duty", "user-cap"], True), (["naming-duty"], False), ([], False),
    ("Has a USER-CAP clause", True), ("nothing", False),
])
def test_contains_any(value: Any, expected: bool) -> None:
    assert _op("contains_any", value, ("user-cap", "revenue-cap")) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("model.safetensors", True), ("model.bin", False),
    (["a.txt", "b/model.safetensors"], True), (["a.txt", "b.bin"], False), ([], False),
])
def test_matches_on_text_and_lists(value: Any, expected: bool) -> None:
    assert _op("matches", value, re.compile(r"\.safetensors$")) is expected


@pytest.mark.parametrize(("value", "count", "expected"), [
    ([], 0, True), ([], 1, False), (["a"], 1, True), (["a", "b"], 3, False), (["a", "b"], 2, True),
])
def test_min_count(value: list[str], count: int, expected: bool) -> None:
    assert _op("min_count", value, count) is expected


@pytest.mark.parametrize("op", ["exists", "equals", "one_of", "contains", "contains_any",
                                "matches", "min_count"])
def test_every_operator_is_unknown_on_none(op: str) -> None:
    assert evaluate(Leaf("f", op, "x"), {"f": None}) is None


# ---------------------------------------------------------------------------------------------
# run_rule
# ---------------------------------------------------------------------------------------------


def make_rule(check: Condition, severity: Severity = Severity.ERROR,
              messages: dict[str, str] | None = None, pillar: str = "use") -> Rule:
    return Rule(
        id="TEST-001", name="test-rule", title="Test rule", pillar=pillar, clause="clause",
        severity=severity, check=check,
        messages=messages or {"pass": "ok: {card.license}", "fail": "bad: {card.license}",
                              "not_tested": "Could not check: {reason}"},
        fix="do the fix", rationale="why", references=("https://example.org",), examples={},
        source="test",
    )


STATED = Leaf("license.stated", "equals", True)


@pytest.mark.parametrize(("severity", "expected"), [
    (Severity.ERROR, Outcome.FAIL), (Severity.WARNING, Outcome.WARN), (Severity.INFO, Outcome.WARN),
])
def test_failed_rule_outcome_depends_on_severity(severity: Severity, expected: Outcome) -> None:
    facts = Facts({"license.stated": False, "card.license": []})
    finding = run_rule(make_rule(STATED, severity), facts)
    assert finding.outcome is expected
    assert finding.message == "bad: none"
    assert finding.fix == "do the fix"
    assert finding.severity is severity


def test_passing_rule_has_no_fix_and_fills_placeholders() -> None:
    facts = Facts({"license.stated": True, "card.license": ["apache-2.0", "mit"]})
    finding = run_rule(make_rule(STATED), facts)
    assert finding.outcome is Outcome.PASS
    assert finding.message == "ok: apache-2.0, mit"
    assert finding.fix == ""
    assert finding.reason_code == "TEST-001:test-rule"
    assert finding.pillar == "use"


def test_unknown_fact_gives_not_tested_with_its_reason() -> None:
    facts = Facts({"license.stated": None, "card.license": ["mit"]},
                  {"license.stated": "LICENSE could not be read: gated"})
    finding = run_rule(make_rule(STATED), facts)
    assert finding.outcome is Outcome.NOT_TESTED
    assert finding.message == "Could not check: LICENSE could not be read: gated"
    assert finding.fix == "do the fix"
    assert Evidence("fact license.stated", None,
                    "unknown: LICENSE could not be read: gated") in finding.evidence


def test_not_tested_joins_reasons_of_every_unknown_fact() -> None:
    check = AllOf((Leaf("a.x", "exists", None), Leaf("b.x", "exists", None),
                   Leaf("c.x", "exists", None)))
    facts = Facts({"a.x": None, "b.x": None, "c.x": "known"}, {"b.x": "zeta", "a.x": "alpha"})
    finding = run_rule(make_rule(check), facts)
    assert finding.outcome is Outcome.NOT_TESTED
    assert finding.message == "Could not check: alpha; zeta"  # sorted, known facts left out


def test_not_tested_without_a_recorded_reason() -> None:
    rule = make_rule(STATED, messages={"pass": "ok", "fail": "bad"})  # no not_tested template
    finding = run_rule(rule, Facts({"license.stated": None}))
    assert finding.outcome is Outcome.NOT_TESTED
    assert finding.message == "Could not check: license.stated is unknown"


def test_an_unknown_fact_does_not_block_a_decided_rule() -> None:
    check = AllOf((STATED, Leaf("terms.text_read", "equals", True)))
    facts = Facts({"license.stated": False, "terms.text_read": None}, {"terms.text_read": "r"})
    assert run_rule(make_rule(check), facts).outcome is Outcome.FAIL


def test_evidence_from_facts_then_values() -> None:
    ev = Evidence("README.md", 3, "license: mit")
    facts = Facts({"license.stated": True, "card.license": ["mit"]}, {},
                  {"license.stated": (ev,)})
    check = AllOf((STATED, Leaf("card.license", "exists", None)))
    finding = run_rule(make_rule(check), facts)
    assert finding.evidence == (ev, Evidence("fact card.license", None, "mit"))


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (None, "unknown"), ([], "none"), ("", "none"), ("   ", "none"), (True, "yes"), (False, "no"),
    (["a", "b"], "a, b"), ("auto", "auto"), ("x" * 200, "x" * 117 + "..."),
])
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text


def test_render_message_fills_facts_and_reason() -> None:
    values = {"card.license": ["mit"], "access.gated": "auto", "license.stated": None}
    template = "{card.license} / {access.gated} / {license.stated} / {reason} / {Not.a.fact}"
    assert render_message(template, values, "why") == "mit / auto / unknown / why / {Not.a.fact}"
    assert render_message("  {reason}  ", values) == ""


# ---------------------------------------------------------------------------------------------
# Pillars and the verdict
# ---------------------------------------------------------------------------------------------


def _finding(outcome: Outcome, severity: Severity = Severity.ERROR) -> Finding:
    return Finding("TEST-001", "t", "use", severity, outcome, "m", (), "", "c", "TEST-001:t")


@pytest.mark.parametrize(("outcomes", "expected"), [
    ([], Outcome.PASS),
    ([Outcome.PASS, Outcome.PASS], Outcome.PASS),
    ([Outcome.PASS, Outcome.WARN], Outcome.WARN),
    ([Outcome.WARN, Outcome.NOT_TESTED, Outcome.PASS], Outcome.NOT_TESTED),
    ([Outcome.NOT_TESTED, Outcome.FAIL, Outcome.WARN], Outcome.FAIL),
    ([Outcome.FAIL, Outcome.PASS], Outcome.FAIL),
])
def test_pillar_outcome_worst_first(outcomes: list[Outcome], expected: Outcome) -> None:
    assert pillar_outcome([_finding(o) for o in outcomes]) is expected


def test_pillar_outcome_ignores_info_findings() -> None:
    findings = [_finding(Outcome.PASS), _finding(Outcome.WARN, Severity.INFO),
                _finding(Outcome.NOT_TESTED, Severity.INFO)]
    assert pillar_outcome(findings) is Outcome.PASS
    findings.append(_finding(Outcome.WARN, Severity.WARNING))
    assert pillar_outcome(findings) is Outcome.WARN


def pillars(pack: Pack, **outcomes: Outcome) -> list[PillarResult]:
    """Every pillar of the pack passing, except the ones named (``-`` written as ``_``)."""
    given = {k.replace("_", "-"): v for k, v in outcomes.items()}
    assert set(given) <= {p.id for p in pack.pillars}
    return [PillarResult(p.id, p.title, given.get(p.id, Outcome.PASS), p.group, ())
            for p in pack.pillars]


FAIL, WARN, NT = Outcome.FAIL, Outcome.WARN, Outcome.NOT_TESTED

VERDICTS = [
    pytest.param({}, Verdict.COMPLIANT, (), id="clean"),
    pytest.param({"code": WARN}, Verdict.POTENTIALLY_COMPLIANT, (), id="one-warning"),
    pytest.param({"study": NT}, Verdict.POTENTIALLY_COMPLIANT, (), id="not-tested-only"),
    # Unchecked evidence keeps a release from compliant but never makes it non-compliant.
    pytest.param({"use": NT, "code": NT, "parameters": NT}, Verdict.POTENTIALLY_COMPLIANT, (),
                 id="many-not-tested"),
    pytest.param({"code": FAIL, "use": NT, "parameters": NT}, Verdict.POTENTIALLY_COMPLIANT,
                 ("code",), id="one-gap-plus-unchecked-elsewhere"),
    pytest.param({"code": WARN, "data_information": WARN}, Verdict.NON_COMPLIANT, (),
                 id="doubts-in-two-groups"),
    pytest.param({"use": NT, "share": WARN}, Verdict.POTENTIALLY_COMPLIANT, (),
                 id="doubts-in-one-group"),
    pytest.param({"parameters": FAIL}, Verdict.POTENTIALLY_COMPLIANT, ("parameters",),
                 id="one-gap"),
    pytest.param({"parameters": FAIL, "code": WARN, "use": NT}, Verdict.NON_COMPLIANT,
                 ("parameters",), id="one-gap-plus-doubts-elsewhere"),
    # The weights' terms count in the terms group: a doubt there is a second group short.
    pytest.param({"parameters": FAIL, "parameter_terms": WARN}, Verdict.NON_COMPLIANT,
                 ("parameters",), id="one-gap-plus-doubt-in-terms"),
    pytest.param({"use": FAIL, "parameter_terms": WARN}, Verdict.POTENTIALLY_COMPLIANT,
                 ("terms",), id="gap-and-doubt-in-the-same-group"),
    pytest.param({"data_information": FAIL, "code": FAIL}, Verdict.NON_COMPLIANT,
                 ("data-information", "code"), id="two-gaps"),
    pytest.param({"use": FAIL, "share": FAIL}, Verdict.POTENTIALLY_COMPLIANT, ("terms",),
                 id="terms-across-use-and-share-is-one-gap"),
    pytest.param({"use": FAIL, "study": FAIL, "modify": FAIL, "share": FAIL},
                 Verdict.POTENTIALLY_COMPLIANT, ("terms",), id="all-four-freedoms-one-gap"),
    pytest.param({"use": FAIL, "share": FAIL, "code": FAIL}, Verdict.NON_COMPLIANT,
                 ("terms", "code"), id="terms-plus-code"),
]


@pytest.mark.parametrize(("outcomes", "verdict", "gaps"), VERDICTS)
def test_decide_verdict_osaid_policy(outcomes: dict[str, Outcome], verdict: Verdict,
                                     gaps: tuple[str, ...]) -> None:
    got, reason, got_gaps = decide_verdict(OSAID, pillars(OSAID, **outcomes))
    assert got is verdict
    assert got_gaps == gaps
    assert reason


def test_verdict_reason_text() -> None:
    _, reason, _ = decide_verdict(OSAID, pillars(OSAID))
    assert reason == "every pillar passes"
    _, reason, _ = decide_verdict(OSAID, pillars(OSAID, use=FAIL, share=FAIL, code=FAIL,
                                                 study=NT, parameters=WARN))
    assert reason == ("2 gaps: licence terms, code [blocked-by-terms, missing-component]; "
                      "in doubt: parameters; 1 pillar could not be checked; "
                      "1 pillar with warnings")
    _, reason, _ = decide_verdict(OSAID, pillars(OSAID, use=FAIL, code=NT, parameters=NT,
                                                 study=WARN, data_information=WARN))
    assert reason == ("1 gap: licence terms [blocked-by-terms]; in doubt: data information; "
                      "2 pillars could not be checked; 2 pillars with warnings")


def _full_facts(**overrides: Any) -> Facts:
    from openaudit.fact_specs import default_facts

    values = default_facts()
    values.update(overrides)
    return Facts(values, {k: "unknown in test" for k, v in overrides.items() if v is None})


def test_audit_counts_restrictive_terms_as_one_gap() -> None:
    target = Target("acme/x", RepoType.MODEL, "local", None, None)
    facts = _full_facts(**{"terms.restrictions": ["behavioural-use", "flow-down"],
                           "terms.text_read": True})
    report = audit(OSAID, facts, target)
    by_pillar = {p.name: p.outcome for p in report.pillars}
    assert by_pillar["use"] is Outcome.FAIL
    assert by_pillar["share"] is Outcome.FAIL
    assert report.gaps[0] == "terms"
    assert report.gaps.count("terms") == 1
    outcomes = {f.rule_id: f.outcome for f in report.findings}
    assert outcomes["USE-003"] is Outcome.FAIL
    assert outcomes["SHARE-001"] is Outcome.FAIL
    assert [f.rule_id for f in report.findings] == sorted(f.rule_id for f in report.findings)
    assert report.ruleset_digest == OSAID.digest


def test_audit_unreadable_terms_are_not_tested_not_passed() -> None:
    target = Target("acme/x", RepoType.MODEL, "local", None, None)
    facts = _full_facts(**{"terms.text_read": None})
    report = audit(OSAID, facts, target)
    finding = next(f for f in report.findings if f.rule_id == "USE-003")
    assert finding.outcome is Outcome.NOT_TESTED
    assert finding.message.endswith("unknown in test")
    assert "{" not in finding.message


def test_what_the_engine_compiles_is_held_by_each_pack_and_rule() -> None:
    """Plans and layouts live on the objects they were compiled for: a pack made from another
    (fewer rules, another policy) is judged by its own rules, however often either is used."""
    import dataclasses
    import pickle

    pack = load_ruleset().pack_for(RepoType.MODEL)
    facts = Facts({"license.stated": True}, {})
    target = Target("acme/m", RepoType.MODEL, "local", None, None)
    full = audit(pack, facts, target)
    one = dataclasses.replace(pack, rules=pack.rules[:1])
    for _ in range(2):  # judged again after the full pack: nothing stale is reused
        assert [f.rule_id for f in audit(one, facts, target).findings] == [pack.rules[0].id]
        assert len(audit(pack, facts, target).findings) == len(full.findings)
    # A judged pack still pickles (what it compiled holds closures and is rebuilt on use).
    copy = pickle.loads(pickle.dumps(one))
    assert [f.rule_id for f in audit(copy, facts, target).findings] == [pack.rules[0].id]
