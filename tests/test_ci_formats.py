"""Machine output formats for CI: SARIF, GitHub workflow commands, JUnit, PR-comment Markdown.

Every SARIF log is validated against the official OASIS schema (tests/data/), every JSON report
against the published report schema. Waived findings are built with ``dataclasses.replace`` on a
real report, and the verdict recomputed by the engine, as a project policy would.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from openaudit.engine import decide_verdict, pillar_results
from openaudit.exit_codes import FailOn, exit_code_for
from openaudit.models import AuditReport, Evidence, RepoType
from openaudit.packs import load_ruleset
from openaudit.pipeline import AuditResult, audit_folder
from openaudit.render import OutputFormat, RenderContext, renderer_for
from openaudit.render.github import GithubRenderer, escape_data, escape_property
from openaudit.render.markdown import COMMENT_MARKER
from openaudit.render.table import TableRenderer
from openaudit.ruleset import Pack

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HUB = ROOT / "tests" / "fixtures" / "hub"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
REPORT_SCHEMA = json.loads(
    (resources.files("openaudit") / "schemas" / "report.schema.json").read_text())
# (folder relative to the repo root, verdict, exit code with the default --fail-on)
CASES = {
    "passing": ("examples/open-model", "compliant", 0),
    "failing": ("examples/weights-only", "non-compliant", 1),
    # one gap (code) and the licence unreadable: unchecked evidence never makes it non-compliant
    "not-tested": ("tests/fixtures/hub/models/edge-cases/malformed-yaml", "potentially-compliant",
                   0),
}
COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")
NASTY = "100% sure: a, b\r\nnext line, 50%0A"  # %, CR/LF, commas, colons, a fake escape


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """File locations are relative to the current directory: pin it."""
    monkeypatch.chdir(ROOT)


def validate_sarif(log: dict[str, Any]) -> None:
    """Validate with the draft the schema declares and with draft 7 (adds uri-reference)."""
    for cls in (jsonschema.validators.validator_for(SARIF_SCHEMA), jsonschema.Draft7Validator):
        cls(SARIF_SCHEMA, format_checker=cls.FORMAT_CHECKER).validate(log)


def unescape(text: str) -> str:
    """What the Actions runner does to a command's message or property."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def command_props(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match["props"].split(","))
    return match[1], {k: unescape(v) for k, v in props.items()}, unescape(match["message"])


def audit(folder: str) -> tuple[AuditResult, Pack]:
    ruleset = load_ruleset()
    result = audit_folder(ROOT / folder, RepoType.MODEL, ruleset)
    return result, ruleset.pack_for(RepoType.MODEL)


def render(fmt: OutputFormat, report: AuditReport, context: RenderContext | None = None) -> str:
    out = io.StringIO()
    renderer_for(fmt, context).render(report, out)
    return out.getvalue()


def waive(report: AuditReport, pack: Pack, reasons: dict[str, str]) -> AuditReport:
    """Waive findings as a project policy does: mark them, recompute pillars and verdict."""
    findings = [replace(f, waiver=reasons.get(f.rule_id)) for f in report.findings]
    pillars = pillar_results(pack, findings)
    verdict, reason, gaps = decide_verdict(pack, pillars)
    return replace(report, findings=tuple(findings), pillars=tuple(pillars), verdict=verdict,
                   verdict_reason=reason, gaps=gaps)


@pytest.fixture(scope="module")
def waived() -> Iterator[tuple[AuditReport, AuditReport, RenderContext]]:
    """weights-only with its three failures and one warning waived (reasons full of escapes)."""
    result, pack = audit("examples/weights-only")
    reasons = {"CODE-001": "Training code ships in v2: tracked in #12, owner: data-team",
               "DATA-002": "Sources listed in the paper, 100% public",
               "DATA-003": "Pipeline documented\nin the tech report, section 3",
               "DATA-004": NASTY}
    context = RenderContext(pack=pack, base_dir="examples/weights-only",
                            files=frozenset(result.snapshot.files))
    yield result.report, waive(result.report, pack, reasons), context


# ---- the shipped schema --------------------------------------------------------------------


