"""The project policy file (.openaudit.yaml): loading, strict validation, waivers, precedence."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub
from openaudit.engine import decide_verdict, pillar_results
from openaudit.errors import PolicyError, UsageError
from openaudit.exit_codes import FailOn
from openaudit.local import read_folder
from openaudit.models import AuditReport, Outcome, RepoType, Verdict
from openaudit.packs import Ruleset, load_ruleset
from openaudit.pipeline import AuditResult, judge
from openaudit.policy import (
    Policy,
    apply_policy,
    check_policy,
    effective_fail_on,
    find_policy,
    load_policy,
    policy_notes,
    rule_paths,
    today_from_env,
)
from openaudit.waivers import Waiver, apply_waivers, unread_under_waiver, unused_waivers

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
POLICIES = Path(__file__).parent / "fixtures" / "policy"
TODAY = "2026-06-01"  # before every expiry date in the fixtures; the clock never decides a test


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAUDIT_TODAY", TODAY)


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return load_ruleset()


def _copy(example: str, tmp_path: Path, name: str | None = None) -> Path:
    folder = tmp_path / (name or example)
    shutil.copytree(EXAMPLES / example, folder)
    return folder


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _waive(*rules: str, extra: str = "") -> str:
    items = "".join(f"  - {{rule: {r}, reason: \"accepted for this release\"}}\n" for r in rules)
    return f"schema_version: 1\n{extra}waivers:\n{items}"


def _report(example: str, ruleset: Ruleset, kind: RepoType = RepoType.MODEL) -> AuditReport:
    return judge(read_folder(EXAMPLES / example, kind), ruleset).report


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {p["id"]: p["outcome"] for p in report["pillars"]}


# ---- the real CLI on copies of the examples ----------------------------------------------------


def test_folder_that_passes_with_a_policy(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("open-model", tmp_path)
    _write(folder / ".openaudit.yaml", "schema_version: 1\nfail_on: potentially-compliant\n")
    result = run_cli("check", str(folder), "--format", "json")
    assert result.code == 0
    assert result.json()["verdict"] == "compliant"
    assert result.stderr == ""


def test_folder_that_fails_with_a_policy(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    _write(folder / ".openaudit.yaml", "schema_version: 1\nwaivers: []\n")
    result = run_cli("check", str(folder), "--format", "json")
    assert result.code == 1
    assert result.json()["verdict"] == "non-compliant"


def test_auto_found_waiver_recomputes_pillar_verdict_and_exit_code(run_cli: Any,
                                                                   tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    before = run_cli("check", str(folder), "--format", "json")
    assert before.code == 1 and before.json()["gaps"] == ["data-information", "code"]
    _write(folder / ".openaudit.yaml", _waive("CODE-001"))
    after = run_cli("check", str(folder), "--format", "json")
    report = after.json()
    assert after.code == 0  # one gap left: potentially-compliant passes the default threshold
    assert report["verdict"] == "potentially-compliant"
    assert report["gaps"] == ["data-information"]
    assert _outcomes(report)["code"] == "pass"  # what is left (CODE-003) is info-level
    assert "waived by policy: CODE-001" in report["verdict_reason"]
    code_001 = next(f for f in report["findings"] if f["rule_id"] == "CODE-001")
    assert code_001["outcome"] == "fail"  # still shown as it is
    assert run_cli("check", str(folder), "--no-config", "--format", "json").code == 1


def test_waiving_every_counted_failure_makes_the_folder_compliant(run_cli: Any,
                                                                  tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    _write(folder / ".openaudit.yml",  # the short extension is found too
           _waive("CODE-001", "CODE-003", "DATA-002", "DATA-003", "DATA-004"))
    result = run_cli("check", str(folder), "--format", "json", "--fail-on",
                     "potentially-compliant")
    assert result.code == 0
    report = result.json()
    assert report["verdict"] == "compliant" and report["gaps"] == []
    assert set(_outcomes(report).values()) == {"pass"}


def test_two_policy_files_in_one_folder_are_an_error(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("open-model", tmp_path)
    _write(folder / ".openaudit.yaml", "schema_version: 1\n")
    _write(folder / ".openaudit.yml", "schema_version: 1\n")
    result = run_cli("check", str(folder))
    assert result.code == 2 and ".openaudit.yml exists too" in result.stderr


def test_config_option_wins_over_the_auto_found_file(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    _write(folder / ".openaudit.yaml", _waive("CODE-001"))
    other = _write(tmp_path / "strict.yaml", "schema_version: 1\n")
    result = run_cli("check", str(folder), "--config", str(other), "--format", "json")
    assert result.code == 1 and result.json()["verdict"] == "non-compliant"
    both = run_cli("check", str(folder), "--config", str(other), "--no-config")
    assert both.code == 2 and "cannot be combined" in both.stderr


def test_config_option_with_a_shipped_fixture(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    result = run_cli("check", str(folder), "--config", str(POLICIES / "waive-code.yaml"),
                     "--format", "json")
    # The waiver lowers the verdict to potentially-compliant, which this policy's fail_on fails.
    assert result.json()["verdict"] == "potentially-compliant"
    assert result.code == 1
    assert run_cli("check", str(folder), "--config", str(POLICIES / "waive-code.yaml"),
                   "--fail-on", "non-compliant").code == 0


def test_fail_on_from_the_policy_and_the_command_line_override(run_cli: Any,
                                                               tmp_path: Path) -> None:
    folder = _copy("rail-model", tmp_path)
    assert run_cli("check", str(folder)).code == 0  # potentially-compliant, default threshold
    _write(folder / ".openaudit.yaml", "schema_version: 1\nfail_on: potentially-compliant\n")
    assert run_cli("check", str(folder)).code == 1
    assert run_cli("check", str(folder), "--fail-on", "non-compliant").code == 0
    _write(folder / ".openaudit.yaml", "schema_version: 1\nfail_on: never\n")
    weights = _copy("weights-only", tmp_path)
    shutil.copy(folder / ".openaudit.yaml", weights / ".openaudit.yaml")
    assert run_cli("check", str(weights)).code == 0
    assert run_cli("check", str(weights), "--fail-on", "non-compliant").code == 1


def test_rules_from_the_policy_are_loaded_relative_to_it(run_cli: Any, tmp_path: Path) -> None:
    policy = POLICIES / "with-org-rules.yaml"
    weights = _copy("weights-only", tmp_path)
    report = run_cli("check", str(weights), "--config", str(policy), "--format", "json").json()
    org = next(f for f in report["findings"] if f["rule_id"] == "ORG-001")
    assert org["outcome"] == "fail"  # loaded from the policy, and waived (target weights-*)
    assert "waived by policy: ORG-001" in report["verdict_reason"]
    # The same folder under another name is not covered by the target glob.
    other = _copy("weights-only", tmp_path, "release-candidate")
    plain = run_cli("check", str(other), "--config", str(policy), "--format", "json").json()
    assert "ORG-001" in {f["rule_id"] for f in plain["findings"]}
    assert "waived" not in plain["verdict_reason"]


def test_unused_waiver_is_noted_on_stderr(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("open-model", tmp_path)
    _write(folder / ".openaudit.yaml", _waive("CODE-001"))
    result = run_cli("check", str(folder), "--format", "json")
    assert result.code == 0 and result.json()["verdict"] == "compliant"
    assert "waivers[0] waives CODE-001, which passes now" in result.stderr


def test_expired_waiver_is_exit_2_naming_rule_date_and_file(run_cli: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    folder = _copy("weights-only", tmp_path)
    policy = _write(folder / ".openaudit.yaml",
                    "schema_version: 1\nwaivers:\n  - rule: CODE-001\n    reason: later\n"
                    "    expires: 2026-06-02\n")
    assert run_cli("check", str(folder)).code == 0  # the day before: still valid
    monkeypatch.setenv("OPENAUDIT_TODAY", "2026-06-02")
    result = run_cli("check", str(folder))
    assert result.code == 2
    assert str(policy) in result.stderr and "waivers[0].expires" in result.stderr
    assert "CODE-001 expired on 2026-06-02" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_bad_today_override_is_a_usage_error(run_cli: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy("open-model", tmp_path)
    _write(folder / ".openaudit.yaml", "schema_version: 1\n")
    monkeypatch.setenv("OPENAUDIT_TODAY", "tomorrow")
    result = run_cli("check", str(folder))
    assert result.code == 2 and "OPENAUDIT_TODAY" in result.stderr


def test_unknown_rule_is_exit_2_with_suggestions(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("weights-only", tmp_path)
    _write(folder / ".openaudit.yaml", _waive("DATA-03"))
    result = run_cli("check", str(folder))
    assert result.code == 2
    assert "waivers[0].rule" in result.stderr and "no rule 'DATA-03'" in result.stderr
    assert "did you mean: DATA-003" in result.stderr


_BROKEN: list[tuple[str, str, str]] = [
    ("schema_version: 1\nwaiver: []\n", "'waiver'", "did you mean 'waivers'"),
    ("waivers: []\n", "'schema_version'", "missing required key"),
    ("schema_version: 2\n", "'schema_version'", "unsupported schema_version 2"),
    ("schema_version: true\n", "'schema_version'", "unsupported schema_version True"),
    ("schema_version: 1\nwaivers: {rule: CODE-001}\n", "'waivers'", "expected a list"),
    ("schema_version: 1\nwaivers: [CODE-001]\n", "'waivers[0]'", "expected a mapping"),
    ("schema_version: 1\nwaivers:\n  - rule: CODE-001\n", "'waivers[0].reason'",
     "missing required key"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: '  '}\n", "'waivers[0].reason'",
     "expected a non-empty string, got an empty string"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: 42}\n", "'waivers[0].reason'",
     "expected a non-empty string, got a number"),
    ("schema_version: 1\nwaivers:\n  - {rule: [CODE-001], reason: x}\n", "'waivers[0].rule'",
     "got a list"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, expire: 2027-01-01}\n",
     "'waivers[0].expire'", "did you mean 'expires'"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x}\n"
     "  - {rule: DATA-002, reason: y, expires: 2027-02-30}\n", "'waivers[1].expires'",
     "'2027-02-30' is not a real date"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, expires: 31/03/2027}\n",
     "'waivers[0].expires'", "expected a date as YYYY-MM-DD"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, expires: 2027-03-31T10:00:00}\n",
     "'waivers[0].expires'", "expected a date as YYYY-MM-DD"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, expires: 20270331}\n",
     "'waivers[0].expires'", "expected a date as YYYY-MM-DD, got 20270331"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, target: ''}\n",
     "'waivers[0].target'", "expected a non-empty string"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, target: 'acme/*'}\n"
     "  - {rule: CODE-001, reason: y, target: 'acme/*'}\n", "'waivers[1]'",
     "duplicate waiver: CODE-001 on target 'acme/*' is already waived by waivers[0]"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x}\n"
     "  - {rule: CODE-001, reason: y}\n", "'waivers[1]'", "on every target"),
    ("schema_version: 1\nfail_on: always\n", "'fail_on'",
     "expected one of non-compliant, potentially-compliant, never, got 'always'"),
    ("schema_version: 1\nfail_on: no\n", "'fail_on'", "got False"),
    ("schema_version: 1\npacks: osaid-1.0\n", "'packs'", "expected a mapping, got a string"),
    ("schema_version: 1\npacks: {models: osaid-1.0}\n", "'packs.models'",
     "did you mean 'model'"),
    ("schema_version: 1\npacks: {model: ''}\n", "'packs.model'", "expected a non-empty string"),
    ("schema_version: 1\npacks: {model: osaid-9}\n", "'packs.model'",
     "unknown pack 'osaid-9' (loaded packs: dataset-openness, osaid-1.0)"),
    ("schema_version: 1\npacks: {model: dataset-openness}\n", "'packs.model'",
     "pack 'dataset-openness' judges datasets; models are judged by 'osaid-1.0'"),
    ("schema_version: 1\nrules: org-rules.yaml\n", "'rules'", "expected a list, got a string"),
    ("schema_version: 1\nrules: [policy/missing.yaml]\n", "'rules[0]'",
     "no such file or directory"),
    ("schema_version: 1\nwaivers: []\nwaivers: []\n", "", "duplicate key 'waivers'"),
    ("schema_version: 1\nwaivers: [\n", "", "invalid YAML at line"),
    ("- schema_version: 1\n", "", "expected a mapping, got a list"),
    ("", "", "is empty; expected a mapping with schema_version: 1"),
    ("schema_version: 1\nwaivers:\n  - {rule: data-003, reason: x}\n", "'waivers[0].rule'",
     "did you mean: DATA-003"),
]


@pytest.mark.parametrize(("text", "key", "message"), _BROKEN,
                         ids=[f"{i}-{m[:30]}" for i, (_, _, m) in enumerate(_BROKEN)])
def test_broken_policy_is_exit_2_naming_file_key_and_expectation(
        text: str, key: str, message: str, run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("open-model", tmp_path)
    policy = _write(folder / ".openaudit.yaml", text)
    result = run_cli("check", str(folder))
    assert result.code == 2, result.stdout
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"openaudit: error: {policy}")
    if key:
        assert f"key {key}:" in first
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_non_utf8_policy_is_exit_2(run_cli: Any, tmp_path: Path) -> None:
    folder = _copy("open-model", tmp_path)
    result = run_cli("check", str(folder), "--config", str(POLICIES / "non-utf8.yaml"))
    assert result.code == 2
    assert "non-utf8.yaml: is not valid UTF-8 (byte 0xe9" in result.stderr


@pytest.mark.parametrize(("name", "message"), [("missing.yaml", "no such file"),
                                               ("", "is a directory")])
def test_unreadable_config_path_is_exit_2(name: str, message: str, run_cli: Any,
                                          tmp_path: Path) -> None:
    result = run_cli("check", str(EXAMPLES / "open-model"), "--config", str(tmp_path / name))
    assert result.code == 2 and message in result.stderr


def test_pack_pin_accepts_a_replacement_pack_loaded_by_the_policy(run_cli: Any,
                                                                  tmp_path: Path) -> None:
    mini = ROOT / "tests" / "fixtures" / "rules" / "minimal"
    policy = _write(tmp_path / "policy.yaml", f"schema_version: 1\nrules: [{mini}]\n"
                    "packs: {model: mini-pack}\nwaivers:\n  - {rule: MINI-001, reason: x}\n")
    result = run_cli("check", str(EXAMPLES / "open-model"), "--config", str(policy),
                     "--format", "json")
    assert result.code == 0, result.stderr
    assert result.json()["ruleset"]["pack"] == "mini-pack"


# ---- the Hub commands with --config ------------------------------------------------------------


@pytest.mark.e2e
def test_model_config_through_the_fake_hub(run_cli: Any, hub_env: dict[str, str],
                                           tmp_path: Path) -> None:
    repo = "dunecrest-institute/dune-7b"
    plain = run_cli("model", repo, "--format", "json", "--fail-on", "potentially-compliant")
    assert plain.code == 1 and plain.json()["gaps"] == ["code"]
    policy = _write(tmp_path / "policy.yaml", "schema_version: 1\nfail_on: potentially-compliant"
                    "\nwaivers:\n  - {rule: CODE-001, reason: internal framework, "
                    "target: 'DuneCrest-Institute/*'}\n")
    one = run_cli("model", repo, "--config", str(policy), "--format", "json")
    assert one.code == 0  # the only gap is waived; info findings (CODE-003) never count
    assert one.json()["verdict"] == "compliant" and one.json()["gaps"] == []
    assert one.json()["verdict_reason"] == "every pillar passes; waived by policy: CODE-001"
    other = run_cli("model", "lanternworks/lumen-1.4b", "--config", str(policy))
    assert other.code == 0 and other.stderr == ""  # not covered by the glob: no note


@pytest.mark.e2e
def test_policy_errors_surface_before_any_hub_request(run_cli: Any, hub_env: dict[str, str],
                                                      fake_hub: FakeHub, tmp_path: Path) -> None:
    policy = _write(tmp_path / "policy.yaml", "schema_version: 1\nwaivers:\n"
                    "  - {rule: CODE-001, reason: x, expires: 2026-01-01}\n")
    result = run_cli("model", "dunecrest-institute/dune-7b", "--config", str(policy))
    assert result.code == 2 and "expired on 2026-01-01" in result.stderr
    assert fake_hub.requests == []


@pytest.mark.e2e
def test_dataset_config_through_the_fake_hub(run_cli: Any, hub_env: dict[str, str],
                                             tmp_path: Path) -> None:
    repo = "harborline/harbor-qa"
    assert run_cli("dataset", repo, "--format", "json").json()["gaps"] == ["licence"]
    policy = _write(tmp_path / "policy.yaml", _waive("DS-LIC-003", extra="fail_on: never\n"))
    result = run_cli("dataset", repo, "--config", str(policy), "--format", "json")
    assert result.code == 0
    assert result.json()["gaps"] == []
    assert "waived by policy: DS-LIC-003" in result.json()["verdict_reason"]


# ---- the pure core -----------------------------------------------------------------------------


def test_apply_waivers_recomputes_exactly_as_the_engine(ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    for finding in report.findings:
        if finding.outcome is Outcome.PASS:
            continue
        waived = apply_waivers(report, pack, [Waiver(finding.rule_id, "ok")])
        # Same pillars and verdict as if the engine had never seen the waived finding.
        rest = [f for f in report.findings if f.rule_id != finding.rule_id]
        expected_pillars = pillar_results(pack, rest)
        assert [(p.name, p.outcome) for p in waived.pillars] == [
            (p.name, p.outcome) for p in expected_pillars]
        verdict, reason, gaps = decide_verdict(pack, expected_pillars)
        assert (waived.verdict, waived.gaps) == (verdict, gaps)
        assert waived.verdict_reason == f"{reason}; waived by policy: {finding.rule_id}"
        assert [p.rule_ids for p in waived.pillars] == [p.rule_ids for p in report.pillars]
        marked = [f for f in waived.findings if f.waiver is not None]
        assert [(f.rule_id, f.waiver, f.outcome) for f in marked] == [
            (finding.rule_id, "ok", finding.outcome)]


def test_apply_waivers_verdict_steps(ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    assert report.verdict is Verdict.NON_COMPLIANT
    # DATA-004 still warns: a gap (code) plus a doubt (data information) is two groups short
    gap_and_doubt = apply_waivers(report, pack, [Waiver("DATA-002", "a"), Waiver("DATA-003", "b")])
    assert gap_and_doubt.verdict is Verdict.NON_COMPLIANT and gap_and_doubt.gaps == ("code",)
    one_gap = apply_waivers(report, pack, [Waiver("DATA-002", "a"), Waiver("DATA-003", "b"),
                                           Waiver("DATA-004", "c")])
    assert one_gap.verdict is Verdict.POTENTIALLY_COMPLIANT
    assert one_gap.gaps == ("code",) and one_gap.reason_families == ("missing-component",)
    everything = apply_waivers(report, pack, [Waiver(r, "x") for r in (
        "CODE-001", "CODE-003", "DATA-002", "DATA-003", "DATA-004")])
    assert everything.verdict is Verdict.COMPLIANT
    assert everything.gaps == () and everything.reason_families == ()
    assert everything.verdict_reason.startswith("every pillar passes; waived by policy: CODE-001")
    assert report.verdict is Verdict.NON_COMPLIANT  # the input is untouched


def test_apply_waivers_leaves_passing_and_uncovered_findings_alone(ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    assert apply_waivers(report, pack, [Waiver("USE-001", "passes anyway")]) == report
    assert apply_waivers(report, pack, [Waiver("CODE-001", "x", target="acme/*")]) == report
    glob = apply_waivers(report, pack, [Waiver("CODE-001", "x", target="WEIGHTS-*")])
    assert glob.gaps == ("data-information",)  # globs ignore case


def test_first_matching_waiver_gives_the_reason(ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    waived = apply_waivers(report, pack, [Waiver("CODE-001", "first", target="weights-*"),
                                          Waiver("CODE-001", "second")])
    assert next(f for f in waived.findings if f.rule_id == "CODE-001").waiver == "first"


def test_a_waiver_never_accepts_a_not_tested_finding(ruleset: Ruleset) -> None:
    report = _report("open-model", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    findings = tuple(replace(f, outcome=Outcome.NOT_TESTED) if f.rule_id == "STUDY-002" else f
                     for f in report.findings)
    unread = replace(report, findings=findings, verdict=Verdict.POTENTIALLY_COMPLIANT)
    pillars = pillar_results(pack, list(findings))
    assert decide_verdict(pack, pillars)[0] is Verdict.POTENTIALLY_COMPLIANT
    waivers = [Waiver("STUDY-002", "gated mirror", where="waivers[0]")]
    assert apply_waivers(unread, pack, waivers) == unread  # evidence never read keeps counting
    study = next(f for f in apply_waivers(unread, pack, waivers).findings
                 if f.rule_id == "STUDY-002")
    assert study.outcome is Outcome.NOT_TESTED and study.waiver is None
    # Neither "unused" (the rule did not pass) nor silent: a note names the rule and the target.
    assert unused_waivers(waivers, [unread]) == []
    assert unread_under_waiver(waivers, [unread, report]) == [(waivers[0], "open-model")]
    notes = policy_notes(Policy(Path("p.yaml"), waivers=tuple(waivers)), [unread])
    assert notes == ["p.yaml: waivers[0] waives STUDY-002, but STUDY-002 was not tested on "
                     "open-model and still counts: waivers never cover evidence that could not "
                     "be read"]


def test_a_waiver_still_accepts_failing_and_warning_findings_beside_unread_ones(
        ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    pack = ruleset.pack_for(RepoType.MODEL)
    findings = tuple(replace(f, outcome=Outcome.NOT_TESTED) if f.rule_id == "CODE-002" else f
                     for f in report.findings)
    waived = apply_waivers(replace(report, findings=findings), pack,
                           [Waiver("CODE-001", "x"), Waiver("CODE-002", "x")])
    by_id = {f.rule_id: f for f in waived.findings}
    assert by_id["CODE-001"].waiver == "x" and by_id["CODE-002"].waiver is None
    code = next(p for p in waived.pillars if "CODE-002" in p.rule_ids)
    assert code.outcome is Outcome.NOT_TESTED  # the unread CODE-002 still counts
    assert waived.verdict_reason.endswith("waived by policy: CODE-001")


def test_unread_evidence_under_a_waiver_is_noted_by_the_cli(run_cli: Any,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "malformed-yaml"  # its card's YAML cannot be read: USE-001 not tested
    shutil.copytree(Path(__file__).parent / "fixtures/hub/models/edge-cases/malformed-yaml",
                    folder)
    plain = run_cli("check", str(folder), "--format", "json").json()
    _write(folder / ".openaudit.yaml", _waive("USE-001", "CODE-001"))
    result = run_cli("check", str(folder), "--format", "json")
    report = result.json()
    use = next(f for f in report["findings"] if f["rule_id"] == "USE-001")
    assert use["outcome"] == "not-tested" and use["waiver"] is None
    assert report["summary"]["not-tested"] == plain["summary"]["not-tested"]
    assert report["verdict_reason"].endswith("waived by policy: CODE-001")
    assert ("note: " + str(folder / ".openaudit.yaml") + ": waivers[0] waives USE-001, but "
            "USE-001 was not tested on malformed-yaml and still counts: waivers never cover "
            "evidence that could not be read") in result.stderr
    assert "CODE-001, but" not in result.stderr


def test_apply_waivers_refuses_another_pack(ruleset: Ruleset) -> None:
    report = _report("weights-only", ruleset)
    with pytest.raises(ValueError, match=r"osaid-1\.0"):
        apply_waivers(report, ruleset.pack_for(RepoType.DATASET), [])


def test_unused_waivers(ruleset: Ruleset) -> None:
    reports = [_report("weights-only", ruleset), _report("open-model", ruleset)]
    used = Waiver("CODE-001", "x")  # fails in weights-only
    stale = Waiver("USE-001", "x")  # passes in both
    elsewhere = Waiver("USE-001", "x", target="acme/*")  # covers neither
    other_pack = Waiver("DS-LIC-001", "x")  # no report of that pack
    assert unused_waivers([used, stale, elsewhere, other_pack], reports) == [stale]


def test_apply_policy_keeps_the_type_and_checks_first(ruleset: Ruleset, tmp_path: Path) -> None:
    result = judge(read_folder(EXAMPLES / "weights-only", RepoType.MODEL), ruleset)
    policy = Policy(tmp_path / "p.yaml", waivers=(
        Waiver("CODE-001", "x", expires=date(2026, 6, 2), where="waivers[0]"),))
    waived = apply_policy(result, policy, ruleset, date(2026, 6, 1))
    assert isinstance(waived, AuditResult) and waived.facts is result.facts
    assert waived.report.gaps == ("data-information",)
    assert apply_policy(result.report, policy, ruleset, date(2026, 6, 1)) == waived.report
    with pytest.raises(PolicyError, match=r"waivers\[0\]\.expires.*expired on 2026-06-02"):
        apply_policy(result, policy, ruleset, date(2026, 6, 2))
    with pytest.raises(PolicyError, match="expired"):
        check_policy(policy, ruleset, date(2027, 1, 1))


def test_load_policy_resolves_everything(tmp_path: Path) -> None:
    policy = load_policy(POLICIES / "with-org-rules.yaml")
    assert policy.packs == {RepoType.MODEL: "osaid-1.0", RepoType.DATASET: "dataset-openness"}
    assert policy.rules == (POLICIES / "org-rules.yaml",)
    assert policy.fail_on is None
    assert policy.waivers == (Waiver("ORG-001", "Evaluation section is written by the eval team",
                                     None, "weights-*", "waivers[0]"),)
    code = load_policy(POLICIES / "waive-code.yaml")
    assert code.fail_on is FailOn.POTENTIALLY_COMPLIANT
    assert code.waivers[0].expires == date(2027, 3, 31)
    quoted = load_policy(_write(tmp_path / "q.yaml", "schema_version: 1\nwaivers:\n"
                                "  - {rule: A-001, reason: x, expires: '2027-01-02'}\n"))
    assert quoted.waivers[0].expires == date(2027, 1, 2)


def test_rule_paths_and_fail_on_precedence() -> None:
    policy = Policy(Path("p.yaml"), rules=(Path("a.yaml"),), fail_on=FailOn.NEVER)
    assert rule_paths(policy, [Path("b.yaml")]) == (Path("a.yaml"), Path("b.yaml"))
    assert rule_paths(None, [Path("b.yaml")]) == (Path("b.yaml"),)
    assert effective_fail_on(None, policy) is FailOn.NEVER
    assert effective_fail_on(FailOn.NON_COMPLIANT, policy) is FailOn.NON_COMPLIANT
    assert effective_fail_on(None, Policy(Path("p.yaml"))) is FailOn.NON_COMPLIANT
    assert effective_fail_on(None, None) is FailOn.NON_COMPLIANT


def test_find_policy(tmp_path: Path) -> None:
    assert find_policy(tmp_path) is None
    _write(tmp_path / ".openaudit.yml", "schema_version: 1\n")
    assert find_policy(tmp_path) == tmp_path / ".openaudit.yml"


def test_today_from_env() -> None:
    assert today_from_env({"OPENAUDIT_TODAY": "2027-03-31"}) == date(2027, 3, 31)
    assert today_from_env({}) == date.today()
    with pytest.raises(UsageError):
        today_from_env({"OPENAUDIT_TODAY": "2027-02-30"})


def test_policy_notes_name_the_file_and_waiver(ruleset: Ruleset) -> None:
    policy = Policy(Path("proj/.openaudit.yaml"),
                    waivers=(Waiver("USE-001", "x", where="waivers[0]"),))
    assert policy_notes(policy, [_report("open-model", ruleset)]) == [
        "proj/.openaudit.yaml: waivers[0] waives USE-001, which passes now; the waiver can go"]
