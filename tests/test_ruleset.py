"""The strict rule-pack loader: every broken pack is a RuleFileError naming file, rule and key.

Packs are built in tmp_path from the minimal pack in tests/fixtures/rules/minimal, then mutated.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from openaudit.errors import RuleFileError
from openaudit.models import RepoType, Severity
from openaudit.operators import AllOf, Leaf, Not
from openaudit.packs import builtin_rules_dir, load_ruleset
from openaudit.ruleset import load_pack

MINIMAL = Path(__file__).parent / "fixtures" / "rules" / "minimal"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def base_rule() -> dict[str, Any]:
    """A fresh copy of the one valid rule in the minimal pack."""
    rule: dict[str, Any] = copy.deepcopy(_load(MINIMAL / "rules.yaml")["rules"][0])
    return rule


def base_pack() -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(_load(MINIMAL / "pack.yaml"))
    return doc


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A copy of the minimal pack (pack.yaml + rules.yaml) that a test may change."""
    target = tmp_path / "pack"
    shutil.copytree(MINIMAL, target)
    return target


def write_rules(directory: Path, rules: list[dict[str, Any]], name: str = "rules.yaml",
                **top: Any) -> Path:
    return _dump(directory / name, {"schema_version": 1, **top, "rules": rules})


def assert_error(err: RuleFileError, path: Path, rule_id: str, key: str) -> None:
    """The error carries, and its text starts with, the file, the rule id and the key."""
    assert err.path == str(path)
    assert err.rule_id == rule_id
    assert err.key == key
    prefix = str(path) + (f", rule {rule_id}" if rule_id else "")
    prefix += f", key '{key}'" if key else ""
    assert str(err).startswith(prefix + ": "), str(err)
    assert err.hint  # every RuleFileError says what to do next


# ---------------------------------------------------------------------------------------------
# Positive cases
# ---------------------------------------------------------------------------------------------


def test_minimal_pack_loads(pack_dir: Path) -> None:
    pack = load_pack(pack_dir)
    assert pack.id == "mini-pack"
    assert pack.applies_to is RepoType.MODEL
    assert [p.id for p in pack.pillars] == ["terms", "parts"]
    assert [g.id for g in pack.groups] == ["terms", "parts"]
    assert [(s.verdict, s.max_gaps) for s in pack.verdicts] == [
        ("compliant", 0), ("potentially-compliant", 1), ("non-compliant", None)]
    assert [r.id for r in pack.rules] == ["MINI-001"]
    rule = pack.rule("MINI-001")
    assert rule is not None
    assert rule.severity is Severity.ERROR
    assert rule.check == Leaf("license.stated", "equals", True)
    assert rule.source == str(pack_dir / "rules.yaml")
    assert rule.examples == {"pass": ({"license.stated": True},),
                             "fail": ({"license.stated": False},)}
    assert pack.rule("NOPE-001") is None
    assert len(pack.digest) == 16


def test_nested_conditions_compile(pack_dir: Path) -> None:
    rule = base_rule()
    rule["check"] = {"all": [{"fact": "license.stated", "op": "exists"},
                             {"not": {"fact": "card.tags", "op": "contains", "value": "x"}}]}
    write_rules(pack_dir, [rule])
    check = load_pack(pack_dir).rules[0].check
    assert check == AllOf((Leaf("license.stated", "exists", None),
                           Not(Leaf("card.tags", "contains", "x"))))


def test_extra_file_overrides_builtin_rule_by_id(pack_dir: Path, tmp_path: Path) -> None:
    rule = base_rule()
    rule["title"] = "Overridden title"
    rule["severity"] = "warning"
    extra = write_rules(tmp_path, [rule], name="extra.yaml", extends="mini-pack")
    plain = load_pack(pack_dir)
    pack = load_pack(pack_dir, extra_files=(extra,))
    assert [r.id for r in pack.rules] == ["MINI-001"]
    overridden = pack.rule("MINI-001")
    assert overridden is not None
    assert overridden.title == "Overridden title"
    assert overridden.severity is Severity.WARNING
    assert overridden.source == str(extra)
    assert pack.digest != plain.digest  # extra files are part of the digest


def test_extra_file_adds_rules(pack_dir: Path, tmp_path: Path) -> None:
    rule = base_rule()
    rule.update(id="MINI-002", name="second-rule", pillar="parts")
    extra = write_rules(tmp_path, [rule], name="extra.yaml", extends="mini-pack")
    pack = load_pack(pack_dir, extra_files=(extra,))
    assert [r.id for r in pack.rules] == ["MINI-001", "MINI-002"]


