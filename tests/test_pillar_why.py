"""Each pillar says why it came out as it did, and a rule that is not met never reads as met."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openaudit.models import Finding, Outcome, PillarResult, Severity
from openaudit.render.base import first_sentence, headline, pillar_why

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
F, W, P, NT = Outcome.FAIL, Outcome.WARN, Outcome.PASS, Outcome.NOT_TESTED
E, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _f(rule_id: str, outcome: Outcome, message: str, severity: Severity = E,
       waiver: str | None = None) -> Finding:
    return Finding(rule_id, "The thing is published", "code", severity, outcome, message, (), "",
                   "c", f"{rule_id}:x", waiver)


def _pillar(outcome: Outcome, *findings: Finding) -> PillarResult:
    return PillarResult("code", "Code", outcome, "code", tuple(f.rule_id for f in findings))


def test_a_failing_pillar_names_its_first_failing_requirement_and_counts_the_rest() -> None:
    # as the engine reports them: a failed warning-severity rule is a warn
    findings = [_f("CODE-003", W, "No processing code. Seen: none.", WARNING),
                _f("CODE-001", F, "No training code found: nothing links it. Code links: none."),
                _f("CODE-002", F, "No inference code."), _f("CODE-004", W, "x", INFO),
                _f("CODE-005", F, "Old code.", waiver="accepted")]
    why = pillar_why(_pillar(F, *findings), findings)
    # the failing rules decide, in rule order; the warning, the info rule and the waived one
    # do not (the waived one is named as waived)
    assert why == ("CODE-001: No training code found: nothing links it. "
                   "(+1 more: CODE-002) (waived: CODE-005)")


def test_a_passing_pillar_names_its_requirement_and_waivers_are_said() -> None:
    findings = [_f("CODE-003", P, "Processing code: a.", WARNING),
                _f("CODE-001", F, "No training code.", waiver="ships in v2"),
                _f("CODE-002", P, "Inference code: transformers.")]
    assert pillar_why(_pillar(P, *findings), findings) == (
        "CODE-002: Inference code: transformers. (waived: CODE-001)")


def test_a_pillar_left_with_only_advisory_rules_says_so() -> None:
    findings = [_f("CODE-004", W, "No evaluation code.", INFO)]
    assert pillar_why(_pillar(P, *findings), findings) == "no counted rule applies"
    assert pillar_why(_pillar(P), []) == "no rule ran"


def test_other_pillars_findings_are_not_read() -> None:
    mine, other = _f("CODE-001", NT, "Could not read README.md."), _f("USE-001", F, "No licence.")
    assert pillar_why(_pillar(NT, mine), [other, mine]) == "CODE-001: Could not read README.md."


@pytest.mark.parametrize(("message", "sentence"), [
    ("One. Two.", "One."),
    ("Use e.g. MIT. Then more.", "Use e.g. MIT."),
    ("Made in the U.S. Then more.", "Made in the U.S. Then more."),  # no safe cut: whole
    ("About approx. Two. Three.", "About approx. Two."),
    ("Files: a.bin and b.pt. Next one.", "Files: a.bin and b.pt."),
    ("See https://x.example/a.b then text. More.", "See https://x.example/a.b then text."),
    ("Files: model.safetensors, x.bin.", "Files: model.safetensors, x.bin."),
    ("no stop at all", "no stop at all"),
    ("x" * 300, "x" * 179 + "…"),
])
def test_first_sentence(message: str, sentence: str) -> None:
    assert first_sentence(message) == sentence


@pytest.mark.parametrize(("outcome", "title"), [
    (F, "CODE-001 not met: The thing is published"),
    (W, "CODE-001 in doubt: The thing is published"),
    (NT, "CODE-001 not checked: The thing is published"),
    (P, "CODE-001 The thing is published"),
])
def test_headline_never_presents_a_failure_as_the_good_state(outcome: Outcome,
                                                              title: str) -> None:
    assert headline(_f("CODE-001", outcome, "m")) == title


def test_every_format_carries_the_why(run_cli: Any) -> None:
    folder = str(EXAMPLES / "weights-only")
    report = run_cli("check", folder, "--format", "json").json()
    why = {p["id"]: p["why"] for p in report["pillars"]}
    assert why["code"].startswith("CODE-001: No training code found")
    assert why["data-information"].startswith("DATA-002: ") and "(+1 more: DATA-003)" in why[
        "data-information"]
    assert why["parameters"] == "PARAM-001: Parameter files are published: model.safetensors."
    markdown = run_cli("check", folder, "--format", "markdown").stdout
    assert "| Pillar | Outcome | Why |" in markdown
    assert ("| Code (training and inference) | ❌ fail | CODE-001: No training code found"
            in markdown)
    assert "**`CODE-001` not met: The training code is published**" in markdown
    table = run_cli("check", folder, "--format", "table").stdout
    flat = " ".join(table.replace("│", " ").split())  # cells wrap at the terminal's width
    assert "Why" in flat and "PARAM-001: Parameter files are" in flat
    github = run_cli("check", folder, "--format", "github").stdout
    assert "title=CODE-001 not met%3A The training code is published::" in github
    assert json.dumps(report).count('"why"') == len(report["pillars"])


@pytest.mark.parametrize(("folder", "pack"), [("open-dataset", "dataset-openness"),
                                              ("open-model", "osaid-1.0")])
def test_the_footer_names_the_pack_that_judged_the_report(folder: str, pack: str,
                                                          run_cli: Any) -> None:
    for fmt in ("table", "markdown"):
        out = " ".join(run_cli("check", str(EXAMPLES / folder), "--format", fmt).stdout.split())
        assert f"evidence-based reading by the {pack} rules, not a certification" in out
        assert "reading of OSAID" not in out  # a dataset report is not an OSAID reading
