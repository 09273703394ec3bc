"""CI integrations: the GitHub Action, the example workflow, GitLab CI, pre-commit, the custom
rule pack and shell completion.

Each file is parsed for its structure, then the `openaudit` command lines it really runs are
executed, with the installed console script, on the shipped example folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from openaudit.engine import run_rule
from openaudit.fact_specs import default_facts
from openaudit.models import Facts, Outcome, Severity
from openaudit.packs import load_ruleset
from openaudit.ruleset import Rule

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CI = EXAMPLES / "ci"
BIN = Path(sys.executable).parent
OPENAUDIT = BIN / "openaudit"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
WORKFLOW = yaml.safe_load((CI / "github-workflow.yml").read_text(encoding="utf-8"))
GITLAB = yaml.safe_load((CI / "gitlab-ci.yml").read_text(encoding="utf-8"))
PRE_COMMIT = yaml.safe_load((CI / "pre-commit-config.yaml").read_text(encoding="utf-8"))
ORG_RULES = CI / "org-rules.yaml"

# Every repository folder under examples/: verdict, and exit code with the default threshold
# (a folder's .openaudit.yaml may raise the threshold and waive findings).
EXAMPLE_FOLDERS = {
    "open-model": ("compliant", 0),
    "rail-model": ("potentially-compliant", 0),
    "weights-only": ("non-compliant", 1),
    "open-dataset": ("compliant", 0),
    "gated-release": ("compliant", 0),
}
# On YAML 1.1, pyyaml reads the workflow key `on:` as True.
WORKFLOW_ON = WORKFLOW.get("on", WORKFLOW.get(True))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GITHUB_", "INPUT_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", HF_HUB_OFFLINE="1",
               NO_COLOR="1", COLUMNS="120")
    env.update(extra)
    return env


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=_env(**env), text=True,
                          capture_output=True, check=False, timeout=120)


def _copy_example(name: str, tmp_path: Path) -> Path:
    """A fresh copy, so a command run with cwd there writes its reports into tmp_path."""
    return Path(shutil.copytree(EXAMPLES / name, tmp_path / name))


def _outputs(path: Path) -> dict[str, str]:
    """GitHub's output file as a mapping, read as the runner does: `name=value` lines, and
    `name<<DELIMITER` followed by the value's lines up to a line that is exactly DELIMITER."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    outputs: dict[str, str] = {}
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)  # the runner fails the step without one
            outputs[name], lines = "\n".join(lines[:end]), lines[end + 1:]
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def _assert_sarif(text: str) -> dict[str, Any]:
    sarif: dict[str, Any] = json.loads(text)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "openaudit"
    return sarif


# ---- the published schemas (vendored by check-jsonschema: no network) ---------------------------


@pytest.mark.parametrize(("schema", "path"), [
    ("vendor.github-actions", ROOT / "action.yml"),
    ("vendor.github-workflows", CI / "github-workflow.yml"),
    ("vendor.gitlab-ci", CI / "gitlab-ci.yml"),
])
def test_ci_files_match_their_published_schema(schema: str, path: Path, tmp_path: Path) -> None:
    command = [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)]
    result = subprocess.run(command, env=_env(), text=True, capture_output=True, check=False,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    broken = tmp_path / path.name  # the validator does reject a broken file
    broken.write_text(path.read_text(encoding="utf-8").replace("steps:", "stepz:", 1)
                      .replace("script:", "script: 5\n  bogus:", 1), encoding="utf-8")
    command[-1] = str(broken)
    assert subprocess.run(command, env=_env(), capture_output=True, check=False,
                          timeout=120).returncode == 1


# ---- the composite GitHub Action -------------------------------------------------------------


def _step(step_id: str) -> dict[str, Any]:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)


def _action_env(step: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    """The step's env, with `${{ inputs.X }}` resolved the way the runner does."""
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    values = {**defaults, **inputs}
    resolved = {}
    for name, expr in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expr)
        assert match, f"{name} must be exactly one input: {expr}"
        resolved[name] = values[match.group(1)]
    return resolved