def test_the_shipped_sarif_schema_is_the_official_oasis_one() -> None:
    raw = (ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == (
        "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e")
    assert SARIF_SCHEMA["title"] == (
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema")
    assert SARIF_SCHEMA["id"] == ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                                  "schemas/sarif-schema-2.1.0.json")
    jsonschema.validators.validator_for(SARIF_SCHEMA).check_schema(SARIF_SCHEMA)
    jsonschema.Draft7Validator.check_schema(SARIF_SCHEMA)


def test_sarif_validation_rejects_what_the_schema_forbids() -> None:
    """The validation in these tests can fail: bad level, bad URI, missing message."""
    result, pack = audit("examples/weights-only")
    log = json.loads(render(OutputFormat.SARIF, result.report, RenderContext(pack=pack)))
    validate_sarif(log)
    breakers: list[Callable[[dict[str, Any]], object]] = [
        lambda r: r.update(level="fatal"), lambda r: r.pop("message"),
        lambda r: r["locations"][0]["physicalLocation"]["artifactLocation"].update(uri="a b%zz")]
    for breaks in breakers:
        bad = json.loads(json.dumps(log))
        breaks(bad["runs"][0]["results"][0])
        with pytest.raises(jsonschema.ValidationError):
            validate_sarif(bad)


# ---- every format through the real CLI -----------------------------------------------------


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("case", list(CASES))
def test_every_format_through_the_cli(case: str, fmt: OutputFormat, run_cli: Any) -> None:
    folder, verdict, code = CASES[case]
    result = run_cli("check", folder, "--repo-type", "model", "--format", fmt.value)
    assert result.code == code, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert str(ROOT) not in out  # no absolute paths
    report = run_cli("check", folder, "--repo-type", "model", "--format", "json").json()
    non_pass = [f for f in report["findings"] if f["outcome"] != "pass"]
    if fmt is OutputFormat.JSON:
        jsonschema.validate(json.loads(out), REPORT_SCHEMA)
    elif fmt is OutputFormat.SARIF:
        log = json.loads(out)
        validate_sarif(log)
        assert log["runs"][0]["properties"]["verdict"] == verdict
        assert len(log["runs"][0]["results"]) == len(non_pass)
    elif fmt is OutputFormat.GITHUB:
        lines = out.splitlines()
        assert len(lines) == len(non_pass) + 1
        assert all(COMMAND.match(line) for line in lines[:-1])
        assert lines[-1].startswith(f"openaudit: {verdict} for model ")
    elif fmt is OutputFormat.JUNIT:
        suite = ET.fromstring(out).find("testsuite")
        assert suite is not None
        assert int(suite.get("tests", -1)) == len(report["findings"])
        assert int(suite.get("failures", -1)) == report["summary"]["fail"]
        assert int(suite.get("skipped", -1)) == report["summary"]["not-tested"]
    elif fmt is OutputFormat.MARKDOWN:
        assert out.startswith(f"## openaudit: `{verdict}`")
        assert out.rstrip().endswith(COMMENT_MARKER) and out.count(COMMENT_MARKER) == 1
    else:
        assert verdict.upper() in out


def test_a_passing_folder_gives_an_empty_sarif_run_and_only_a_summary(run_cli: Any) -> None:
    log = json.loads(run_cli("check", "examples/open-model", "--format", "sarif").stdout)
    assert log["runs"][0]["results"] == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == 35  # every rule that ran
    out = run_cli("check", "examples/open-model", "--format", "github").stdout
    assert out.splitlines() == [out.strip()] and "35 passed" in out
    assert "<failure" not in run_cli("check", "examples/open-model", "--format", "junit").stdout


def test_sarif_results_levels_rules_and_locations(run_cli: Any) -> None:
    log = json.loads(run_cli("check", "examples/weights-only", "--format", "sarif").stdout)
    run = log["runs"][0]
    levels = {r["ruleId"]: (r["kind"], r["level"]) for r in run["results"]}
    assert levels == {"CODE-001": ("fail", "error"), "DATA-002": ("fail", "error"),
                      "DATA-003": ("fail", "error"), "CODE-003": ("fail", "warning"),
                      "CODE-004": ("fail", "warning"), "DATA-004": ("fail", "warning"),
                      "PARAM-003": ("fail", "warning")}
    assert [r["ruleId"] for r in run["results"]] == sorted(levels)
    data3 = next(r for r in run["results"] if r["ruleId"] == "DATA-003")
    where = data3["locations"][0]["physicalLocation"]
    assert where == {"artifactLocation": {"uri": "examples/weights-only/README.md",
                                          "uriBaseId": "%SRCROOT%"},
                     "region": {"startLine": _line_of(EXAMPLES / "weights-only" / "README.md",
                                                      "## Training Data")}}
    assert {loc["id"] for loc in data3["relatedLocations"]} == set(range(1, 6))
    # a finding with no file evidence is placed on the card, saying so
    code1 = next(r for r in run["results"] if r["ruleId"] == "CODE-001")
    card = code1["locations"][0]
    assert card["physicalLocation"]["artifactLocation"]["uri"] == "examples/weights-only/README.md"
    assert card["physicalLocation"]["region"] == {"startLine": 1}  # code scanning needs a line
    assert card["message"]["text"].startswith("No file evidence: fact code.training")
    # rule metadata comes from the pack
    ruleset = load_ruleset()
    pack = ruleset.pack_for(RepoType.MODEL)
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    rule = pack.rule("CODE-001")
    assert rule is not None
    meta = rules["CODE-001"]
    assert meta["shortDescription"]["text"] == rule.title
    assert meta["fullDescription"]["text"] == rule.rationale
    assert meta["help"]["text"] == rule.fix and rule.fix in meta["help"]["markdown"]
    assert meta["helpUri"] == rule.references[0]
    assert meta["properties"] == {"clause": rule.clause, "pillar": "code", "severity": "error",
                                  "pack": "osaid-1.0", "tags": ["osaid-1.0", "code"]}
    assert run["results"][0]["ruleIndex"] == list(rules).index(run["results"][0]["ruleId"])
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("openaudit", "1.0.0")
    assert driver["informationUri"].startswith("https://")


def test_not_tested_findings_are_honest_review_results(run_cli: Any) -> None:
    folder = CASES["not-tested"][0]
    report = run_cli("check", folder, "--format", "json").json()
    not_tested = sorted(f["rule_id"] for f in report["findings"] if f["outcome"] == "not-tested")
    assert len(not_tested) == 18
    log = json.loads(run_cli("check", folder, "--format", "sarif").stdout)
    review = [r for r in log["runs"][0]["results"] if r["kind"] == "review"]
    assert sorted(r["ruleId"] for r in review) == not_tested
    # SARIF §3.27.10: a result whose kind is not "fail" has level "none"
    assert {r["level"] for r in review} == {"none"}
    assert all(r["message"]["text"].startswith("Could not ") for r in review)
    assert not any("Could not check: Could not" in r["message"]["text"] for r in review)
    lines = run_cli("check", folder, "--format", "github").stdout.splitlines()
    checks = {command_props(line)[1]["title"].split()[0]: line for line in lines[:-1]
              if "::Could not " in line}
    assert sorted(checks) == not_tested
    assert all(line.startswith("::warning ") for line in checks.values())
    suite = ET.fromstring(run_cli("check", folder, "--format", "junit").stdout)[0]
    skipped = [c.get("name", "").split()[0] for c in suite.iter("testcase")
               if c.find("skipped") is not None]
    assert sorted(skipped) == not_tested
    md = run_cli("check", folder, "--format", "markdown").stdout
    assert "### ❔ Not tested (could not check) (18)" in md


def test_file_locations_follow_the_current_directory(run_cli: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES / "weights-only")
    log = json.loads(run_cli("check", ".", "--format", "sarif").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]}
    assert uris == {"README.md"}
    monkeypatch.chdir(EXAMPLES)
    out = run_cli("check", "weights-only", "--format", "github").stdout
    assert "::error file=weights-only/README.md,line=30,title=DATA-003 " in out  # Training Data