# ---------------------------------------------------------------------------------------------
# Broken rules: each mutation of the valid rule must be rejected at the right key
# ---------------------------------------------------------------------------------------------


def _typo_severity(r: dict[str, Any]) -> None:
    r["severty"] = r.pop("severity")


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.update(values)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda r: r.pop(key)


def _message(key: str, text: str) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["message"].update({key: text})


def _example(outcome: str, case: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["examples"].update({outcome: [case]})


RULE_ERRORS = [
    pytest.param(_typo_severity, "severty", "unknown key", id="unknown-rule-key"),
    pytest.param(_drop("fix"), "fix", "missing required key", id="missing-fix"),
    pytest.param(_drop("examples"), "examples", "missing required key", id="missing-examples"),
    pytest.param(_set(check={"fact": "license.stated", "op": "is_true"}), "check.op",
                 "unknown operator 'is_true'", id="unknown-operator"),
    pytest.param(_set(check={"fact": "card.license_name", "op": "min_count", "value": 1}),
                 "check.op", "does not apply to str fact", id="min-count-on-str"),
    pytest.param(_set(check={"fact": "access.gated", "op": "exists", "value": True}),
                 "check.value", "takes no value", id="exists-with-value"),
    pytest.param(_set(check={"fact": "card.tags", "op": "equals", "value": "x"}),
                 "check.op", "does not apply to list fact", id="equals-on-list"),
    pytest.param(_set(check={"all": [{"fact": "license.stated", "op": "exists"},
                                     {"fact": "license.stateed", "op": "exists"}]}),
                 "check.all.fact", "unknown fact 'license.stateed'", id="unknown-fact-in-check"),
    pytest.param(_set(check={"not": {"fact": "nope", "op": "exists"}}), "check.not.fact",
                 "unknown fact 'nope'", id="unknown-fact-under-not"),
    pytest.param(_set(check={"fact": "license.stated", "op": "exists", "extra": 1}),
                 "check.extra", "unknown key", id="unknown-leaf-key"),
    pytest.param(_set(check={"all": [], }), "check.all", "non-empty list", id="empty-all"),
    pytest.param(_set(check={"fact": "card.license_name", "op": "matches", "value": "(["}),
                 "check.value", "bad regex", id="bad-regex"),
    pytest.param(_set(check={"fact": "access.gated", "op": "one_of", "value": "manual"}),
                 "check.value", "expected a list value", id="one-of-with-string"),
    pytest.param(_set(check={"fact": "card.tags", "op": "min_count", "value": -1}),
                 "check.value", "expected a int value", id="min-count-negative"),
    pytest.param(_set(check={"fact": "card.tags", "op": "min_count", "value": True}),
                 "check.value", "expected a int value", id="min-count-bool"),
    pytest.param(_set(check={"fact": "card.tags", "op": "contains", "value": ["a"]}),
                 "check.value", "expected a str value", id="contains-with-list"),
    pytest.param(_example("pass", {"license.stated": True, "card.licence": ["mit"]}),
                 "examples.pass", "unknown fact 'card.licence'", id="unknown-fact-in-examples"),
    pytest.param(lambda r: r["examples"].update(maybe=[{}]), "examples.maybe", "unknown key",
                 id="unknown-example-outcome"),
    pytest.param(_message("fail", "No licence ({card.licence})."), "message.fail",
                 "unknown placeholder {card.licence}", id="bad-placeholder"),
    pytest.param(_message("not_tested", "Could not: {why}"), "message.not_tested",
                 "unknown placeholder {why}", id="bad-placeholder-not-tested"),
    pytest.param(lambda r: r["message"].pop("fail"), "message.fail", "missing required key",
                 id="missing-fail-message"),
    pytest.param(_set(pillar="freedom"), "pillar", "unknown pillar 'freedom'",
                 id="unknown-pillar"),
    pytest.param(_set(severity="critical"), "severity", "must be error, warning or info",
                 id="bad-severity"),
    pytest.param(_set(title="  "), "title", "non-empty string", id="blank-title"),
    pytest.param(_set(references=[]), "references", "non-empty list", id="no-references"),
    pytest.param(_set(cards={"pass": [{"readme": "# x"}]}), "cards.fail", "missing required key",
                 id="cards-without-a-failing-card"),
    pytest.param(_set(cards={"pass": [{"readme": "# x", "text": "y"}], "fail": [{"readme": "x"}]}),
                 "cards.pass.text", "unknown key", id="card-unknown-key"),
    pytest.param(_set(cards={"pass": [{"readme": "# x", "files": {"../LICENSE": "MIT"}}],
                             "fail": [{"readme": "x"}]}),
                 "cards.pass.files", "bad file name '../LICENSE'", id="card-file-outside"),
    pytest.param(_set(cards={"pass": [{"readme": "# x", "files": {"LICENSE": 3}}],
                             "fail": [{"readme": "x"}]}),
                 "cards.pass.files.LICENSE", "must be text", id="card-file-not-text"),
    pytest.param(_set(cards={"pass": [{"readme": ""}], "fail": [{"readme": "x"}]}),
                 "cards.pass.readme", "non-empty string", id="card-empty-readme"),
]


@pytest.mark.parametrize(("mutate", "key", "text"), RULE_ERRORS)
def test_broken_rule_is_rejected(pack_dir: Path, mutate: Callable[[dict[str, Any]], None],
                                 key: str, text: str) -> None:
    rule = base_rule()
    mutate(rule)
    path = write_rules(pack_dir, [rule])
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "MINI-001", key)
    assert text in info.value.message