def _run_audit_step(cwd: Path, tmp_path: Path,
                    **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    step = _step("audit")
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    result = _bash(step["run"], cwd, **_action_env(step, inputs), GITHUB_OUTPUT=str(output),
                   GITHUB_STEP_SUMMARY=str(summary))
    return result, _outputs(output), summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_action_declares_its_inputs_outputs_and_steps() -> None:
    assert ACTION["runs"]["using"] == "composite"
    inputs = ACTION["inputs"]
    assert set(inputs) >= {"path", "fail-on", "format", "config", "sarif-file", "version"}
    assert inputs["path"]["default"] == "."
    assert inputs["format"]["default"] == "github"
    assert inputs["version"]["default"] == "" and inputs["sarif-file"]["default"] == ""
    # Empty fail-on lets the policy file's fail_on apply; the CLI's default is non-compliant.
    assert inputs["fail-on"]["default"] == ""
    assert "non-compliant" in inputs["fail-on"]["description"]
    for name in ("exit-code", "verdict", "sarif-file"):
        assert ACTION["outputs"][name]["value"] == f"${{{{ steps.audit.outputs.{name} }}}}"
    setup = ACTION["runs"]["steps"][0]
    assert setup["uses"].startswith("actions/setup-python@")
    version = inputs["python-version"]["default"]
    assert tuple(int(p) for p in version.split(".")) >= (3, 11)
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    for name in inputs:  # every input is wired to a step
        assert f"${{{{ inputs.{name} }}}}" in text, name


def test_action_never_interpolates_into_shell() -> None:
    runs = [s for s in ACTION["runs"]["steps"] if "run" in s]
    assert len(runs) == 2
    for step in runs:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], step.get("name")  # values arrive via env only
        for var in step["env"]:
            assert f'"${var}"' in step["run"], var  # and are always quoted


def test_action_installs_its_own_checkout_or_the_given_spec(tmp_path: Path) -> None:
    step = next(s for s in ACTION["runs"]["steps"] if s.get("name") == "Install openaudit")
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "calls"
    for tool in ("python", "openaudit"):  # record the calls instead of installing anything
        shim = shims / tool
        shim.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n', encoding="utf-8")
        shim.chmod(0o755)
    env = {"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    for spec, wanted in (("", str(ROOT)), ("openaudit @ git+https://example.org/o@v1",
                                          "openaudit @ git+https://example.org/o@v1")):
        log.unlink(missing_ok=True)
        resolved = {k: v.replace("${{ inputs.version }}", spec)
                    .replace("${{ github.action_path }}", str(ROOT))
                    for k, v in step["env"].items()}
        result = _bash(step["run"], tmp_path, **resolved, **env)
        assert result.returncode == 0, result.stderr
        calls = log.read_text(encoding="utf-8").splitlines()
        assert calls[0].startswith("python -m pip install") and calls[0].endswith(wanted)
        assert calls[1] == "openaudit --version"


@pytest.mark.parametrize("name", sorted(EXAMPLE_FOLDERS))
def test_action_audit_step_on_every_example(name: str, tmp_path: Path) -> None:
    verdict, code = EXAMPLE_FOLDERS[name]
    folder = _copy_example(name, tmp_path)
    result, outputs, summary = _run_audit_step(folder, tmp_path, **{"sarif-file": "out.sarif"})
    assert result.returncode == code, result.stderr
    assert outputs["exit-code"] == str(code)
    assert outputs["verdict"] == verdict
    assert outputs["sarif-file"] == "out.sarif"
    _assert_sarif((folder / "out.sarif").read_text(encoding="utf-8"))
    assert f"`{verdict}`" in summary  # the Markdown report is the job summary
    if code:
        assert "::error" in result.stdout  # github format: annotations in the log


