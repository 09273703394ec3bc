"""docs/rules.md is generated from the rule packs, complete, deterministic and never stale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openaudit.packs import load_ruleset
from openaudit.rule_docs import REGENERATE, render_rule_docs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "rules.md"
RULESET = load_ruleset()
TEXT = render_rule_docs(RULESET)


def _section(text: str, rule_id: str) -> str:
    """The text of one rule's section, up to the next anchor."""
    start = text.index(f'<a id="{rule_id.lower()}"></a>')
    end = text.find("<a id=", start + 1)
    return text[start:] if end == -1 else text[start:end]


def test_checked_in_docs_are_current() -> None:
    assert DOCS.is_file(), f"docs/rules.md is missing: run `{REGENERATE}`"
    assert DOCS.read_text(encoding="utf-8") == TEXT, (
        f"docs/rules.md is out of date with rules/: run `{REGENERATE}` and commit the result")


def test_every_rule_is_documented_with_every_field() -> None:
    for pack in RULESET.packs.values():
        for rule in pack.rules:
            section = _section(TEXT, rule.id)
            flat = " ".join(section.split())
            assert f"### {rule.id} `{rule.name}`" in section
            for value in (rule.title, rule.clause, rule.rationale, rule.fix, rule.pillar,
                          rule.severity.value, pack.id):
                assert " ".join(value.split()) in flat, (rule.id, value)
            for ref in rule.references:
                assert ref in section, (rule.id, ref)
            assert "pass:" in section and "fail:" in section, rule.id


def test_examples_in_the_docs_are_the_rules_examples() -> None:
    import yaml

    for pack in RULESET.packs.values():
        for rule in pack.rules:
            block = re.search(r"```yaml\n(.*?)```", _section(TEXT, rule.id), re.S)
            assert block, rule.id
            shown: dict[str, list[dict[str, Any]]] = yaml.safe_load(block.group(1))
            assert shown == {k: [dict(e) for e in v] for k, v in rule.examples.items()}, rule.id


def test_rendering_is_deterministic_and_machine_independent() -> None:
    assert render_rule_docs(load_ruleset()) == TEXT
    assert str(ROOT) not in TEXT  # built-in rule files are shown as rules/PACK/FILE.yaml
    assert "`rules/osaid-1.0/terms.yaml`" in TEXT
    assert TEXT.endswith("\n") and not TEXT.endswith("\n\n")


def test_rules_docs_prints_writes_and_checks(run_cli: Any, tmp_path: Path) -> None:
    printed = run_cli("rules", "docs")
    assert printed.code == 0 and printed.stdout == TEXT

    out = tmp_path / "sub" / "rules.md"
    wrote = run_cli("rules", "docs", "--output", str(out))
    assert wrote.code == 0 and out.read_text(encoding="utf-8") == TEXT

    assert run_cli("rules", "docs", "--check", str(out)).code == 0
    out.write_text(TEXT.replace("USE-001", "USE-999", 1), encoding="utf-8")
    stale = run_cli("rules", "docs", "--check", str(out))
    assert stale.code == 1
    assert "out of date" in stale.stderr and REGENERATE in stale.stderr

    missing = run_cli("rules", "docs", "--check", str(tmp_path / "absent.md"))
    assert missing.code == 1  # missing docs fail the check like stale ones, saying so
    assert "absent.md is missing" in missing.stderr and REGENERATE in missing.stderr