def test_sarif_and_github_from_the_fake_hub_use_repo_paths(hub_env: dict[str, str],
                                                         run_cli: Any) -> None:
    endpoint = hub_env["HF_ENDPOINT"]
    result = run_cli("model", "polyglot-commons/chorus-7b1", "--endpoint", endpoint,
                     "--format", "sarif")
    assert result.code == 0
    log = json.loads(result.stdout)
    validate_sarif(log)
    use3 = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "USE-003")
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"]
            for loc in use3["locations"] + use3["relatedLocations"]]
    assert uris[0] == "README.md" and set(uris) == {"README.md", "LICENSE"}  # repo-relative
    assert use3["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 40}
    assert len(log["runs"][0]["properties"]["target"]["sha"]) == 40
    assert endpoint not in result.stdout and hub_env["HF_HOME"] not in result.stdout
    out = run_cli("model", "polyglot-commons/chorus-7b1", "--endpoint", endpoint,
                  "--format", "github").stdout
    assert re.search(r"^::error file=README.md,line=2,title=USE-003 ", out, re.M)


def test_outputs_are_deterministic(run_cli: Any) -> None:
    for fmt in ("sarif", "github", "junit", "markdown"):
        first = run_cli("check", "examples/rail-model", "--format", fmt).stdout
        assert first == run_cli("check", "examples/rail-model", "--format", fmt).stdout


# ---- waived findings -----------------------------------------------------------------------


def test_waiving_changes_the_verdict_and_exit_code(
        waived: tuple[AuditReport, AuditReport, RenderContext]) -> None:
    before, after, _ = waived
    assert before.verdict.value == "non-compliant"
    assert exit_code_for([before.verdict], FailOn.NON_COMPLIANT) == 1
    # what remains is info-level (optional evaluation code, checkpoints): it never counts
    assert after.gaps == () and after.verdict.value == "compliant"
    assert exit_code_for([after.verdict], FailOn.NON_COMPLIANT) == 0


def test_waived_findings_in_sarif_are_suppressed_with_the_reason(
        waived: tuple[AuditReport, AuditReport, RenderContext]) -> None:
    _, report, context = waived
    log = json.loads(render(OutputFormat.SARIF, report, context))
    validate_sarif(log)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert len(results) == 7  # still reported
    for finding in report.findings:
        if finding.waiver is not None:
            assert results[finding.rule_id]["suppressions"] == [
                {"kind": "external", "status": "accepted", "justification": finding.waiver}]
    assert "suppressions" not in results["PARAM-003"]
    assert results["DATA-004"]["suppressions"][0]["justification"] == NASTY


def test_waived_findings_in_github_are_notices_with_the_reason(
        waived: tuple[AuditReport, AuditReport, RenderContext]) -> None:
    _, report, context = waived
    lines = render(OutputFormat.GITHUB, report, context).splitlines()
    assert len(lines) == 8  # 7 findings, one line each whatever their text holds, + summary
    notices = [command_props(line) for line in lines if line.startswith("::notice ")]
    assert len(notices) == 4
    for _, props, message in notices:
        assert props["title"].endswith("(waived)")
        assert message.startswith("Waived by project policy: ")
    nasty = next(m for _, p, m in notices if p["title"].startswith("DATA-004 "))
    assert nasty.startswith(f"Waived by project policy: {NASTY}. Finding (warn): ")
    assert lines[-1].endswith("(0 failed, 0 not tested, 3 warnings, 28 passed, 4 waived)")


def test_waived_findings_in_junit_pass_with_a_waiver_property(
        waived: tuple[AuditReport, AuditReport, RenderContext]) -> None:
    before, report, context = waived
    root = ET.fromstring(render(OutputFormat.JUNIT, report, context))
    suite = root[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("35", "0", "0")
    assert ET.fromstring(render(OutputFormat.JUNIT, before, context))[0].get("failures") == "3"
    cases = {c.get("name", "").split()[0]: c for c in suite.iter("testcase")}
    data3 = cases["DATA-003"]
    assert data3.find("failure") is None
    props = {p.get("name"): p.get("value") for p in data3.iter("property")}
    assert props == {"waiver": "Pipeline documented\nin the tech report, section 3",
                     "outcome": "fail"}
    out = data3.findtext("system-out") or ""
    assert out.startswith("waived (fail): Pipeline documented\nin the tech report")
    warn = cases["PARAM-003"].findtext("system-out") or ""
    assert warn.startswith("warning: No intermediate checkpoints")
    assert cases["CODE-002"].find("system-out") is None  # a pass says nothing


def test_waived_findings_in_markdown_table_and_json(
        waived: tuple[AuditReport, AuditReport, RenderContext]) -> None:
    _, report, context = waived
    md = render(OutputFormat.MARKDOWN, report, context)
    section = md.split("### 🔕 Waived by project policy (4)", 1)[1].split("<details>", 1)[0]
    assert "`CODE-001`" in section and "**waived:** Training code ships in v2" in section
    assert "Pipeline documented in the tech report, section 3" in section  # one line
    assert "### ❌ Failing" not in md  # nothing left to fix but the warnings
    assert "### ⚠️ Warnings (3)" in md
    wide = io.StringIO()
    TableRenderer(width=400).render(report, wide)
    assert "waived: Training code ships in v2: tracked in #12, owner: data-team" in wide.getvalue()
    assert "waived" in render(OutputFormat.TABLE, report, context)
    doc = json.loads(render(OutputFormat.JSON, report, context))
    jsonschema.validate(doc, REPORT_SCHEMA)
    waivers = {f["rule_id"]: f["waiver"] for f in doc["findings"]}
    assert waivers["DATA-004"] == NASTY and waivers["PARAM-003"] is None
    assert sum(w is not None for w in waivers.values()) == 4


def test_a_real_policy_waiver_reaches_every_format(run_cli: Any) -> None:
    """examples/gated-release waives USE-008 in its .openaudit.yaml (the real policy code)."""
    folder = "examples/gated-release"
    report = run_cli("check", folder, "--format", "json").json()
    use8 = next(f for f in report["findings"] if f["rule_id"] == "USE-008")
    assert use8["outcome"] == "warn" and use8["waiver"].startswith("The click-through gate")
    result = run_cli("check", folder, "--format", "sarif")
    assert result.code == 0
    log = json.loads(result.stdout)
    validate_sarif(log)
    (only,) = log["runs"][0]["results"]
    assert only["ruleId"] == "USE-008" and only["level"] == "warning"
    assert only["suppressions"][0]["justification"] == use8["waiver"]
    lines = run_cli("check", folder, "--format", "github").stdout.splitlines()
    assert lines[0].startswith(
        "::notice file=examples/gated-release/README.md,line=11,title=USE-008 ")  # extra_gated_
    assert lines[-1].startswith("openaudit: compliant ") and lines[-1].endswith("1 waived)")
    suite = ET.fromstring(run_cli("check", folder, "--format", "junit").stdout)[0]
    assert suite.get("failures") == "0"
    waivers = [p.get("value") for p in suite.iter("property") if p.get("name") == "waiver"]
    assert waivers == [use8["waiver"]]


# ---- escaping ------------------------------------------------------------------------------


def test_workflow_command_escaping_matches_the_runner() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext%3A a%2Cb"
    assert unescape(escape_property(NASTY)) == NASTY
    result, _ = audit("examples/weights-only")
    finding = replace(next(f for f in result.report.findings if f.rule_id == "DATA-003"),
                      title="Costs: 100%, maybe", message=NASTY, fix="Add it, then: push",
                      evidence=(Evidence("docs/a,b:c.md", 3, "x"),))
    context = RenderContext(base_dir="my model", files={"docs/a,b:c.md"})
    line = GithubRenderer(context).command(finding)
    assert line == ("::error file=my model/docs/a%2Cb%3Ac.md,line=3,title=DATA-003 not met%3A "
                    "Costs%3A 100%25%2C maybe::100%25 sure: a, b%0D%0Anext line, 50%250A "
                    "(fix: Add it, then: push)")
    name, props, message = command_props(line)
    assert (name, props["file"], props["title"]) == ("error", "my model/docs/a,b:c.md",
                                                      "DATA-003 not met: Costs: 100%, maybe")
    assert message == f"{NASTY} (fix: Add it, then: push)"


def test_hostile_text_cannot_break_sarif_junit_or_markdown() -> None:
    result, pack = audit("examples/weights-only")
    hostile = "a | b <!-- openaudit-report --> `code` </details> <script>\x01\x1b & ]]>\n# H"
    findings = tuple(
        replace(f, message=hostile, evidence=(Evidence("dir name/100% a.md", 2, hostile),))
        if f.rule_id == "DATA-003" else f for f in result.report.findings)
    report = replace(result.report, findings=findings)
    context = RenderContext(pack=pack, files={"dir name/100% a.md"})
    log = json.loads(render(OutputFormat.SARIF, report, context))
    validate_sarif(log)
    data3 = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "DATA-003")
    uri = data3["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%20name/100%25%20a.md"
    shown = hostile.replace("\x01", "\\x01").replace("\x1b", "\\x1b")  # escaped, visible
    assert data3["message"]["text"] == shown
    suite = ET.fromstring(render(OutputFormat.JUNIT, report, context))[0]
    failure = next(c for c in suite.iter("testcase")
                   if c.get("name", "").startswith("DATA-003")).find("failure")
    assert failure is not None
    assert failure.get("message") == shown
    md = render(OutputFormat.MARKDOWN, report, context)
    assert md.count(COMMENT_MARKER) == 1 and len(re.findall(r"(?<!\\)<!--", md)) == 1
    assert md.count("</details>") == 1 and "<script>" not in md
    line = next(x for x in md.splitlines() if x.startswith("- **`DATA-003`"))
    assert "a \\| b \\<!-- openaudit-report --\\> \\`code\\` \\</details\\>" in line
    assert "\\<script\\>\\\\x01\\\\x1b \\& \\]\\]\\>" in line  # controls shown escaped
    assert "# H" in line  # the newline was flattened: no heading starts


MENTIONS = ("cc @octocat and @acme/release-team, see https://x.example/a, WWW.x.example, "
            "ftp://f.example, #123 and mail me@x.example")


def test_markdown_text_from_the_repo_notifies_nobody_and_links_nowhere() -> None:
    result, pack = audit("examples/weights-only")
    findings = tuple(replace(f, message=MENTIONS, evidence=(Evidence("README.md", 3, MENTIONS),))
                     if f.rule_id == "DATA-003" else f for f in result.report.findings)
    report = replace(result.report, findings=findings)
    md = render(OutputFormat.MARKDOWN, report, RenderContext(pack=pack, files={"README.md"}))
    line = next(x for x in md.splitlines() if x.startswith("- **`DATA-003`"))
    evidence = md.splitlines()[md.splitlines().index(line) + 1]
    for shown in (line, evidence):
        assert MENTIONS in shown.replace("\u2060", "")  # the same visible text...
        # ...but GitHub finds no mention, issue reference, e-mail address or URL in it
        assert not re.search(r"@[A-Za-z0-9]|#\d|[a-z]://|www\.", shown, re.IGNORECASE), shown
    assert "@\u2060octocat" in line and "https\u2060://x.example/a" in line


def test_every_renderer_works_without_a_context() -> None:
    result, _ = audit("examples/rail-model")
    for fmt in OutputFormat:
        assert render(fmt, result.report)
    log = json.loads(render(OutputFormat.SARIF, result.report))
    validate_sarif(log)
    use3 = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "USE-003")
    assert use3["fullDescription"]["text"] == use3["shortDescription"]["text"]  # no pack
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]}
    assert "LICENSE" in uris  # a file told by the shape of its name