def test_action_passes_fail_on_and_config(tmp_path: Path) -> None:
    folder = _copy_example("rail-model", tmp_path)
    result, outputs, _ = _run_audit_step(folder, tmp_path, **{"fail-on": "potentially-compliant"})
    assert (result.returncode, outputs["exit-code"]) == (1, "1")
    assert "sarif-file" not in outputs  # none asked for

    # An explicit config file outside the folder: its fail_on applies, then its waiver.
    gated = _copy_example("gated-release", tmp_path)
    (gated / ".openaudit.yaml").unlink()
    plain, outputs, _ = _run_audit_step(gated, tmp_path)
    assert plain.returncode == 0 and outputs["verdict"] == "potentially-compliant"
    policy = tmp_path / "policy.yaml"
    policy.write_text("schema_version: 1\nfail_on: potentially-compliant\n", encoding="utf-8")
    strict, outputs, _ = _run_audit_step(gated, tmp_path, config=str(policy))
    assert strict.returncode == 1 and outputs["verdict"] == "potentially-compliant"
    policy.write_text("schema_version: 1\nfail_on: potentially-compliant\nwaivers:\n"
                      "  - {rule: USE-008, reason: the click-through adds no terms}\n",
                      encoding="utf-8")
    waived, outputs, _ = _run_audit_step(gated, tmp_path, config=str(policy))
    assert waived.returncode == 0 and outputs["verdict"] == "compliant"


def test_action_reports_errors_without_a_verdict(tmp_path: Path) -> None:
    folder = _copy_example("open-model", tmp_path)
    (folder / ".openaudit.yaml").write_text("schema_version: 1\nwaivers:\n  - {rule: DATA-003, "
                                            "reason: x, expires: 2000-01-01}\n", encoding="utf-8")
    result, outputs, summary = _run_audit_step(folder, tmp_path, **{"sarif-file": "out.sarif"})
    assert result.returncode == 2 and outputs["exit-code"] == "2"
    assert "verdict" not in outputs and "sarif-file" not in outputs
    assert not (folder / "out.sarif").exists() and summary == ""


def test_action_sarif_file_in_a_new_folder_or_unwritable(tmp_path: Path) -> None:
    folder = _copy_example("weights-only", tmp_path)
    result, outputs, _ = _run_audit_step(folder, tmp_path, **{"sarif-file": "reports/a.sarif"})
    assert result.returncode == 1 and outputs["sarif-file"] == "reports/a.sarif"
    _assert_sarif((folder / "reports" / "a.sarif").read_text(encoding="utf-8"))
    (folder / "blocker").write_text("a file, not a folder", encoding="utf-8")
    again = tmp_path / "again"  # fresh GITHUB_OUTPUT and summary files
    again.mkdir()
    result, outputs, _ = _run_audit_step(folder, again, **{"sarif-file": "blocker/a.sarif"})
    assert result.returncode == 2 and outputs["exit-code"] == "2"  # asked for, not written
    assert "sarif-file" not in outputs and "cannot write the SARIF file" in result.stderr


def test_action_prints_policy_notes_once(tmp_path: Path) -> None:
    folder = _copy_example("open-model", tmp_path)
    (folder / ".openaudit.yaml").write_text(
        "schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: not needed}\n",
        encoding="utf-8")
    result, outputs, _ = _run_audit_step(folder, tmp_path)
    assert result.returncode == 0 and outputs["verdict"] == "compliant"
    assert result.stderr.count("waives CODE-001, which passes now") == 1


def test_action_inputs_cannot_inject_shell(tmp_path: Path) -> None:
    hostile = '$(touch injected) `touch injected`; touch injected "'
    result, outputs, _ = _run_audit_step(tmp_path, tmp_path, path=hostile, format=hostile)
    assert result.returncode == 2 and outputs["exit-code"] == "2"
    assert not (tmp_path / "injected").exists()


@pytest.mark.parametrize("name", ["sarif-file", "path", "config", "format", "fail-on"])
def test_action_refuses_line_breaks_in_inputs(name: str, tmp_path: Path) -> None:
    folder = _copy_example("weights-only", tmp_path)  # non-compliant: the step must fail
    defaults = {"path": ".", "format": "github", "fail-on": "non-compliant", "config": "",
                "sarif-file": "out.sarif"}
    forged = {**defaults, name: defaults[name] + "\nverdict=compliant\r\nexit-code=0"}
    result, outputs, summary = _run_audit_step(folder, tmp_path, **forged)
    assert result.returncode == 2 and outputs == {"exit-code": "2"}  # nothing forged
    assert f"the {name} input contains a line break" in result.stderr
    assert summary == "" and not list(folder.rglob("*.sarif"))


