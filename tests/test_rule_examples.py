"""Every rule's own pass / fail / not-tested examples, discovered and run automatically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openaudit.engine import run_rule
from openaudit.fact_specs import default_facts
from openaudit.facts import build_facts
from openaudit.local import read_folder
from openaudit.models import Facts, Finding, Outcome, RepoType, Severity
from openaudit.packs import load_ruleset
from openaudit.ruleset import CardExample, Rule

RULESET = load_ruleset()
CASES = [
    pytest.param(rule, outcome, example, id=f"{pack.id}:{rule.id}:{outcome}:{i}")
    for pack in RULESET.packs.values()
    for rule in pack.rules
    for outcome, examples in rule.examples.items()
    for i, example in enumerate(examples)
]


CARD_CASES = [
    pytest.param(rule, pack.applies_to, outcome, card, id=f"{pack.id}:{rule.id}:card-{outcome}:{i}")
    for pack in RULESET.packs.values()
    for rule in pack.rules
    for outcome, cards in rule.cards.items()
    for i, card in enumerate(cards)
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


def _expected(rule: Rule, outcome: str) -> Outcome:
    want = Outcome(outcome)
    return Outcome.WARN if want is Outcome.FAIL and rule.severity is not Severity.ERROR else want


def card_finding(rule: Rule, repo_type: RepoType, card: CardExample, folder: Path) -> Finding:
    """The rule's finding on the card as `openaudit check` reads it: files written to a folder,
    read by the folder reader, turned into facts by the real fact builders."""
    folder.mkdir()
    (folder / "README.md").write_text(card.readme, encoding="utf-8")
    for name, text in card.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    snapshot = read_folder(folder, repo_type)
    return run_rule(rule, build_facts(snapshot, RULESET.catalogue, RULESET.signals))


@pytest.mark.parametrize(("rule", "repo_type", "expected", "card"), CARD_CASES)
def test_rule_card_example(rule: Rule, repo_type: RepoType, expected: str, card: CardExample,
                           tmp_path: Path) -> None:
    finding = card_finding(rule, repo_type, card, tmp_path / "card")
    assert finding.outcome is _expected(rule, expected), finding.message


def test_card_examples_show_both_sides_where_they_are_given() -> None:
    with_cards = [rule for pack in RULESET.packs.values() for rule in pack.rules if rule.cards]
    assert len(with_cards) >= 8  # the rules real cards most often trip on
    for rule in with_cards:
        # A rule whose failing side needs evidence beyond one card shows "could not check".
        assert rule.cards.get("pass") and (rule.cards.get("fail")
                                           or rule.cards.get("not-tested")), rule.id


def test_every_rule_has_pass_and_fail_examples() -> None:
    for pack in RULESET.packs.values():
        for rule in pack.rules:
            assert rule.examples.get("pass") and rule.examples.get("fail"), rule.id


def test_there_are_many_cases() -> None:
    # Guards against discovery silently finding nothing.
    assert len(CASES) > 60