# ---- the JSON schema over every fixture ----------------------------------------------------


def _fixture_repos() -> list[str]:
    return sorted(p.relative_to(HUB).as_posix() for p in HUB.glob("*/*/*") if p.is_dir())


def _example_folders() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "README.md").is_file())


@pytest.mark.parametrize("repo", _fixture_repos())
def test_every_golden_fixture_report_matches_the_schema(repo: str, run_cli: Any) -> None:
    kind = "dataset" if repo.startswith("datasets/") else "model"
    result = run_cli("check", str(HUB / repo), "--repo-type", kind, "--format", "json")
    assert result.code in (0, 1), result.stderr
    report = result.json()
    jsonschema.validate(report, REPORT_SCHEMA)
    assert all("waiver" in f for f in report["findings"])


@pytest.mark.e2e
def test_every_golden_fixture_from_the_fake_hub_matches_the_schema(hub_env: dict[str, str],
                                                                 run_cli: Any) -> None:
    repos = _fixture_repos()
    assert len(repos) >= 29
    for repo in repos:
        kind, repo_id = repo.split("/", 1)
        result = run_cli(kind[:-1], repo_id, "--endpoint", hub_env["HF_ENDPOINT"],
                         "--format", "json")
        assert result.code in (0, 1), (repo, result.stderr)
        jsonschema.validate(result.json(), REPORT_SCHEMA)