def test_action_outputs_use_a_fresh_unguessable_delimiter(tmp_path: Path) -> None:
    folder = _copy_example("weights-only", tmp_path)
    result, outputs, _ = _run_audit_step(folder, tmp_path, **{"sarif-file": "out.sarif"})
    assert result.returncode == 1
    assert outputs == {"verdict": "non-compliant", "sarif-file": "out.sarif", "exit-code": "1"}
    lines = (tmp_path / "github_output").read_text(encoding="utf-8").splitlines()
    heads = [line for line in lines if "<<" in line]
    assert [h.split("<<")[0] for h in heads] == ["verdict", "sarif-file", "exit-code"]
    delimiters = [h.split("<<")[1] for h in heads]
    assert all(re.fullmatch(r"openaudit_[0-9a-f]{32}", d) for d in delimiters)
    assert len(set(delimiters)) == 3  # a new one for every output
    assert len(lines) == 9  # head, value, delimiter: no `name=value` line to forge


def test_action_path_starting_with_a_dash_is_a_path(tmp_path: Path) -> None:
    # Read as an option, "--help" would print help and exit 0: a silent pass.
    shutil.copytree(EXAMPLES / "weights-only", tmp_path / "--help")
    result, outputs, summary = _run_audit_step(tmp_path, tmp_path, path="--help")
    assert result.returncode == 1 and outputs["verdict"] == "non-compliant", result.stderr
    assert "Usage:" not in result.stdout and "`non-compliant`" in summary


# ---- the example GitHub workflow -------------------------------------------------------------


