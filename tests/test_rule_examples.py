"""Every rule's own pass / fail / not-tested examples, discovered and run automatically."""

from __future__ import annotations

from typing import Any

import pytest

from openaudit.engine import run_rule
from openaudit.fact_specs import default_facts
from openaudit.models import Facts, Outcome, Severity
from openaudit.packs import load_ruleset
from openaudit.ruleset import Rule

RULESET = load_ruleset()
CASES = [
    pytest.param(rule, outcome, example, id=f"{pack.id}:{rule.id}:{outcome}:{i}")
    for pack in RULESET.packs.values()
    for rule in pack.rules
    for outcome, examples in rule.examples.items()
    for i, example in enumerate(examples)
]


def _facts(example: dict[str, Any]) -> Facts:
    values = default_facts()
    values.update(example)
    unknown = {name: "example marks it unknown" for name, v in example.items() if v is None}
    return Facts(values, unknown)


@pytest.mark.parametrize(("rule", "expected", "example"), CASES)
def test_rule_example(rule: Rule, expected: str, example: dict[str, Any]) -> None:
    finding = run_rule(rule, _facts(example))
    want = Outcome(expected)
    if want is Outcome.FAIL and rule.severity is not Severity.ERROR:
        want = Outcome.WARN  # a failed warning/info rule is reported as warn
    assert finding.outcome is want, finding.message
    assert finding.message and "{" not in finding.message


def test_every_rule_has_pass_and_fail_examples() -> None:
    for pack in RULESET.packs.values():
        for rule in pack.rules:
            assert rule.examples.get("pass") and rule.examples.get("fail"), rule.id


def test_there_are_many_cases() -> None:
    # Guards against discovery silently finding nothing.
    assert len(CASES) > 60