@pytest.mark.parametrize("name", _example_folders())
def test_every_example_report_matches_the_schema(name: str, run_cli: Any) -> None:
    result = run_cli("check", f"examples/{name}", "--format", "json")
    assert result.code in (0, 1), result.stderr
    jsonschema.validate(result.json(), REPORT_SCHEMA)


def test_the_report_schema_rejects_a_bad_waiver(run_cli: Any) -> None:
    report = run_cli("check", "examples/open-model", "--format", "json").json()
    report["findings"][0]["waiver"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, REPORT_SCHEMA)
    del report["findings"][0]["waiver"]  # reports from before waivers still validate
    jsonschema.validate(report, REPORT_SCHEMA)



# ---- policy files (valid, expired, unknown rule, broken) through every format -----------------

TODAY = "2026-06-01"
_VALID_WAIVERS = ("schema_version: 1\nwaivers:\n"
                  "  - {rule: CODE-001, reason: 'Training code ships in v2, see #12', "
                  "expires: 2026-06-02}\n"
                  "  - {rule: DATA-002, reason: Sources are listed in the paper}\n"
                  "  - {rule: DATA-003, reason: Pipeline in the tech report,"
                  " target: 'weights-*'}\n")
# (policy text, exit code, what stderr must say): the three error cases exit 2 before auditing
POLICY_CASES = {
    "valid-waivers": (_VALID_WAIVERS, 0, ""),
    "expired-waiver": (_VALID_WAIVERS.replace("2026-06-02", "2026-06-01"), 2,
                       "key 'waivers[0].expires': the waiver for CODE-001 expired on 2026-06-01"),
    "unknown-rule": (_VALID_WAIVERS.replace("DATA-002", "DATA-02"), 2,
                     "key 'waivers[1].rule': no rule 'DATA-02'"),
    "broken-policy": ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x\n", 2,
                      "invalid YAML at line"),
}
_WAIVED = {"CODE-001", "DATA-002", "DATA-003"}


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("case", list(POLICY_CASES))
def test_every_policy_case_through_every_format(case: str, fmt: OutputFormat, run_cli: Any,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """weights-only with its three failures waived by a real .openaudit.yaml, or a bad one."""
    monkeypatch.setenv("OPENAUDIT_TODAY", TODAY)
    text, code, error = POLICY_CASES[case]
    folder = Path(shutil.copytree(EXAMPLES / "weights-only", tmp_path / "weights-only"))
    policy = folder / ".openaudit.yaml"
    policy.write_text(text, encoding="utf-8")
    result = run_cli("check", str(folder), "--format", fmt.value)
    assert result.code == code, result.stderr
    assert "Traceback" not in result.stderr
    if code == 2:  # nothing audited: a message naming the file and key, and no report at all
        assert result.stdout == ""
        assert result.stderr.startswith(f"openaudit: error: {policy}")
        assert error in result.stderr
        return
    assert result.stderr == ""
    out = result.stdout
    if fmt is OutputFormat.JSON:
        doc = json.loads(out)
        jsonschema.validate(doc, REPORT_SCHEMA)
        assert doc["verdict"] == "potentially-compliant" and doc["gaps"] == []
        waived = {f["rule_id"]: f for f in doc["findings"] if f["waiver"] is not None}
        assert set(waived) == _WAIVED
        assert {f["outcome"] for f in waived.values()} == {"fail"}  # shown as they are
        assert waived["CODE-001"]["waiver"] == "Training code ships in v2, see #12"
    elif fmt is OutputFormat.SARIF:
        log = json.loads(out)
        validate_sarif(log)
        results = log["runs"][0]["results"]
        assert len(results) == 7  # every non-pass finding, waived or not
        suppressed = {r["ruleId"] for r in results if "suppressions" in r}
        assert suppressed == _WAIVED
        assert log["runs"][0]["properties"]["verdict"] == "potentially-compliant"
    elif fmt is OutputFormat.GITHUB:
        lines = out.splitlines()
        notices = {command_props(line)[1]["title"].split()[0] for line in lines
                   if line.startswith("::notice ")}
        assert notices == _WAIVED and not any(line.startswith("::error") for line in lines)
        assert lines[-1].startswith("openaudit: potentially-compliant ")
        assert lines[-1].endswith("4 warnings, 28 passed, 3 waived)")
    elif fmt is OutputFormat.JUNIT:
        suite = ET.fromstring(out)[0]
        assert (suite.get("tests"), suite.get("failures")) == ("35", "0")
        waivers = {c.get("name", "").split()[0] for c in suite.iter("testcase")
                   if any(p.get("name") == "waiver" for p in c.iter("property"))}
        assert waivers == _WAIVED
    elif fmt is OutputFormat.MARKDOWN:
        assert out.startswith("## openaudit: `potentially-compliant`")
        waived_part = out.split("### 🔕 Waived by project policy (3)", 1)[1]
        # the policy file comes from the checkout too: its "#12" links no issue
        assert "**waived:** Training code ships in v2, see #\u206012" in waived_part
        assert "### ❌ Failing" not in out
    else:
        assert "POTENTIALLY-COMPLIANT" in out and "waived" in out


def test_a_failing_folder_without_a_local_file_annotates_the_card(run_cli: Any) -> None:
    """A local finding with no file evidence is annotated on README.md, like in SARIF."""
    lines = run_cli("check", "examples/weights-only", "--format", "github").stdout.splitlines()
    code1 = next(line for line in lines if "title=CODE-001 " in line)
    assert code1.startswith("::error file=examples/weights-only/README.md,title=CODE-001 ")
    assert all(command_props(line)[1]["file"].startswith("examples/weights-only/")
               for line in lines[:-1])


def test_sarif_rules_cite_the_osaid_definition(run_cli: Any) -> None:
    """Every osaid-1.0 rule that cites an OSAID clause links the definition in its help text."""
    log = json.loads(run_cli("check", "examples/weights-only", "--format", "sarif").stdout)
    cited = [r for r in log["runs"][0]["tool"]["driver"]["rules"]
             if r["properties"]["clause"].startswith("OSAID 1.0")]
    assert len(cited) >= 25
    for rule in cited:
        assert "<https://opensource.org/ai/open-source-ai-definition>" in rule["help"]["markdown"]
        assert rule["help"]["text"] and rule["helpUri"].startswith("https://")


def test_not_tested_findings_say_to_unblock_the_check_before_the_rule_fix(run_cli: Any) -> None:
    folder = CASES["not-tested"][0]
    fix = "First remove what stopped the check (see the message) and run openaudit again; "
    report = run_cli("check", folder, "--format", "json").json()
    use1 = next(f for f in report["findings"] if f["rule_id"] == "USE-001")
    assert use1["outcome"] == "not-tested" and use1["fix"]  # JSON keeps the rule's own fix
    github = run_cli("check", folder, "--format", "github").stdout
    line = next(x for x in github.splitlines() if "title=USE-001 " in x)
    assert command_props(line)[2].endswith(f"(fix: {fix}if the rule then fails: {use1['fix']})")
    junit = ET.fromstring(run_cli("check", folder, "--format", "junit").stdout)
    case = next(c for c in junit.iter("testcase") if c.get("name", "").startswith("USE-001 "))
    assert f"fix: {fix}if the rule then fails: " in (case.findtext("system-out") or "")
    markdown = run_cli("check", folder, "--format", "markdown").stdout
    assert "  - Fix: First remove what stopped the check" in markdown
    failing = run_cli("check", "examples/weights-only", "--format", "github").stdout
    assert "First remove what stopped" not in failing  # a plain failure gets the rule's fix


def test_every_sarif_location_has_a_start_line_for_code_scanning(run_cli: Any) -> None:
    for folder in ("examples/weights-only", "examples/rail-model", CASES["not-tested"][0]):
        log = json.loads(run_cli("check", folder, "--format", "sarif").stdout)
        results = log["runs"][0]["results"]
        assert results
        for result in results:
            for loc in result["locations"] + result.get("relatedLocations", []):
                assert loc["physicalLocation"]["region"]["startLine"] >= 1, result["ruleId"]


# ---- evidence lines that CI annotations rely on (produced by facts.py / terms.py) -------------


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_licence_section_evidence_points_at_its_readme_line(run_cli: Any) -> None:
    report = run_cli("check", "examples/rail-model", "--format", "json").json()
    use3 = next(f for f in report["findings"] if f["rule_id"] == "USE-003")
    (item,) = [e for e in use3["evidence"] if e["source"] == "README.md (licence section)"]
    assert item["line"] == _line_of(EXAMPLES / "rail-model" / "README.md",
                                    "Attachment A lists use restrictions")


def test_gating_evidence_points_at_the_front_matter_key(run_cli: Any) -> None:
    report = run_cli("check", "examples/gated-release", "--format", "json").json()
    use8 = next(f for f in report["findings"] if f["rule_id"] == "USE-008")
    lines = {e["line"] for e in use8["evidence"] if e["source"].startswith("README.md")}
    assert _line_of(EXAMPLES / "gated-release" / "README.md", "extra_gated_prompt:") in lines