def test_bad_rule_id_is_rejected(pack_dir: Path) -> None:
    rule = base_rule()
    rule["id"] = "mini-1"
    path = write_rules(pack_dir, [rule])
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "mini-1", "id")


def test_unknown_top_level_key_in_rule_file(pack_dir: Path) -> None:
    path = write_rules(pack_dir, [base_rule()], owner="me")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "", "owner")
    assert "unknown key" in info.value.message


def test_wrong_schema_version_in_rule_file(pack_dir: Path) -> None:
    path = _dump(pack_dir / "rules.yaml", {"schema_version": 2, "rules": [base_rule()]})
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "", "schema_version")
    assert "unsupported schema_version 2" in info.value.message


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("rules.yaml", "schema_version: 1\nrules:\n  - id: MINI-001\n    name: [unclosed\n"
                       "    title: x\n", 5),
        ("pack.yaml", "schema_version: 1\npack:\n  id: x\n  title: : bad\n", 4),
    ],
)
def test_malformed_yaml_names_the_file_and_line(pack_dir: Path, name: str, text: str,
                                                line: int) -> None:
    path = pack_dir / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert info.value.path == str(path)
    assert f"invalid YAML at line {line}" in str(info.value)


def test_non_utf8_rule_file(pack_dir: Path) -> None:
    path = pack_dir / "rules.yaml"
    path.write_bytes(b"schema_version: 1\nrules: [\xff]\n")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "", "")
    assert "not valid UTF-8" in info.value.message


def test_rule_file_that_is_not_a_mapping(pack_dir: Path) -> None:
    path = _dump(pack_dir / "rules.yaml", [base_rule()])
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert "expected a mapping, got list" in info.value.message
    assert info.value.path == str(path)


def test_duplicate_rule_id_across_files(pack_dir: Path) -> None:
    rule = base_rule()
    rule["name"] = "another-name"
    second = write_rules(pack_dir, [rule], name="zz-more.yaml")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, second, "MINI-001", "id")
    assert "duplicate rule id" in info.value.message
    assert str(pack_dir / "rules.yaml") in info.value.message  # names the other file too


def test_duplicate_rule_id_in_one_file(pack_dir: Path) -> None:
    rule = base_rule()
    other = base_rule()
    other["name"] = "another-name"
    path = write_rules(pack_dir, [rule, other])
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "MINI-001", "id")


def test_duplicate_rule_name(pack_dir: Path) -> None:
    rule = base_rule()
    rule["id"] = "MINI-002"  # same name as MINI-001, in a file loaded after rules.yaml
    path = write_rules(pack_dir, [rule], name="zz-more.yaml")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "MINI-002", "name")
    assert "duplicate rule name 'licence-stated' (also MINI-001)" in info.value.message


# ---------------------------------------------------------------------------------------------
# Broken pack.yaml
# ---------------------------------------------------------------------------------------------


def _pack_set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["pack"].update(values)


