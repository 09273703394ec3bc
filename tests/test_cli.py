"""The command line: commands, formats, exit codes, rule overrides, and the JSON schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fakehub import FakeHub

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCHEMA = json.loads((resources.files("openaudit") / "schemas" / "report.schema.json").read_text())
EXAMPLE_VERDICTS = {
    ("open-model", "model"): ("compliant", 0),
    ("rail-model", "model"): ("potentially-compliant", 0),
    ("weights-only", "model"): ("non-compliant", 1),
    ("open-dataset", "dataset"): ("compliant", 0),
}


@pytest.mark.parametrize(("name", "kind"), list(EXAMPLE_VERDICTS))
def test_check_shipped_examples(name: str, kind: str, run_cli: Any) -> None:
    verdict, code = EXAMPLE_VERDICTS[(name, kind)]
    result = run_cli("check", str(EXAMPLES / name), "--repo-type", kind, "--format", "json")
    report = result.json()
    jsonschema.validate(report, SCHEMA)
    assert report["verdict"] == verdict
    assert report["target"]["source"] == "local"
    assert result.code == code


def test_fail_on_threshold(run_cli: Any) -> None:
    rail = str(EXAMPLES / "rail-model")
    assert run_cli("check", rail, "--fail-on", "potentially-compliant").code == 1
    assert run_cli("check", str(EXAMPLES / "weights-only"), "--fail-on", "never").code == 0


def test_json_is_deterministic(run_cli: Any) -> None:
    first = run_cli("check", str(EXAMPLES / "rail-model"), "--format", "json").stdout
    second = run_cli("check", str(EXAMPLES / "rail-model"), "--format", "json").stdout
    assert first == second
    report = json.loads(first)
    assert [f["rule_id"] for f in report["findings"]] == sorted(
        f["rule_id"] for f in report["findings"])


def test_table_output_shows_verdict_pillars_evidence_and_fixes(run_cli: Any) -> None:
    out = run_cli("check", str(EXAMPLES / "rail-model")).stdout
    assert "POTENTIALLY-COMPLIANT" in out
    assert "Freedom to use" in out and "Data information" in out
    assert "USE-003" in out and "LICENSE:" in out  # evidence with a line number
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_markdown_output(run_cli: Any) -> None:
    out = run_cli("check", str(EXAMPLES / "weights-only"), "--format", "markdown").stdout
    assert out.startswith("## openaudit: `non-compliant`")
    assert "| Pillar | Outcome | Why |" in out
    assert "`CODE-001`" in out and "❌ fail" in out


def test_unknown_format_is_a_usage_error(run_cli: Any) -> None:
    result = run_cli("check", str(EXAMPLES / "open-model"), "--format", "yaml")
    assert result.code == 2
    assert "unknown format 'yaml'" in result.stderr


def test_missing_folder_is_a_usage_error(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path / "nope"))
    assert result.code == 2
    assert "does not exist" in result.stderr


def test_version_and_help(run_cli: Any) -> None:
    from openaudit import __version__

    assert run_cli("--version").stdout.strip() == f"openaudit {__version__}"
    help_text = run_cli("--help").stdout
    assert "Exit codes" in help_text
    for command in ("model", "dataset", "check", "facts", "rules", "explain"):
        assert command in help_text
        sub = run_cli(command, "--help")
        assert sub.code == 0 and ("Example" in sub.stdout or command == "rules")


def test_rules_list_and_explain(run_cli: Any) -> None:
    listing = run_cli("rules", "list").stdout
    assert "osaid-1.0" in listing and "dataset-openness" in listing and "USE-003" in listing
    text = run_cli("explain", "use-003").stdout
    assert "USE-003" in text and "Why:" in text and "How to fix" in text
    assert "freedom to use" in text.lower() and "https://" in text
    missing = run_cli("explain", "USE-03")
    assert missing.code == 2 and "did you mean" in missing.stderr


def test_facts_command(run_cli: Any) -> None:
    payload = run_cli("facts", str(EXAMPLES / "open-model")).json()
    assert payload["facts"]["license.effective"] == ["apache-2.0"]
    assert payload["facts"]["files.weights"]
    assert "card.license" in payload["evidence"]
    names = run_cli("facts", "--list").stdout.splitlines()
    assert any(line.startswith("terms.restrictions\tlist\t") for line in names)


def _extra_rule(tmp_path: Path, extends: str = "osaid-1.0") -> Path:
    path = tmp_path / "org-policy.yaml"
    path.write_text(f"""
