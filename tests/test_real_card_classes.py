"""One test per failure class seen on real Hub cards (issue: verdicts that hold on real cards).

Each fixture is a small card written for its class, reduced from how real cards are written:
decorated and numbered headings, setext and bold-line headings, data under a parent section or
in a table row, code links in labelled lists, generic frameworks, documents inside code
repositories, Hub datasets outside the data section, and the Hub's own metadata.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openaudit import readme as md
from openaudit.engine import audit
from openaudit.facts import build_facts
from openaudit.local import read_folder
from openaudit.models import Facts, RepoType, Target
from openaudit.packs import load_ruleset
from treeutil import write_tree

RULESET = load_ruleset()


def facts_of(tmp_path: Path, readme: str, **files: str) -> Facts:
    folder = write_tree(tmp_path / "repo", {"README.md": readme, **files})
    return build_facts(read_folder(folder, RepoType.MODEL), RULESET.catalogue, RULESET.signals)


def outcomes(facts: Facts) -> dict[str, str]:
    pack = RULESET.pack_for(RepoType.MODEL)
    report = audit(pack, facts, Target("repo", RepoType.MODEL, "local", None, None))
    return {f.rule_id: f.outcome.value for f in report.findings}


@pytest.mark.parametrize(("heading", "name"), [
    ("🟣 Training", "training_procedure"),
    ("📚 Dataset", "training_data"),
    ("3. Training Data", "training_data"),
    ("2.1 Pretraining data", "training_data"),
    ("**Training data**", "training_data"),
    ("Model Details (training)", "model_details"),
    ("Details (training data)", "training_data"),
    ("Datasets used", "training_data"),
    ("Data mix", "training_data"),
    ("Dataset and Training", "training_data"),
    ("Pretraining", "training_procedure"),
    ("Data & Preprocessing", "preprocessing"),
])
def test_decorated_numbered_and_qualified_headings(heading: str, name: str) -> None:
    assert md.canonical_section(heading) == name


def test_setext_h1_everywhere_and_bold_line_headings() -> None:
    body = ("Training\n========\n\nWe trained for 3 epochs.\n\n# Data\n\nSee below.\n\n"
            "**Evaluation**\n\nScores.\n")
    names = [(s.name, s.line) for s in md.parse(body).sections]
    assert names == [("training_procedure", 1), ("training_data", 6), ("evaluation", 10)]


def test_subsection_data_under_a_parent_and_in_a_table_row() -> None:
    body = ("## Training Details\n\n### Training Data\n\nA web corpus.\n\n"
            "## Setup\n\n| Setting | Value |\n|---|---|\n| Data Preprocessing | dedup |\n")
    doc = md.parse(body)
    by_name = {s.name: s for s in doc.sections}
    assert "A web corpus." in by_name["training_procedure"].text  # the parent holds it
    assert by_name["training_data"].text == "A web corpus."
    assert by_name["preprocessing"].text == "| Data Preprocessing | dedup |"  # a row label


def test_code_fences_hold_no_headings_but_their_urls_are_links() -> None:
    body = "```bash\n# Training\ngit clone https://github.com/acme/trainer\n```\n"
    doc = md.parse(body)
    assert doc.sections == ()
    assert [lk.url for lk in doc.links] == ["https://github.com/acme/trainer"]


def test_hub_dataset_in_a_resources_list_is_a_data_source(tmp_path: Path) -> None:
    readme = ("---\nlicense: apache-2.0\n---\n## Resources\n\n"
              "- [Pretraining corpus](https://huggingface.co/datasets/acme/web-corpus)\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.sources"] == ["acme/web-corpus"]
    assert outcomes(facts)["DATA-002"] == "pass"


def test_a_policy_pdf_in_a_data_section_is_not_a_source(tmp_path: Path) -> None:
    readme = ("---\nlicense: apache-2.0\n---\n## Training Data\n\nPublicly available data, "
              "filtered under our [policy](https://example.org/responsible-use-policy.pdf).\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.sources"] == []
    assert outcomes(facts)["DATA-002"] == "fail"


def test_a_named_public_corpus_locates_the_data(tmp_path: Path) -> None:
    readme = "---\nlicense: apache-2.0\n---\n## Training data\n\nTrained on the Pile.\n"
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.public_corpora"] == ["The Pile"]
    assert any("pile.eleuther.ai" in s for s in facts.values["data.sources"])


@pytest.mark.parametrize("line", [
    "- [Training Code](https://github.com/acme/lm)",
    "- **Repository:** https://github.com/acme/lm",
    "Repository: https://github.com/acme/lm",
    "Trained on web text with the [Acme library](https://github.com/acme/lm).",
    "The original model is at https://github.com/acme/lm.",
    "First released in [this repository](https://github.com/acme/lm).",
    "https://github.com/acme/lm",  # alone under the title: the project's home
    "<https://github.com/acme/lm>",
])
def test_code_presented_as_the_model_s_code_counts_as_training_code(tmp_path: Path,
                                                                    line: str) -> None:
    readme = f"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# Model\n\n{line}\n"
    facts = facts_of(tmp_path, readme)
    assert facts.values["code.training"] == ["https://github.com/acme/lm"]


@pytest.mark.parametrize("line", [
    "Training used [JAX](https://github.com/google/jax).",
    "Trained with [DeepSpeed](https://github.com/microsoft/DeepSpeed).",
    "Both were trained on the [chat format](https://github.com/acme/format) only.",
    "Trained from Acme-Base; the [Acme](https://github.com/acme/acme) repo has the architecture.",
    "See the [paper](https://github.com/acme/lm/blob/main/paper.pdf).",
    # recipes for *using* the model downstream are not the model's training code
    "Recipes for using Acme in applications are [here](https://github.com/acme/acme-recipes).",
    "## Evaluation\n\nhttps://github.com/acme/acme",  # alone, but under a named section
    "## Other\n\nhttps://github.com/acme/acme",  # alone, under a later heading
    "We compare against https://github.com/acme/acme in the paper.",  # inside a sentence
])
def test_frameworks_formats_and_documents_are_not_training_code(tmp_path: Path,
                                                                line: str) -> None:
    readme = f"---\nlicense: apache-2.0\n---\n# Model\n\n{line}\n"
    facts = facts_of(tmp_path, readme)
    assert facts.values["code.training"] == []
    assert outcomes(facts)["CODE-001"] == "fail"


def test_hub_library_name_is_inference_code(tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "repo", {"README.md": "---\nlicense: mit\n---\n# M\n"})
    snapshot = read_folder(folder, RepoType.MODEL)
    snapshot = type(snapshot)(**{**snapshot.__dict__, "library_name": "transformers"})
    facts = build_facts(snapshot, RULESET.catalogue, RULESET.signals)
    assert facts.values["code.inference"] == ["library:transformers"]


def test_spdx_expression_judges_every_licence(tmp_path: Path) -> None:
    facts = facts_of(tmp_path, "---\nlicense: apache-2.0 OR mit\n---\n# M\n")
    assert facts.values["card.license"] == ["apache-2.0", "mit"]
    assert facts.values["license.weights_terms"] == "osi-approved"
    restricted = facts_of(tmp_path / "b", "---\nlicense: (mit AND llama3.1)\n---\n# M\n")
    assert restricted.values["license.weights_terms"] == "restricted"


def test_legacy_licenses_key_is_read(tmp_path: Path) -> None:
    facts = facts_of(tmp_path, "---\nlicenses: [cc-by-4.0]\n---\n# M\n")
    assert facts.values["card.license"] == ["cc-by-4.0"]


def test_restricted_weights_fail_the_parameter_terms_once(tmp_path: Path) -> None:
    readme = "---\nlicense: llama3.1\n---\n# M\n"
    facts = facts_of(tmp_path, readme, **{"model.safetensors": ""})
    got = outcomes(facts)
    assert got["PARAM-004"] == "fail"
    assert got["PARAM-001"] == "pass"


def test_placeholders_are_not_content(tmp_path: Path) -> None:
    readme = ("---\nlicense: mit\n---\n## Training Data\n\n[More Information Needed]\n\n"
              "## Preprocessing [optional]\n\n[More Information Needed]\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["readme.sections"] == []
    assert sorted(facts.values["readme.placeholder_sections"]) == ["preprocessing",
                                                                    "training_data"]
    assert outcomes(facts)["DATA-001"] == "fail"


def test_withheld_data_is_a_warning(tmp_path: Path) -> None:
    readme = ("---\nlicense: mit\ndatasets: [acme/web]\n---\n## Training Data\n\nacme/web plus "
              "three internal corpora that will not be distributed.\n")
    assert outcomes(facts_of(tmp_path, readme))["DATA-005"] == "warn"


# --- Classes found on the labelled corpus after the evidence layer was rebuilt ---------------

_FM = "---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n"


@pytest.mark.parametrize(("data", "withdrawn"), [
    ("Trained on subsets of LAION-2B(en) filtered by aesthetic score.", ["LAION-5B"]),
    ("Pretrained on BookCorpus and English Wikipedia.", ["BookCorpus"]),
    ("The Pile, without the Books3 subset, and RefinedWeb.", []),
    ("A subset of Re-LAION-5B with aesthetic score >= 5.", []),
    ("BookCorpusOpen and Wikipedia.", []),
])
def test_withdrawn_corpora_leave_the_data_in_doubt(tmp_path: Path, data: str,
                                                   withdrawn: list[str]) -> None:
    facts = facts_of(tmp_path, f"{_FM}# Acme\n\n## Training Data\n\n{data}\n")
    assert [w.split(" (")[0] for w in facts.values["data.withdrawn"]] == withdrawn
    assert outcomes(facts)["DATA-007"] == ("warn" if withdrawn else "pass")


def test_a_withdrawn_corpus_outside_the_data_sections_is_not_training_data(
        tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Limitations\n\nLAION-5B holds adult material.\n\n"
              "## Training Data\n\nOur own licensed photos.\n")
    assert facts_of(tmp_path, readme).values["data.withdrawn"] == []


def test_a_base_named_in_the_text_whose_data_only_its_own_card_describes(
        tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme-Embed\n\nStarting from the pretrained "
              "[`acme/mini-base`](https://huggingface.co/acme/mini-base), the model was "
              "fine-tuned on 1B sentence pairs.\n\n## Training Data\n\n"
              "[acme/pairs](https://huggingface.co/datasets/acme/pairs), deduplicated.\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["lineage.base_models"] == ["acme/mini-base"]
    assert facts.values["lineage.base_data_described"] is None
    assert "acme/mini-base" in facts.unknown_reasons["lineage.base_data_described"]
    found = outcomes(facts)
    assert found["DATA-008"] == "not-tested"
    pack = RULESET.pack_for(RepoType.MODEL)
    report = audit(pack, facts, Target("repo", RepoType.MODEL, "local", None, None))
    data = next(p for p in report.pillars if p.name == "data-information")
    assert data.outcome.value == "not-tested"
    assert report.verdict.value != "compliant"  # unread evidence never passes


def test_a_base_from_the_front_matter_whose_data_the_card_describes(tmp_path: Path) -> None:
    readme = ("---\nlicense: apache-2.0\nbase_model:\n- acme/acme-8b-base\n---\n# Acme-8B-Instruct"
              "\n\n## Training Data\n\n### Datasets used in Acme 8B Base\n\n"
              "- [Acme Web](https://huggingface.co/datasets/acme/web)\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["lineage.base_models"] == ["acme/acme-8b-base"]
    assert facts.values["lineage.base_data_described"] is True
    assert outcomes(facts)["DATA-008"] == "pass"


@pytest.mark.parametrize("line", [
    "It was fine-tuned from [base](https://huggingface.co/acme/base) on chat data.",
    "Weights initialised from [acme/base](https://huggingface.co/acme/base).",
])
def test_starting_point_phrasings(tmp_path: Path, line: str) -> None:
    facts = facts_of(tmp_path, f"{_FM}# Acme\n\n{line}\n")
    assert facts.values["lineage.base_models"] == ["acme/base"]


def test_a_compared_model_is_not_a_base(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Evaluation\n\nStarting from the pretrained "
              "[rival](https://huggingface.co/rival/model) scores, ours wins.\n\n"
              "It beats [rival/model](https://huggingface.co/rival/model).\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["lineage.base_models"] == []
    assert facts.values["lineage.base_data_described"] is True


def test_dataset_records_on_a_data_archive_count_as_published_data(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme-TS\n\n## Training Data\n\nDatasets from a forecasting archive:\n"
              " - Solar Power: https://zenodo.org/records/4656027\n"
              " - Wind Power: https://zenodo.org/records/4656032\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.records"] == ["https://zenodo.org/records/4656027",
                                            "https://zenodo.org/records/4656032"]
    found = outcomes(facts)
    assert (found["DATA-002"], found["DATA-003"]) == ("pass", "pass")


def test_a_download_page_is_a_source_but_not_a_documented_record(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Training Data\n\nA web crawl, "
              "[download](https://acme.example/crawl.tar.gz).\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.records"] == []
    assert outcomes(facts)["DATA-003"] == "fail"


def test_published_data_reconstruction_code_locates_the_sources(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Training\n\n### Open resources\n\n"
              "- **Training data reconstruction scripts:** "
              "[github.com/acme/pretrain-data](https://github.com/acme/pretrain-data)\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.sources"] == []
    assert facts.values["code.data_processing"] == ["https://github.com/acme/pretrain-data"]
    assert outcomes(facts)["DATA-002"] == "pass"


def test_the_upstream_of_an_unpublished_fork_is_not_the_training_code(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Training\n\n* **Software**: a fork of "
              "[gpt-neox](https://github.com/acme/gpt-neox) with custom kernels.\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["code.training"] == []
    assert facts.values["code.training_upstream"] == ["https://github.com/acme/gpt-neox"]
    found = outcomes(facts)
    assert (found["CODE-001"], found["CODE-005"]) == ("pass", "warn")


def test_an_open_licence_outside_osis_list_leaves_the_freedoms_in_doubt(tmp_path: Path) -> None:
    readme = "---\nlicense: cc-by-sa-4.0\nlibrary_name: transformers\n---\n# Acme\n"
    found = outcomes(facts_of(tmp_path, readme))
    assert (found["USE-011"], found["PARAM-002"]) == ("warn", "warn")
    approved = outcomes(facts_of(tmp_path / "b", _FM + "# Acme\n"))
    assert approved["USE-011"] == "pass"



def test_a_base_trained_on_the_same_data_this_card_describes(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme-2-1\n\n`acme-2-1` was fine-tuned from "
              "[acme-2](https://huggingface.co/acme/acme-2) for 55k more steps on the same "
              "dataset.\n\n## Training Data\n\nA filtered web image corpus.\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["lineage.base_models"] == ["acme/acme-2"]
    assert facts.values["lineage.base_data_described"] is True


def test_front_matter_bases_that_cannot_name_a_model_are_not_bases(tmp_path: Path) -> None:
    readme = ("---\nlicense: apache-2.0\nbase_model:\n- 123\n- {name: x}\n- acme/base\n---\n"
              "# Acme\n")
    assert facts_of(tmp_path, readme).values["lineage.base_models"] == ["acme/base"]


def test_a_dataset_record_behind_a_doi_is_a_record_not_a_paper(tmp_path: Path) -> None:
    readme = (f"{_FM}# Acme\n\n## Training Data\n\nSensor readings: "
              "https://doi.org/10.5281/zenodo.4656027.\n")
    facts = facts_of(tmp_path, readme)
    assert facts.values["data.records"] == ["https://doi.org/10.5281/zenodo.4656027"]
    assert outcomes(facts)["DATA-003"] == "pass"