def _policy(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda d: fn(d["pack"]["policy"])


PACK_ERRORS = [
    pytest.param(lambda d: d.update(schema_version=2), "schema_version",
                 "unsupported schema_version 2", id="wrong-schema-version"),
    pytest.param(lambda d: d.pop("schema_version"), "schema_version", "missing required key",
                 id="missing-schema-version"),
    pytest.param(lambda d: d.update(rules=[]), "rules", "unknown key", id="unknown-top-key"),
    pytest.param(lambda d: d["pack"].pop("policy"), "pack.policy", "missing required key",
                 id="missing-policy"),
    pytest.param(_pack_set(owner="me"), "pack.owner", "unknown key", id="unknown-pack-key"),
    pytest.param(_pack_set(applies_to="space"), "pack.applies_to", "'model' or 'dataset'",
                 id="bad-applies-to"),
    pytest.param(_policy(lambda p: p["verdicts"][-1].update(max_gaps=3)),
                 "pack.policy.verdicts", "last verdict step must have no limits",
                 id="last-step-has-limits"),
    pytest.param(_policy(lambda p: p["verdicts"][1].update(verdict="mostly-open")),
                 "verdicts.verdict", "unknown verdict 'mostly-open'", id="unknown-verdict"),
    pytest.param(_policy(lambda p: p["verdicts"][0].update(max_gaps=-1)), "verdicts.max_gaps",
                 "non-negative integer", id="negative-limit"),
    pytest.param(_policy(lambda p: p["verdicts"][0].update(max_gapz=0)),
                 "policy.verdicts.max_gapz", "unknown key", id="unknown-limit"),
    pytest.param(_policy(lambda p: p.update(verdicts=[])), "pack.policy.verdicts",
                 "non-empty list", id="no-verdicts"),
    pytest.param(_policy(lambda p: p.pop("groups")), "pack.policy.groups",
                 "missing required key", id="missing-groups"),
    pytest.param(lambda d: d["pack"]["pillars"][0].update(group="nowhere"), "pillars.group",
                 "unknown group 'nowhere'", id="pillar-in-unknown-group"),
]


@pytest.mark.parametrize(("mutate", "key", "text"), PACK_ERRORS)
def test_broken_pack_file_is_rejected(pack_dir: Path, mutate: Callable[[dict[str, Any]], None],
                                      key: str, text: str) -> None:
    doc = base_pack()
    mutate(doc)
    path = _dump(pack_dir / "pack.yaml", doc)
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "", key)
    assert text in info.value.message


def test_missing_pack_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as info:
        load_pack(tmp_path)
    assert info.value.path == str(tmp_path / "pack.yaml")
    assert "cannot read" in info.value.message


# ---------------------------------------------------------------------------------------------
# Extra rule files
# ---------------------------------------------------------------------------------------------


def test_extra_file_without_extends_is_rejected(pack_dir: Path, tmp_path: Path) -> None:
    rule = base_rule()
    rule.update(id="MINI-002", name="second-rule")
    extra = write_rules(tmp_path, [rule], name="extra.yaml")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir, extra_files=(extra,))
    assert_error(info.value, extra, "", "extends")
    assert "missing required key" in info.value.message


def test_extra_file_extending_another_pack_is_rejected(pack_dir: Path, tmp_path: Path) -> None:
    extra = write_rules(tmp_path, [base_rule()], name="extra.yaml", extends="osaid-1.0")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir, extra_files=(extra,))
    assert_error(info.value, extra, "", "extends")
    assert "extends 'osaid-1.0' but is loaded into pack 'mini-pack'" in info.value.message


def test_builtin_file_may_not_extend_another_pack(pack_dir: Path) -> None:
    path = write_rules(pack_dir, [base_rule()], extends="dataset-openness")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir)
    assert_error(info.value, path, "", "extends")


def test_extra_file_rules_are_validated_too(pack_dir: Path, tmp_path: Path) -> None:
    rule = base_rule()
    rule["severity"] = "fatal"
    extra = write_rules(tmp_path, [rule], name="extra.yaml", extends="mini-pack")
    with pytest.raises(RuleFileError) as info:
        load_pack(pack_dir, extra_files=(extra,))
    assert_error(info.value, extra, "MINI-001", "severity")


# ---------------------------------------------------------------------------------------------
# openaudit.packs.load_ruleset
# ---------------------------------------------------------------------------------------------


def test_builtin_ruleset_loads() -> None:
    ruleset = load_ruleset()
    assert ruleset.pack_for(RepoType.MODEL).id == "osaid-1.0"
    assert ruleset.pack_for(RepoType.DATASET).id == "dataset-openness"
    assert (builtin_rules_dir() / "osaid-1.0" / "pack.yaml").is_file()
    assert ruleset.catalogue.lookup("apache-2.0") is not None


def test_replacement_pack_directory(pack_dir: Path) -> None:
    builtin = load_ruleset()
    ruleset = load_ruleset([pack_dir])
    assert ruleset.pack_for(RepoType.MODEL).id == "mini-pack"
    assert [r.id for r in ruleset.pack_for(RepoType.MODEL).rules] == ["MINI-001"]
    # the other repo type keeps its built-in pack
    assert ruleset.pack_for(RepoType.DATASET).id == "dataset-openness"
    assert ruleset.digest != builtin.digest