schema_version: 1
extends: {extends}
rules:
  - id: ORG-001
    name: org-needs-evaluation-section
    title: The card has an evaluation section
    pillar: data-information
    clause: "Org policy"
    severity: error
    check: {{fact: readme.sections, op: contains, value: evaluation}}
    message: {{pass: "Evaluation documented.", fail: "No evaluation section."}}
    fix: Add an Evaluation section.
    rationale: Our release policy requires it.
    references: [https://example.org/policy]
    examples:
      pass: [{{readme.sections: [evaluation]}}]
      fail: [{{readme.sections: []}}]
""", encoding="utf-8")
    return path


def test_extra_rule_file_is_applied(run_cli: Any, tmp_path: Path) -> None:
    rule = _extra_rule(tmp_path)
    report = run_cli("check", str(EXAMPLES / "weights-only"), "--rules", str(rule),
                     "--format", "json").json()
    assert "ORG-001" in {f["rule_id"] for f in report["findings"]}
    base = run_cli("check", str(EXAMPLES / "weights-only"), "--format", "json").json()
    assert report["ruleset"]["digest"] != base["ruleset"]["digest"]


def test_broken_rule_file_is_exit_2_and_names_file_rule_key(run_cli: Any, tmp_path: Path) -> None:
    rule = _extra_rule(tmp_path)
    rule.write_text(rule.read_text().replace("op: contains", "op: containz"))
    result = run_cli("check", str(EXAMPLES / "open-model"), "--rules", str(rule))
    assert result.code == 2
    assert "org-policy.yaml" in result.stderr and "ORG-001" in result.stderr
    assert "check.op" in result.stderr and "containz" in result.stderr
    assert result.stdout == ""


def test_rule_file_extending_an_unknown_pack(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("rules", "list", "--rules", str(_extra_rule(tmp_path, "osaid-9")))
    assert result.code == 2 and "unknown pack 'osaid-9'" in result.stderr


@pytest.mark.e2e
def test_installed_console_script_against_the_fake_hub(hub_env: dict[str, str],
                                                       fake_hub: FakeHub) -> None:
    """A real process: the console script, HF_ENDPOINT from the environment, no --endpoint."""
    exe = Path(sys.executable).with_name("openaudit")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "openaudit"]
    proc = subprocess.run([*command, "model", "dunecrest-institute/dune-7b", "--format", "json"],
                          env=hub_env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["verdict"] == "potentially-compliant"
    assert report["gaps"] == ["code"]
    assert any(r.path.endswith("/resolve/" + report["target"]["sha"] + "/README.md")
               for r in fake_hub.requests)


def test_python_dash_m(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "openaudit", "--version"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("openaudit ")


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "markdown"])
def test_a_renderer_failing_part_way_leaves_stdout_empty(fmt: str, run_cli: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit import render

    real = render.renderer_for

    class HalfWay:
        def render(self, report: Any, out: Any) -> None:
            out.write("{ half a report")
            raise RuntimeError("disk on fire")

    def broken(fmt_: Any, context: Any = None) -> Any:
        real(fmt_, context)  # the real one is still looked up
        return HalfWay()

    monkeypatch.setattr(render, "renderer_for", broken)
    result = run_cli("check", "examples/open-model", "--format", fmt)
    assert result.code == 3
    assert result.stdout == ""
    assert "internal error: RuntimeError: disk on fire" in result.stderr