def test_rules_docs_rejects_output_with_check(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("rules", "docs", "--output", str(tmp_path / "a.md"),
                     "--check", str(tmp_path / "b.md"))
    assert result.code == 2 and "exclude each other" in result.stderr


def test_rules_docs_includes_extra_rule_files(run_cli: Any) -> None:
    org = ROOT / "examples" / "ci" / "org-rules.yaml"
    result = run_cli("rules", "docs", "--rules", str(org))
    assert result.code == 0
    assert '<a id="org-001"></a>' in result.stdout
    assert "examples/ci/org-rules.yaml" in result.stdout


# ---- fix guidance: every failing or not-tested finding says concretely what to change ----------

# What a fix must point at: a card key or value (`license:`), a file (README.md, LICENSE…), a
# README section ("## Training Data"), a link, a Hub setting, or a named licence to switch to.
CONCRETE_TARGETS = {
    "card key or code": re.compile(r"`[^`]+`"),
    "file": re.compile(r"\b(README(\.md)?|LICEN[CS]E|USE_POLICY|NOTICE)\b"),
    "section": re.compile(r'"#{1,4} [^"]+"|\bsection\b'),
    "link": re.compile(r"https?://\S+|\blink\b"),
    "hub setting": re.compile(r"Settings →"),
    "licence": re.compile(r"\b(Apache-2\.0|MIT|GPL-3\.0|CC0[-\w.]*|CC-BY[-\w.]*|ODC-By|ODbL|PDDL|"
                          r"CDLA[-\w.]*)\b"),
}
MIN_FIX_WORDS = 12


def fix_problems(fix: str) -> list[str]:
    """Why a fix text is not concrete enough (empty when it is)."""
    problems = []
    if len(fix.split()) < MIN_FIX_WORDS:
        problems.append(f"fewer than {MIN_FIX_WORDS} words")
    if not any(pattern.search(fix) for pattern in CONCRETE_TARGETS.values()):
        problems.append("names no card key, file, section, link, setting or licence")
    return problems


def test_the_fix_check_rejects_vague_advice() -> None:
    assert fix_problems("Use a licence that allows modification (no ND clauses).")
    assert fix_problems("Remove the access gate.")
    assert fix_problems("Remove clauses that limit changing the model's behaviour or that bind "
                        "distilled models in any way at all.")
    assert not fix_problems("Add a \"## Training Data\" section describing every data source, "
                            "its size, languages and time span.")


def _all_rules() -> list[tuple[str, Any]]:
    org = load_ruleset((ROOT / "examples" / "ci" / "org-rules.yaml",))
    seen = {(p.id, r.id): r for rs in (RULESET, org) for p in rs.packs.values() for r in p.rules}
    return sorted(seen.items())


def test_every_rule_has_a_concrete_fix() -> None:
    weak = {f"{pack}:{rid}": fix_problems(rule.fix) for (pack, rid), rule in _all_rules()
            if fix_problems(rule.fix)}
    assert weak == {}, "make these `fix:` texts name what to change (see CONCRETE_TARGETS)"


def test_every_rule_has_a_rationale_and_a_reference() -> None:
    for (_, rid), rule in _all_rules():
        assert len(rule.rationale.split()) >= 6, rid
        assert rule.references and all(ref.startswith("https://") for ref in rule.references), rid


def test_failing_and_not_tested_findings_carry_their_fix(run_cli: Any, tmp_path: Path) -> None:
    examples = ROOT / "examples"
    broken = tmp_path / "broken-card"  # malformed front matter: the licence is not tested
    broken.mkdir()
    (broken / "README.md").write_text("---\nlicense: [apache-2.0\n---\n# Model\n",
                                      encoding="utf-8")
    seen: set[str] = set()
    for folder in (examples / "weights-only", examples / "rail-model", broken):
        report = run_cli("check", str(folder), "--format", "json").json()
        for finding in report["findings"]:
            rule = next(r for p in RULESET.packs.values() for r in p.rules
                        if r.id == finding["rule_id"])
            if finding["outcome"] == "pass":
                assert finding["fix"] == "", finding["rule_id"]
            else:
                seen.add(finding["outcome"])
                assert finding["fix"] == rule.fix, finding["rule_id"]
    assert {"fail", "warn", "not-tested"} <= seen


# ---- openaudit explain ------------------------------------------------------------------------


def test_explain_shows_everything_a_reader_needs_for_every_rule(run_cli: Any) -> None:
    for pack in RULESET.packs.values():
        for rule in pack.rules:
            result = run_cli("explain", rule.id.lower())
            assert result.code == 0, rule.id
            flat = " ".join(result.stdout.split())
            for text in (rule.title, rule.clause, rule.rationale, rule.fix, pack.id,
                         rule.messages["fail"], *rule.references):
                assert " ".join(text.split()) in flat, (rule.id, text)
            assert flat.index("Why:") < flat.index("How to fix a failure:")


def test_explain_finds_rules_by_name_and_suggests_close_ones(run_cli: Any) -> None:
    by_name = run_cli("explain", "licence-stated")
    assert by_name.code == 0 and by_name.stdout.startswith("USE-001  licence-stated")
    typo = run_cli("explain", "USE-01")
    assert typo.code == 2 and "did you mean" in typo.stderr and "USE-001" in typo.stderr
    misspelt = run_cli("explain", "licence-statd")
    assert misspelt.code == 2 and "USE-001" in misspelt.stderr


def test_explain_covers_custom_rule_files(run_cli: Any) -> None:
    org = ROOT / "examples" / "ci" / "org-rules.yaml"
    result = run_cli("explain", "ORG-001", "--rules", str(org))
    assert result.code == 0 and "safetensors" in result.stdout
    assert run_cli("explain", "ORG-001").code == 2  # only with the file that defines it