def test_replacement_dataset_pack_leaves_model_pack(pack_dir: Path) -> None:
    doc = base_pack()
    doc["pack"]["applies_to"] = "dataset"
    _dump(pack_dir / "pack.yaml", doc)
    ruleset = load_ruleset([pack_dir])
    assert ruleset.pack_for(RepoType.DATASET).id == "mini-pack"
    assert ruleset.pack_for(RepoType.MODEL).id == "osaid-1.0"


def test_extends_file_adds_and_overrides_builtin_rules(tmp_path: Path) -> None:
    builtin = load_ruleset().pack_for(RepoType.MODEL)
    new = base_rule()
    new.update(id="ORG-001", name="org-policy", pillar="use")
    override = base_rule()
    override.update(id="USE-001", name="licence-stated", pillar="use", title="Org override")
    extra = write_rules(tmp_path, [new, override], name="org.yaml", extends="osaid-1.0")
    pack = load_ruleset([extra]).pack_for(RepoType.MODEL)
    assert len(pack.rules) == len(builtin.rules) + 1
    added = pack.rule("ORG-001")
    replaced = pack.rule("USE-001")
    assert added is not None and added.source == str(extra)
    assert replaced is not None and replaced.title == "Org override"
    assert [r.id for r in pack.rules] == sorted(r.id for r in pack.rules)


def test_extends_file_for_replacement_pack(pack_dir: Path, tmp_path: Path) -> None:
    rule = base_rule()
    rule.update(id="MINI-002", name="second-rule")
    extra = write_rules(tmp_path, [rule], name="extra.yaml", extends="mini-pack")
    pack = load_ruleset([pack_dir, extra]).pack_for(RepoType.MODEL)
    assert [r.id for r in pack.rules] == ["MINI-001", "MINI-002"]


def test_extends_unknown_pack_raises(tmp_path: Path) -> None:
    extra = write_rules(tmp_path, [base_rule()], name="extra.yaml", extends="osaid-9.9")
    with pytest.raises(RuleFileError) as info:
        load_ruleset([extra])
    assert_error(info.value, extra, "", "extends")
    assert "unknown pack 'osaid-9.9'" in info.value.message
    assert "osaid-1.0" in info.value.message  # lists the packs that exist


def test_extra_file_without_extends_raises_in_load_ruleset(tmp_path: Path) -> None:
    extra = write_rules(tmp_path, [base_rule()], name="extra.yaml")
    with pytest.raises(RuleFileError) as info:
        load_ruleset([extra])
    assert_error(info.value, extra, "", "extends")


def test_directory_without_pack_yaml_raises(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as info:
        load_ruleset([tmp_path])
    assert info.value.path == str(tmp_path)
    assert "pack.yaml" in info.value.message


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such file or directory"):
        load_ruleset([tmp_path / "missing.yaml"])


# ---------------------------------------------------------------------------------------------
# Loader bugs found in review, now fixed: these guard against regressions
# ---------------------------------------------------------------------------------------------


def test_list_valued_pillar_is_a_rule_file_error(pack_dir: Path) -> None:
    rule = base_rule()
    rule["pillar"] = ["terms"]
    write_rules(pack_dir, [rule])
    with pytest.raises(RuleFileError):
        load_pack(pack_dir)


def test_list_valued_fact_is_a_rule_file_error(pack_dir: Path) -> None:
    rule = base_rule()
    rule["check"] = {"fact": ["license.stated"], "op": "exists"}
    write_rules(pack_dir, [rule])
    with pytest.raises(RuleFileError):
        load_pack(pack_dir)


def test_equals_value_must_match_fact_type(pack_dir: Path) -> None:
    rule = base_rule()
    rule["check"] = {"fact": "access.gated", "op": "equals", "value": False}
    write_rules(pack_dir, [rule])
    with pytest.raises(RuleFileError):
        load_pack(pack_dir)


def test_duplicate_id_inside_one_extra_file(pack_dir: Path, tmp_path: Path) -> None:
    first = base_rule()
    first.update(id="MINI-002", name="first")
    second = base_rule()
    second.update(id="MINI-002", name="second")
    extra = write_rules(tmp_path, [first, second], name="extra.yaml", extends="mini-pack")
    with pytest.raises(RuleFileError):
        load_pack(pack_dir, extra_files=(extra,))
