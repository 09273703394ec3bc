"""build_facts over local folders: sections, links, files, licences, unknown facts, evidence.

Every README and licence text here is written for these tests; the RAIL-like licence is a short
paraphrase that only carries the clause anchors the scanner looks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from openaudit.facts import build_facts
from openaudit.hub import MAX_FILE_BYTES
from openaudit.local import read_folder
from openaudit.models import Evidence, Facts, RepoType
from openaudit.packs import load_ruleset
from treeutil import write_tree

RULESET = load_ruleset()


def facts_of(folder: Path, repo_type: RepoType = RepoType.MODEL) -> Facts:
    return build_facts(read_folder(folder, repo_type), RULESET.catalogue, RULESET.signals)


def facts_for(tmp_path: Path, files: Mapping[str, str | bytes]) -> Facts:
    return facts_of(write_tree(tmp_path / "repo", files))


# ---------------------------------------------------------------------------------------------
# README sections and links
# ---------------------------------------------------------------------------------------------

SECTIONS_README = """\
---
license: mit
---
# Tiny model

## Training Data

We trained on a web crawl.

## Evaluation

[More Information Needed]

## Citation

[More Information Needed]

```bibtex
@misc{tiny}
```

## Limitations

- [More Information Needed]
"""


def test_sections_recognised_and_placeholders_not_counted(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": SECTIONS_README})
    v = facts.values
    assert v["readme.sections"] == ["citation", "training_data"]
    assert v["readme.placeholder_sections"] == ["evaluation", "limitations"]
    assert v["readme.section.training_data"] == "We trained on a web crawl."
    assert v["readme.section.evaluation"] == ""  # a placeholder is not content
    assert "@misc{tiny}" in v["readme.section.citation"]
    assert v["readme.text"].startswith("# Tiny model")  # front matter removed
    # evidence points at the heading lines of README.md (front matter included in the count)
    assert facts.evidence["readme.section.training_data"] == (
        Evidence("README.md", 6, "Training Data"),)
    assert facts.evidence["readme.section.citation"] == (Evidence("README.md", 14, "Citation"),)


LINKS_README = """\
---
license: apache-2.0
library_name: transformers
---
# Model

## Training Details

https://github.com/acme/trainer-internal

Our training recipe lives at https://github.com/acme/recipes

## Training Data