def test_workflow_uses_the_action_and_uploads_sarif(tmp_path: Path) -> None:
    assert set(WORKFLOW_ON) == {"push", "pull_request"}
    assert WORKFLOW["permissions"]["security-events"] == "write"
    steps = WORKFLOW["jobs"]["audit"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    audit = next(s for s in steps if re.fullmatch(r"[\w.-]+/openaudit@[\w.-]+", s.get("uses", "")))
    assert set(audit["with"]) <= set(ACTION["inputs"])
    upload = next(s for s in steps if s.get("uses", "").startswith(
        "github/codeql-action/upload-sarif@"))
    assert "always()" in upload["if"]  # a failing verdict still uploads its findings
    assert upload["with"]["sarif_file"] == f"${{{{ steps.{audit['id']}.outputs.sarif-file }}}}"

    # Run the action's audit step with the workflow's inputs, in a checkout of a model repo.
    folder = _copy_example("gated-release", tmp_path)
    inputs = {k: str(v) for k, v in audit["with"].items()}
    result, outputs, summary = _run_audit_step(folder, tmp_path, **inputs)
    assert result.returncode == 0, result.stderr  # the folder's policy waives its one warning
    assert outputs["verdict"] == "compliant"
    # The waived finding is still shown, marked waived, in every report the workflow produces.
    assert "USE-008" in summary and "waived" in summary.lower()
    assert re.search(r"^::notice [^\n]*USE-008[^\n]*\(waived\)", result.stdout, re.M)
    sarif = _assert_sarif((folder / outputs["sarif-file"]).read_text(encoding="utf-8"))
    (waived,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "USE-008"]
    assert waived["suppressions"][0]["status"] == "accepted"


# ---- the README's "Use in CI" snippets ---------------------------------------------------------


def _readme_snippets() -> dict[str, str]:
    """The README's CI snippets (yaml blocks in "Use in CI"), keyed by their first comment."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Use in CI\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return {block.splitlines()[0].removeprefix("# ").strip(): block for block in blocks}


def test_readme_ci_snippets_are_valid_files(tmp_path: Path) -> None:
    """Copied as written, each README snippet is a valid file of its kind."""
    snippets = _readme_snippets()
    assert set(snippets) == {".github/workflows/openaudit.yml", ".gitlab-ci.yml",
                             ".pre-commit-config.yaml"}
    for name, schema in ((".github/workflows/openaudit.yml", "vendor.github-workflows"),
                         (".gitlab-ci.yml", "vendor.gitlab-ci")):
        path = tmp_path / Path(name).name
        path.write_text(snippets[name], encoding="utf-8")
        command = [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)]
        result = subprocess.run(command, env=_env(), text=True, capture_output=True,
                                check=False, timeout=120)
        assert result.returncode == 0, name + result.stdout + result.stderr
    for text in snippets.values():
        assert "pip install openaudit" not in text  # the PyPI name is another project's


def test_readme_workflow_snippet_runs_the_action_like_the_example(tmp_path: Path) -> None:
    workflow = yaml.safe_load(_readme_snippets()[".github/workflows/openaudit.yml"])
    assert set(workflow.get("on", workflow.get(True))) == {"push", "pull_request"}
    steps = workflow["jobs"]["audit"]["steps"]
    audit = next(s for s in steps if s.get("uses", "").startswith("OWNER/openaudit@"))
    assert set(audit["with"]) <= set(ACTION["inputs"])
    upload = steps[-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == f"${{{{ steps.{audit['id']}.outputs.sarif-file }}}}"
    folder = _copy_example("weights-only", tmp_path)
    inputs = {k: str(v) for k, v in audit["with"].items()}
    result, outputs, _ = _run_audit_step(folder, tmp_path, **inputs)
    assert result.returncode == 1 and outputs["verdict"] == "non-compliant"
    _assert_sarif((folder / outputs["sarif-file"]).read_text(encoding="utf-8"))


def test_readme_gitlab_and_pre_commit_snippets_run(tmp_path: Path) -> None:
    snippets = _readme_snippets()
    job = yaml.safe_load(snippets[".gitlab-ci.yml"])["openaudit"]
    install, command = job["script"]
    assert re.fullmatch(r'pip install "openaudit @ git\+https://github\.com/OWNER/openaudit@'
                        r'v[\d.]+"', install)
    report = job["artifacts"]["reports"]["junit"]
    for name, code in (("weights-only", 1), ("open-model", 0)):
        folder = _copy_example(name, tmp_path)
        result = _bash(command, folder)
        assert result.returncode == code, result.stderr
        assert ET.parse(folder / report).getroot().find(".//testcase") is not None
    (repo,) = yaml.safe_load(snippets[".pre-commit-config.yaml"])["repos"]
    (configured,) = repo["hooks"]
    folder = _copy_example("weights-only", tmp_path / "hook")
    result = subprocess.run(_hook_command(_hook(configured["id"]), configured["args"]),
                            cwd=folder, env=_env(), text=True, capture_output=True,
                            check=False, timeout=120)
    assert result.returncode == 1, result.stderr


# ---- GitLab CI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "failures"), [("weights-only", True), ("open-model", False)])
def test_gitlab_job_writes_a_junit_report(name: str, failures: bool, tmp_path: Path) -> None:
    job = GITLAB["openaudit"]
    report = job["artifacts"]["reports"]["junit"]
    assert job["artifacts"]["when"] == "always"  # a failing verdict still shows its report
    assert job["script"][0] == 'pip install "$OPENAUDIT_SPEC"'
    assert job["variables"]["OPENAUDIT_SPEC"].startswith("openaudit @ git+https://")
    command = next(line for line in job["script"] if line.startswith("openaudit "))
    assert command.endswith(f"> {report}") and "--format junit" in command

    variables = {**job["variables"], "OPENAUDIT_PATH": str(EXAMPLES / name)}
    result = _bash(command, tmp_path, **variables)
    assert result.returncode == EXAMPLE_FOLDERS[name][1], result.stderr
    suites = ET.parse(tmp_path / report).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 20  # one per rule
    failed = [c for c in cases if c.find("failure") is not None]
    assert bool(failed) is failures


# ---- pre-commit --------------------------------------------------------------------------------


def _hook(hook_id: str) -> dict[str, Any]:
    return next(h for h in HOOKS if h["id"] == hook_id)


def test_pre_commit_hooks_manifest() -> None:
    assert [h["id"] for h in HOOKS] == ["openaudit-check", "openaudit-check-dataset"]
    for hook in HOOKS:
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False and hook["args"] == ["."]
        assert hook["entry"].startswith("openaudit check")
        files = re.compile(hook["files"])
        for path in ("README.md", "LICENSE", "LICENSE.txt", "LICENCE", "USE_POLICY.md",
                     ".openaudit.yaml", "models/x/README.md", "NOTICE"):
            assert files.search(path), path
        for path in ("model.safetensors", "config.json", "docs/README.md.bak", "MY_LICENSE_NOTES"):
            assert not files.search(path), path
    assert "--repo-type dataset" in _hook("openaudit-check-dataset")["entry"]


def _hook_command(hook: dict[str, Any], args: list[str] | None = None) -> list[str]:
    """What pre-commit runs: the entry split like a shell, then the args (pass_filenames off)."""
    entry = hook["entry"].split()
    assert entry[0] == "openaudit"
    return [str(OPENAUDIT), *entry[1:], *(hook["args"] if args is None else args)]


def test_pre_commit_example_config_runs_the_hook(tmp_path: Path) -> None:
    (repo,) = PRE_COMMIT["repos"]
    assert repo["repo"].startswith("https://") and repo["rev"]
    for configured in repo["hooks"]:
        hook = _hook(configured["id"])
        for name in ("gated-release", "weights-only"):
            folder = _copy_example(name, tmp_path)
            command = _hook_command(hook, configured.get("args"))
            result = subprocess.run(command, cwd=folder, env=_env(), text=True,
                                    capture_output=True, check=False, timeout=120)
            assert result.returncode == EXAMPLE_FOLDERS[name][1], result.stderr
            shutil.rmtree(folder)


def test_pre_commit_dataset_hook(tmp_path: Path) -> None:
    folder = _copy_example("open-dataset", tmp_path)
    command = [*_hook_command(_hook("openaudit-check-dataset")), "--format", "json"]
    result = subprocess.run(command, cwd=folder, env=_env(), text=True, capture_output=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ruleset"]["pack"] == "dataset-openness" and report["verdict"] == "compliant"


# ---- the custom rule pack ---------------------------------------------------------------------

ORG_RULESET = load_ruleset((ORG_RULES,))
ORG_PACK = next(p for p in ORG_RULESET.packs.values() if p.id == "osaid-1.0")
ORG_OWN = [r for r in ORG_PACK.rules if Path(r.source) == ORG_RULES]
ORG_CASES = [pytest.param(rule, outcome, example, id=f"{rule.id}:{outcome}:{i}")
             for rule in ORG_OWN for outcome, examples in rule.examples.items()
             for i, example in enumerate(examples)]


def test_org_rules_extend_osaid() -> None:
    assert yaml.safe_load(ORG_RULES.read_text(encoding="utf-8"))["extends"] == "osaid-1.0"
    assert [r.id for r in ORG_OWN] == ["ORG-001", "ORG-002"]
    for rule in ORG_OWN:
        assert rule.examples.get("pass") and rule.examples.get("fail"), rule.id
    assert len(ORG_CASES) >= 5


@pytest.mark.parametrize(("rule", "expected", "example"), ORG_CASES)
def test_org_rule_examples(rule: Rule, expected: str, example: dict[str, Any]) -> None:
    # The same contract as tests/test_rule_examples.py applies to the built-in packs.
    values = default_facts()
    values.update(example)
    unknown = {name: "example marks it unknown" for name, v in example.items() if v is None}
    finding = run_rule(rule, Facts(values, unknown))
    want = Outcome(expected)
    if want is Outcome.FAIL and rule.severity is not Severity.ERROR:
        want = Outcome.WARN
    assert finding.outcome is want, finding.message
    assert "{" not in finding.message


def test_org_rules_on_real_folders(run_cli: Any, tmp_path: Path) -> None:
    ok = run_cli("check", str(EXAMPLES / "open-model"), "--rules", str(ORG_RULES),
                 "--format", "json")
    found = {f["rule_id"]: f["outcome"] for f in ok.json()["findings"]}
    assert found["ORG-001"] == found["ORG-002"] == "pass" and ok.json()["verdict"] == "compliant"

    folder = _copy_example("open-model", tmp_path)
    (folder / "pytorch_model.bin").write_bytes(b"placeholder\n")
    bad = run_cli("check", str(folder), "--rules", str(ORG_RULES), "--format", "json")
    report = bad.json()
    org = next(f for f in report["findings"] if f["rule_id"] == "ORG-001")
    assert org["outcome"] == "fail" and "pytorch_model.bin" in org["message"]
    assert org["fix"] and "safetensors" in org["fix"]
    assert report["verdict"] == "potentially-compliant" and report["gaps"] == ["parameters"]


# ---- the examples loop and the examples README ------------------------------------------------


def _quick_start_loop() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = re.findall(r"```shell\n(.*?)```", readme, re.S)[0]
    loop = re.search(r"for e in examples/\*/; do .*?; done", install)
    assert loop, install
    return loop.group(0)


def test_quick_start_loop_skips_folders_without_a_card() -> None:
    loop = _quick_start_loop()
    assert loop in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert not (CI / "README.md").exists()  # examples/ci/ is not a repository folder
    result = _bash(loop.replace(".venv/bin/openaudit", str(OPENAUDIT)), ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for verdict in {v for v, _ in EXAMPLE_FOLDERS.values()}:
        assert verdict.upper() in result.stdout
    assert result.stdout.count("rule pack") == len(EXAMPLE_FOLDERS)


def test_examples_readme_lists_every_folder_with_its_verdict() -> None:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in EXAMPLES.iterdir() if (p / "README.md").is_file())
    assert folders == sorted(EXAMPLE_FOLDERS)
    for name, (verdict, _) in EXAMPLE_FOLDERS.items():
        assert re.search(rf"^\| `{name}/` \|[^\n]*\| {verdict} \|", text, re.M), name
    for name in ("github-workflow.yml", "gitlab-ci.yml", "pre-commit-config.yaml",
                 "org-rules.yaml"):
        assert (CI / name).is_file() and f"`ci/{name}`" in text, name


# ---- shell completion --------------------------------------------------------------------------


@pytest.mark.parametrize(("words", "cword", "wanted"), [
    ("openaudit mo", 1, "model"),
    ("openaudit rules d", 2, "docs"),
    ("openaudit check . --fail-on ", 4, "potentially-compliant"),
    ("openaudit check . --format s", 4, "sarif"),
    ("openaudit model org/x --format ", 4, "junit"),
    ("openaudit check . --repo-type d", 4, "dataset"),
])
def test_bash_completion(words: str, cword: int, wanted: str, tmp_path: Path) -> None:
    env = _env(_OPENAUDIT_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword))
    result = subprocess.run([str(OPENAUDIT)], cwd=tmp_path, env=env, text=True,
                            capture_output=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert wanted in result.stdout.split()


def test_show_completion_prints_a_script() -> None:
    result = subprocess.run([str(OPENAUDIT), "--show-completion", "bash"], env=_env(), text=True,
                            capture_output=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "_OPENAUDIT_COMPLETE=complete_bash" in result.stdout
    assert "complete " in result.stdout and "openaudit" in result.stdout


def test_completed_choices_are_the_real_ones() -> None:
    from openaudit.cli import FORMAT_NAMES, REPO_TYPE_NAMES
    from openaudit.models import RepoType
    from openaudit.render import OutputFormat

    assert list(FORMAT_NAMES) == [f.value for f in OutputFormat]
    assert set(REPO_TYPE_NAMES) == {"auto", *(t.value for t in RepoType)}
