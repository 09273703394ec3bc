"""The vocabulary (how cards are read) is validated data, and a --rules file can extend it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from openaudit.errors import RuleFileError
from openaudit.operators import LinearRegex
from openaudit.packs import load_ruleset
from openaudit.vocabulary import Either, builtin_path, builtin_vocabulary, parse_vocabulary

SHIPPED: dict[str, Any] = yaml.safe_load(builtin_path().read_text(encoding="utf-8"))
CARD = ("---\nlicense: apache-2.0\n---\n# Acme-1B\n\n## Corpus notes\n\nTrained on Acme Crawl "
        "with [AcmeTrain](https://github.com/acme/acmetrain).\n")
EXTENSION = """\
schema_version: 1
extends: vocabulary
sections:
  - name: training_data
    patterns: ["^corpus notes$"]
public_corpora:
  - {name: Acme Crawl, pattern: "\\\\bacme ?crawl\\\\b", where: "https://acme.example/crawl"}
generic_code:
  - {name: AcmeTrain, repos: [acme/acmetrain]}
"""


def test_the_shipped_vocabulary_loads_and_names_the_documented_sections() -> None:
    vocab = builtin_vocabulary()
    assert "training_data" in vocab.section_names and "personal_data" in vocab.section_names
    assert vocab.section_of("training data") == "training_data"
    assert vocab.section_of("nothing like a section") is None


@pytest.mark.parametrize(("change", "where"), [
    (lambda d: d.update(surprise=1), "unknown key(s) surprise"),
    (lambda d: d.pop("sections"), "missing key(s) sections"),
    (lambda d: d["sections"].append(dict(d["sections"][0])), "duplicate section"),
    (lambda d: d["sections"][0].update(name="Training Data"), "lower_snake_case"),
    (lambda d: d.update(data_hosts="(["), "invalid regular expression"),
    (lambda d: d["code_kinds"].update(poetry="x"), "unknown key(s) poetry"),
    (lambda d: d["generic_code"].append({"name": "X", "repos": ["nodomain"]}),
     "expected owner/repo"),
    (lambda d: d["public_corpora"].append(dict(d["public_corpora"][0])), "duplicate corpus"),
    (lambda d: d.update(schema_version=2), "expected 1"),
    (lambda d: d["withdrawn_corpora"].append(dict(d["withdrawn_corpora"][0])),
     "duplicate corpus"),
    (lambda d: d["withdrawn_corpora"][0].pop("note"), "missing key(s) note"),
    (lambda d: d.pop("starting_point_lines"), "missing key(s) starting_point_lines"),
])
def test_a_broken_vocabulary_is_refused_naming_where(change: Any, where: str) -> None:
    doc = json.loads(json.dumps(SHIPPED))
    change(doc)
    with pytest.raises(RuleFileError) as info:
        parse_vocabulary(doc, "vocabulary.yaml")
    assert where in info.value.message


def test_an_extension_is_read_from_rules_and_changes_how_a_card_is_read(
        tmp_path: Path, run_cli: Any) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "README.md").write_text(CARD, encoding="utf-8")
    extension = tmp_path / "vocab.yaml"
    extension.write_text(EXTENSION, encoding="utf-8")
    plain = run_cli("facts", str(card)).json()["facts"]
    assert plain["readme.sections"] == [] and plain["data.public_corpora"] == []
    assert plain["code.training"] == ["https://github.com/acme/acmetrain"]
    extended = run_cli("facts", str(card), "--rules", str(extension)).json()["facts"]
    assert extended["readme.sections"] == ["training_data"]
    assert extended["data.public_corpora"] == ["Acme Crawl"]
    assert extended["code.training"] == []  # now a generic framework, not the model's code
    report = run_cli("check", str(card), "--rules", str(extension), "--format", "json").json()
    outcomes = {f["rule_id"]: f["outcome"] for f in report["findings"]}
    assert outcomes["DATA-001"] == "pass" and outcomes["CODE-001"] == "fail"
    # the digest says which vocabulary judged the card
    assert report["ruleset"]["digest"] != run_cli("check", str(card), "--format",
                                                  "json").json()["ruleset"]["digest"]


@pytest.mark.parametrize(("text", "where"), [
    ("sections:\n  - {name: brand_new, patterns: [x]}\n", "unknown section 'brand_new'"),
    ("data_words: '(?<!no )data'\n", "invalid regular expression"),  # RE2: no lookaround
    ("line_kinds: {training: '(a)\\1'}\n", "invalid regular expression"),  # no backreferences
    ("sections: [{name: training_data, patterns: [x]}]\nbogus: 1\n", "unknown key(s) bogus"),
])
def test_a_bad_extension_is_a_rule_file_error(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(f"schema_version: 1\nextends: vocabulary\n{text}", encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_ruleset([path])
    assert info.value.path == str(path) and where in info.value.message


def test_an_extension_s_patterns_run_on_re2(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text("schema_version: 1\nextends: vocabulary\ndata_words: '(a+)+$'\n",
                    encoding="utf-8")
    words = load_ruleset([path]).vocabulary.data_words
    assert isinstance(words, Either) and isinstance(words.second, LinearRegex)
    # Python's re would backtrack for minutes on this text; RE2 answers at once.
    assert words.search("a" * 40 + "!") is None
    assert words.search("aaa") is not None  # the extension's pattern counts
    assert words.search("the data") is not None  # and so do the shipped words


def test_the_cli_refuses_a_bad_extension_with_exit_2(tmp_path: Path, run_cli: Any) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text("schema_version: 1\nextends: vocabulary\nsections: [{name: nope, patterns: "
                    "[x]}]\n", encoding="utf-8")
    result = run_cli("check", "examples/open-model", "--rules", str(path))
    assert result.code == 2
    assert "vocab.yaml" in result.stderr and "unknown section 'nope'" in result.stderr


def test_extension_patterns_too_large_together_are_a_rule_file_error(tmp_path: Path,
                                                                     run_cli: Any) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text("schema_version: 1\nextends: vocabulary\npublic_corpora:\n"
                    "  - {name: A, pattern: 'x0\\pL{440}', where: 'https://a.example'}\n"
                    "  - {name: B, pattern: 'x1\\pL{440}', where: 'https://b.example'}\n",
                    encoding="utf-8")
    result = run_cli("check", "examples/open-model", "--rules", str(path))
    assert result.code == 2 and "too large to compile" in result.stderr


def test_an_extension_named_twice_applies_once(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(EXTENSION, encoding="utf-8")
    vocab = load_ruleset([path, path]).vocabulary
    assert [c.name for c in vocab.public_corpora].count("Acme Crawl") == 1


def test_facts_reads_an_extension_the_folder_s_policy_names(tmp_path: Path,
                                                           run_cli: Any) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "README.md").write_text(CARD, encoding="utf-8")
    (card / "vocab.yaml").write_text(EXTENSION, encoding="utf-8")
    (card / ".openaudit.yaml").write_text("schema_version: 1\nrules: [vocab.yaml]\n",
                                          encoding="utf-8")
    facts = run_cli("facts", str(card)).json()["facts"]
    assert facts["data.public_corpora"] == ["Acme Crawl"]
    report = run_cli("check", str(card), "--format", "json").json()
    assert {f["rule_id"]: f["outcome"] for f in report["findings"]}["CODE-001"] == "fail"


def test_an_extension_naming_a_key_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text("schema_version: 1\nextends: vocabulary\ndata_words: a\ndata_words: b\n",
                    encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_ruleset([path])
    assert "duplicate key" in info.value.message


def test_an_extension_adds_a_withdrawn_corpus_and_a_starting_point_phrase(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(r"""schema_version: 1
extends: vocabulary
withdrawn_corpora:
  - {name: Acme Books, pattern: '\bacme books\b', note: taken down in 2025}
starting_point_lines: '\bdistilled from \['
""", encoding="utf-8")
    vocab = load_ruleset([path]).vocabulary
    assert [c.name for c in vocab.withdrawn_corpora][-1] == "Acme Books"
    assert isinstance(vocab.withdrawn_corpora[-1].pattern, LinearRegex)  # RE2 only
    assert vocab.starting_point_lines.search("distilled from [acme/big](x)") is not None
    assert vocab.starting_point_lines.search("Starting from the pretrained [x](y)") is not None