The crawl is described at https://example.org/crawl and mirrored on
[the Hub](https://huggingface.co/datasets/acme/web-crawl).
Data processing scripts: https://github.com/acme/pipeline
Paper: https://arxiv.org/abs/2401.01234

## Evaluation

We used the evaluation harness https://github.com/acme/harness on https://example.org/bench
and the dataset https://huggingface.co/datasets/acme/eval-set.

## Uses

Run it with https://github.com/acme/serve-kit

See also https://arxiv.org/pdf/2305.12345 and https://github.com/acme/misc
"""


def test_code_links_classified_by_words_and_sections(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": LINKS_README, "train.py": "", "infer.py": ""})
    v = facts.values
    assert v["links.code"] == [
        "https://github.com/acme/harness", "https://github.com/acme/misc",
        "https://github.com/acme/pipeline", "https://github.com/acme/recipes",
        "https://github.com/acme/serve-kit", "https://github.com/acme/trainer-internal",
    ]
    # words on the line (recipe, processing, evaluation harness, run) or the URL path (trainer)
    assert v["code.training"] == ["https://github.com/acme/recipes",
                                  "https://github.com/acme/trainer-internal", "train.py"]
    assert v["code.data_processing"] == ["https://github.com/acme/pipeline"]
    assert v["code.evaluation"] == ["https://github.com/acme/harness"]
    assert v["code.inference"] == ["https://github.com/acme/misc",  # section fallback: Uses
                                   "https://github.com/acme/serve-kit", "infer.py",
                                   "library:transformers", "train.py"]
    assert Evidence("README.md", 11, "https://github.com/acme/recipes") in (
        facts.evidence["code.training"])


def test_section_fallback_classifies_a_bare_link(tmp_path: Path) -> None:
    readme = "## Training Procedure\n\nhttps://github.com/acme/x\n\n## Other\n\nhttps://github.com/acme/y\n"
    v = facts_for(tmp_path, {"README.md": readme}).values
    assert v["code.training"] == ["https://github.com/acme/x"]
    assert "https://github.com/acme/y" in v["links.code"]
    for fact in ("code.training", "code.data_processing", "code.evaluation", "code.inference"):
        assert "https://github.com/acme/y" not in v[fact]


def test_papers_arxiv_and_hub_datasets(tmp_path: Path) -> None:
    v = facts_for(tmp_path, {"README.md": LINKS_README}).values
    assert v["links.arxiv"] == ["2305.12345", "2401.01234"]
    assert v["links.papers"] == ["https://arxiv.org/abs/2401.01234",
                                 "https://arxiv.org/pdf/2305.12345"]
    assert v["links.datasets"] == ["acme/eval-set", "acme/web-crawl"]


def test_data_sources_only_from_data_sections(tmp_path: Path) -> None:
    readme = LINKS_README.replace("license: apache-2.0", "license: apache-2.0\ndatasets: [acme/c4]")
    sources = facts_for(tmp_path, {"README.md": readme}).values["data.sources"]
    # card datasets, plus URLs inside the data sections that are neither papers nor code
    assert sources == ["acme/c4", "acme/web-crawl", "https://example.org/crawl"]
    assert "https://example.org/bench" not in sources  # Evaluation is not a data section
    assert "acme/eval-set" not in sources  # linked under Evaluation


def test_no_readme_means_empty_not_unknown(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"model.safetensors": b"\0"})
    v = facts.values
    assert v["card.present"] is False
    assert v["card.metadata_status"] == "missing"
    assert v["card.license"] == []
    assert v["readme.sections"] == []
    assert v["links.code"] == []
    assert v["license.stated"] is False
    assert facts.unknown_reasons == {}


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def test_weights_files_detected(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {
        "model.safetensors": b"", "pytorch_model.bin": b"", "gguf/model-q4.gguf": b"",
        "training_args.bin": b"", "tokenizer.json": "{}", "config.json": "{}", "vocab.bin": b"",
        "data/train.parquet": b"", "scripts/run.sh": "",
    })
    v = facts.values
    assert v["files.weights"] == ["gguf/model-q4.gguf", "model.safetensors", "pytorch_model.bin"]
    assert v["files.data"] == ["data/train.parquet"]
    assert v["files.code"] == ["scripts/run.sh"]
    assert v["repo.files"] == sorted(v["repo.files"])
    assert "training_args.bin" in v["repo.files"]
    assert v["repo.empty"] is False
    assert v["repo.source"] == "local"
    assert v["repo.type"] == "model"


def test_licence_like_files_detected_and_nothing_else(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {
        "README.md": "---\nlicense: mit\n---\n",
        "LICENSE": "Permission is granted.\n",
        "LICENSE.md": "Permission is granted.\n",
        "USE_POLICY.md": "Please be kind.\n",
        "NOTICE": "Copyright Acme.\n",
        "third_party/third_party_license.txt": "Other terms.\n",
        "config.json": "{}", "notes.txt": "license is below", "licenses.json": "{}",
        "model.safetensors": b"", "NOTICES.md": "x", "LICENSE.png": b"\x89PNG",
        "license_check.py": "print()",
    })
    v = facts.values
    assert v["license_text.files"] == ["LICENSE", "LICENSE.md", "NOTICE", "NOTICES.md",
                                       "USE_POLICY.md", "third_party/third_party_license.txt"]
    assert v["license.stated"] is True
    assert v["terms.text_read"] is True
    assert v["files.unreadable"] == []


@pytest.mark.parametrize(("front", "licence", "note"), [
    ("license: [apache-2.0, MIT]", ["apache-2.0", "mit"], ""),
    ("license: Apache-2.0", ["apache-2.0"], ""),
    ("license: 3", ["3"], "(`license` is a int, not a string)"),
    ("license: ''", [], ""),  # the key is there (evidence) but declares nothing
    ("language: en", [], None),
])
def test_card_licence_shapes(tmp_path: Path, front: str, licence: list[str],
                             note: str | None) -> None:
    facts = facts_for(tmp_path, {"README.md": f"---\n{front}\n---\n# x\n"})
    assert facts.values["card.license"] == licence
    assert facts.values["card.metadata_status"] == "ok"
    if note is None:  # nothing declared, so no evidence either
        assert "card.license" not in facts.evidence
    else:
        (ev,) = facts.evidence["card.license"]
        assert ev.source == "README.md" and ev.line == 2
        assert ev.excerpt is not None and ev.excerpt.startswith("license: ")
        assert ev.excerpt.endswith(note)


def test_numeric_licence_is_unknown_id(tmp_path: Path) -> None:
    v = facts_for(tmp_path, {"README.md": "---\nlicense: 3\n---\n"}).values
    assert v["license.unknown_ids"] == ["3"]
    assert v["license.declared"] == []


CARD_FACTS = ("card.license", "card.license_name", "card.license_link", "card.datasets",
              "card.base_model", "card.library_name", "card.tags", "card.pretty_name")


@pytest.mark.parametrize(("readme", "status", "reason_part"), [
    ("---\nlicense: [apache\n---\n## Citation\ncite me\n", "malformed",
     "invalid YAML at README.md line"),
    ("---\n- apache-2.0\n- mit\n---\n## Citation\ncite me\n", "not-a-mapping",
     "front matter is a list, not a mapping"),
    ("---\njust a string\n---\n## Citation\ncite me\n", "not-a-mapping",
     "front matter is a str"),
])
def test_broken_front_matter_makes_card_facts_unknown(tmp_path: Path, readme: str, status: str,
                                                      reason_part: str) -> None:
    facts = facts_for(tmp_path, {"README.md": readme})
    v = facts.values
    assert v["card.metadata_status"] == status
    for name in CARD_FACTS:
        assert v[name] is None, name
        assert f"README.md front matter is {status}" in facts.unknown_reasons[name]
        assert reason_part in facts.unknown_reasons[name]
    assert v["license.declared"] is None
    assert v["license.stated"] is None  # no licence file either: unknowable, not "no"
    assert v["readme.sections"] == ["citation"]  # the body is still read


def test_broken_front_matter_with_licence_file_still_states_a_licence(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": "---\nlicense: [mit\n---\n", "LICENSE": "Terms.\n"})
    assert facts.values["card.license"] is None
    assert facts.values["license.stated"] is True


def test_non_utf8_readme(tmp_path: Path) -> None:
    readme = b"---\nlicense: mit\n---\n## Citation\n\nCaf\xe9 et al.\n\n## Training Data\n\nweb\n"
    facts = facts_for(tmp_path, {"README.md": readme})
    v = facts.values
    assert v["files.non_utf8"] == ["README.md"]
    assert v["files.unreadable"] == []
    assert v["readme.sections"] == ["citation", "training_data"]
    assert v["card.license"] == ["mit"]
    assert "\ufffd" in v["readme.section.citation"]


def test_licence_file_over_size_cap_is_unreadable(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": "---\nlicense: mit\n---\n",
                                 "LICENSE": b"x" * (MAX_FILE_BYTES + 1)})
    v = facts.values
    assert v["files.unreadable"] == ["LICENSE"]
    (ev,) = facts.evidence["files.unreadable"]
    assert ev.source == "LICENSE" and ev.excerpt is not None and "too large" in ev.excerpt
    assert v["terms.text_read"] is None
    assert "too large" in facts.unknown_reasons["terms.text_read"]
    assert v["license.mismatches"] is None
    assert v["license_text.files"] == ["LICENSE"]


def test_file_at_size_cap_is_read(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": "---\nlicense: mit\n---\n",
                                 "LICENSE": b"x" * MAX_FILE_BYTES})
    assert facts.values["files.unreadable"] == []
    assert facts.values["terms.text_read"] is True


def test_readme_over_size_cap_makes_card_and_body_unknown(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": b"# x\n" + b"y" * MAX_FILE_BYTES})
    v = facts.values
    assert v["card.present"] is True
    assert v["files.unreadable"] == ["README.md"]
    for name in ("card.license", "card.metadata_status", "readme.sections", "links.code"):
        assert v[name] is None, name
        assert "too large" in facts.unknown_reasons[name]


@pytest.mark.parametrize(("front", "gated", "prompt", "line"), [
    ("license: mit", "false", "", None),
    ("license: mit\nextra_gated_prompt: Tell us who you are", "auto", "Tell us who you are", 3),
    ("license: mit\nextra_gated_fields:\n  Company: text\n  Country: country", "auto",
     "Company\nCountry", 3),
    ("license: mit\ngated: manual", "manual", "", 3),
    ("license: mit\nextra_gated_prompt: Wait for approval\ngated: manual", "manual",
     "Wait for approval", 4),
])
def test_gated_from_local_card(tmp_path: Path, front: str, gated: str, prompt: str,
                               line: int | None) -> None:
    facts = facts_for(tmp_path, {"README.md": f"---\n{front}\n---\n"})
    assert facts.values["access.gated"] == gated
    assert facts.values["access.gate_prompt"] == prompt
    # the README line of `gated:`, else of the first extra_gated_* key
    assert facts.evidence["access.gated"] == (
        Evidence("README.md front matter: gated", line, gated),)


def test_eu_disallowed_is_a_territorial_restriction(tmp_path: Path) -> None:
    v = facts_for(tmp_path, {"README.md": "---\nlicense: mit\nextra_gated_eu_disallowed: true\n"
                                          "---\n"}).values
    assert v["access.eu_disallowed"] is True
    assert v["access.gated"] == "auto"
    assert v["terms.restrictions"] == ["territorial"]


# ---------------------------------------------------------------------------------------------
# Licence text versus metadata
# ---------------------------------------------------------------------------------------------

RAIL_LIKE = """\
Tiny Responsible Model Licence (a paraphrase written for tests)

Section 5. You agree not to use the Model or Derivatives of the Model for any of the
purposes listed as use restrictions in Attachment A.

Section 6. The use-based restrictions of Section 5 must be included as an enforceable
provision in every agreement under which you pass on the Model or Derivatives of the Model.

Attachment A - Use Restrictions
You agree not to use the Model:
- to violate any applicable laws;
- to spread disinformation;
- to harass or defame people;
- to exploit minors.
"""

RAIL_README = """\
---
language: en
tags:
  - text
license: apache-2.0
---
# Tiny model
"""


def test_card_says_apache_but_licence_is_rail_like(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": RAIL_README, "LICENSE": RAIL_LIKE})
    v = facts.values
    assert v["card.license"] == ["apache-2.0"]
    assert v["license.mismatches"]
    assert "behavioural-use" in v["license.mismatches"][0]
    assert "behavioural-use" in v["terms.restrictions"]
    assert "flow-down" in v["terms.restrictions"]
    assert {"R1", "R2"} <= set(v["license_text.signals"])
    assert v["license.osi_approved"] is False
    assert v["license.weights_terms"] == "restricted"
    # the restriction evidence points into LICENSE
    assert any(ev.source == "LICENSE" and ev.line is not None
               for ev in facts.evidence["terms.restrictions"])


def test_card_licence_evidence_points_at_the_readme_line(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": RAIL_README, "LICENSE": RAIL_LIKE})
    assert facts.evidence["card.license"] == (Evidence("README.md", 5, "license: apache-2.0"),)
    assert facts.evidence["card.tags"] == (Evidence("README.md", 3, "tags: ['text']"),)


def test_matching_permissive_licence_has_no_mismatch(tmp_path: Path) -> None:
    licence = ("MIT-style terms (paraphrase). Permission is hereby granted, free of charge, to any "
               "person obtaining a copy of this software, to deal in the Software without "
               "restriction, including the rights to use, copy, modify, merge, publish, "
               "distribute, sublicense, and/or sell copies of the Software.\n")
    v = facts_for(tmp_path, {"README.md": "---\nlicense: mit\n---\n", "LICENSE": licence}).values
    assert v["license_text.families"] == ["mit"]
    assert v["license.mismatches"] == []
    assert v["terms.restrictions"] == []
    assert v["license.osi_approved"] is True


def test_quoted_key_evidence_still_points_at_readme(tmp_path: Path) -> None:
    facts = facts_for(tmp_path, {"README.md": '---\n"license": mit\n---\n'})
    assert facts.evidence["card.license"] == (Evidence("README.md", 2, "license: mit"),)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------


def test_same_folder_same_facts(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "repo", {
        "README.md": LINKS_README, "LICENSE": RAIL_LIKE, "z.safetensors": b"", "a.safetensors": b"",
        "b/train.py": "", "NOTICE": "n",
    })
    first, second = facts_of(folder), facts_of(folder)  # the second from the memos
    assert first == second
    for a, b in ((first.values, second.values), (first.unknown_reasons, second.unknown_reasons),
                 (first.evidence, second.evidence)):
        assert list(a) == list(b)  # the same order too, so anything printed diffs cleanly
    for name, value in first.values.items():
        if isinstance(value, list):
            assert value == sorted(set(value)), name
    assert first.values["files.weights"] == ["a.safetensors", "z.safetensors"]


# ---------------------------------------------------------------------------------------------
# Evidence lines: every README or licence citation names the README.md / file line
# ---------------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_licence_section_hits_cite_readme_lines_on_rail_model() -> None:
    readme = EXAMPLES / "rail-model" / "README.md"
    facts = facts_of(EXAMPLES / "rail-model")
    cited = {e.line for e in facts.evidence["terms.restrictions:behavioural-use"]
             if e.source == "README.md (licence section)"}
    assert cited == {_line(readme, "Attachment A lists use restrictions")}
    assert facts.evidence["card.license"] == (
        Evidence("README.md", _line(readme, "license: bigscience-openrail-m"),
                 "license: bigscience-openrail-m"),)
    assert facts.evidence["card.datasets"][0].line == _line(readme, "datasets:")


def test_card_keys_and_gating_cite_front_matter_lines_on_gated_release() -> None:
    readme = EXAMPLES / "gated-release" / "README.md"
    facts = facts_of(EXAMPLES / "gated-release")
    assert facts.evidence["access.gated"] == (
        Evidence("README.md front matter: gated", _line(readme, "extra_gated_prompt:"), "auto"),)
    for fact, key in (("card.license", "license:"), ("card.library_name", "library_name:"),
                      ("card.tags", "tags:"), ("card.datasets", "datasets:")):
        assert [e.line for e in facts.evidence[fact]] == [_line(readme, key)], fact


def test_data_evidence_cites_the_training_data_section_on_weights_only() -> None:
    readme = EXAMPLES / "weights-only" / "README.md"
    facts = facts_of(EXAMPLES / "weights-only")
    section = Evidence("README.md", _line(readme, "## Training Data"), "Training Data")
    assert facts.values["data.sources"] == []
    assert facts.evidence["data.sources"] == (section,)  # nothing located: where to look
    assert facts.evidence["readme.sections:training_data"] == (section,)
    assert "readme.sections:preprocessing" not in facts.evidence
    details = _line(readme, "## Model Details")
    assert facts.evidence["readme.sections:model_details"] == (
        Evidence("README.md", details, "Model Details"),)


def test_data_sources_cite_links_datasets_then_section_on_gated_release() -> None:
    readme = EXAMPLES / "gated-release" / "README.md"
    lines = [e.line for e in facts_of(EXAMPLES / "gated-release").evidence["data.sources"]]
    assert lines[-2:] == [_line(readme, "datasets:"), _line(readme, "## Training Data")]


def test_gate_prompt_hits_cite_their_readme_lines(tmp_path: Path) -> None:
    front = ("license: mit\nextra_gated_heading: Access\nextra_gated_prompt: |\n\n  Please read."
             "\n\n  You may use the model for non-commercial research purposes only.\n"
             "extra_gated_fields:\n  Name: text\n"
             "  I will use it for non-commercial purposes only: checkbox\n")
    facts = facts_for(tmp_path, {"README.md": f"---\n{front}---\n# X\n"})
    lines = {e.line for e in facts.evidence["access.gate_restrictions"]}
    assert facts.values["access.gate_restrictions"] == ["non-commercial", "research-only"]
    assert lines == {8, 11}  # the prompt's third line, and the checkbox field's own line
    assert all(e.source == "README.md (extra_gated_prompt)"
               for e in facts.evidence["access.gate_restrictions"])


def test_broken_front_matter_unknowns_cite_the_line_it_breaks_on(tmp_path: Path) -> None:
    text = "---\nlicense: mit\ntags: [a, b\nfoo: 1\n---\n# X\n\n## Training Data\n\nWeb text.\n"
    facts = facts_for(tmp_path, {"README.md": text})
    (status,) = facts.evidence["card.metadata_status"]
    line = 4  # where the unclosed flow list meets the next key
    assert status == Evidence("README.md", line, "invalid YAML at README.md line 4: expected ','"
                              " or ']', but got ':'")
    for name in ("card.license", "access.gated", "license.declared", "data.sources"):
        assert facts.values[name] is None, name
        assert facts.evidence[name] == (
            Evidence("README.md", line, f"unknown: {facts.unknown_reasons[name]}"),), name


@pytest.mark.parametrize(("text", "line"), [
    ("---\nlicense: mit\n# never closed\n", 1),
    ("---\n- a list\n---\n# X\n", 2),
])
def test_front_matter_problems_without_a_yaml_mark_cite_the_front_matter(
        tmp_path: Path, text: str, line: int) -> None:
    facts = facts_for(tmp_path, {"README.md": text})
    assert [e.line for e in facts.evidence["card.metadata_status"]] == [line]
    assert [e.line for e in facts.evidence["card.license"]] == [line]
