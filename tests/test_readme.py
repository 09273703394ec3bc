"""README body analysis: headings to canonical sections, nesting, fences, links and their kinds."""

from __future__ import annotations

import pytest

from openaudit import readme as md


@pytest.mark.parametrize(("heading", "name"), [
    ("Training Data", "training_data"),
    ("Training data", "training_data"),
    ("**Training data**:", "training_data"),
    ("[Training Data](#training-data)", "training_data"),
    ("Pretraining data", "training_data"),
    ("Dataset", "training_data"),
    ("Dataset Summary", "training_data"),
    ("Data mix", "training_data"),
    ("Training Details", "training_procedure"),
    ("Training Procedure", "training_procedure"),
    ("Training Hyperparameters", "training_procedure"),
    ("Training", "training_procedure"),
    ("Preprocessing", "preprocessing"),
    ("Preprocessing [optional]", "preprocessing"),
    ("Pre-processing", "preprocessing"),
    ("Data filtering", "preprocessing"),
    ("Evaluation", "evaluation"),
    ("Results", "evaluation"),
    ("Benchmarks", "evaluation"),
    ("License", "license"),
    ("Licence", "license"),
    ("Terms of use", "license"),
    ("Uses", "uses"),
    ("Direct Use", "uses"),
    ("Out-of-Scope Use", "uses"),
    ("How to use", "uses"),
    ("Bias, Risks, and Limitations", "limitations"),
    ("Limitations", "limitations"),
    ("Source code", "code"),
    ("Code", "code"),
    ("Reproducibility", "code"),
    ("Intermediate checkpoints", "checkpoints"),
    ("Personal and Sensitive Information", "personal_data"),
    ("Privacy", "personal_data"),
    ("Source Data", "collection"),
    ("Data Collection and Processing", "collection"),
    ("Who are the source data producers?", "collection"),
    ("Curation Rationale", "collection"),
    ("Citation", "citation"),
    ("Citation [optional]", "citation"),
    ("BibTeX:", "citation"),
    ("Model Details", "model_details"),
    ("Model Description", "model_details"),
    ("Model Architecture and Objective", "model_details"),
    ("Environmental Impact", None),
    ("Acknowledgements", None),
    ("Contact", None),
])
def test_canonical_section(heading: str, name: str | None) -> None:
    assert md.canonical_section(heading) == name


def test_section_names() -> None:
    assert len(set(md.SECTION_NAMES)) == len(md.SECTION_NAMES)
    assert set(md.SECTION_NAMES) == {
        "preprocessing", "training_data", "training_procedure", "evaluation", "license", "uses",
        "limitations", "code", "checkpoints", "personal_data", "collection", "citation",
        "model_details",
    }


def test_downstream_use_optional_heading_is_uses() -> None:
    assert md.canonical_section("Downstream Use [optional]") == "uses"


NESTED = """\
Intro text before any heading.

# Model card

## Training Details

### Training Data

The corpus.

### Preprocessing [optional]

[More Information Needed]

## Evaluation

Scores.

```python
# Not a heading: inside a fence
## Also not a heading
```

## Citation ##

@misc{x}
"""


def test_split_sections_nesting_and_lines() -> None:
    sections = md.split_sections(NESTED)
    got = [(s.name, s.heading, s.line, s.end_line) for s in sections]
    assert got == [
        ("model_details", "Model card", 3, 26),
        ("training_procedure", "Training Details", 5, 14),
        ("training_data", "Training Data", 7, 10),
        ("preprocessing", "Preprocessing [optional]", 11, 14),
        ("evaluation", "Evaluation", 15, 23),
        ("citation", "Citation", 24, 26),
    ]
    by_name = {s.name: s for s in sections}
    # a parent includes its subsections
    assert "### Training Data" in by_name["training_procedure"].text
    assert "The corpus." in by_name["training_procedure"].text
    assert by_name["training_data"].text == "The corpus."
    # fenced lines are text, not headings
    assert "# Not a heading: inside a fence" in by_name["evaluation"].text
    assert "## Also not a heading" in by_name["evaluation"].text
    assert by_name["citation"].text == "@misc{x}"


def test_split_sections_offsets_line_numbers() -> None:
    sections = md.split_sections("## Citation\ncite\n", first_line=10)
    assert [(s.line, s.end_line) for s in sections] == [(10, 11)]


def test_tilde_fences_hide_headings() -> None:
    body = "~~~\n## Training Data\n~~~\n## Evaluation\nx\n"
    assert [s.name for s in md.split_sections(body)] == ["evaluation"]


@pytest.mark.parametrize(("text", "placeholder"), [
    ("[More Information Needed]", True),
    ("- [More Information Needed]\n- [needs more information]", True),
    ("[N/A]", True),
    ("", True),
    ("  -  ", True),
    ("[More Information Needed]\n\nActual words.", False),
    ("Some real text", False),
])
def test_placeholder_sections(text: str, placeholder: bool) -> None:
    section = md.Section("citation", "Citation", text, 1, 2)
    assert section.is_placeholder is placeholder


def test_heading_needs_space_and_hash_at_line_start() -> None:
    body = "#hashtag\n    ## indented code\n## Evaluation\nok\n"
    assert [s.heading for s in md.split_sections(body)] == ["Evaluation"]


def test_find_links_kinds_from_words_urls_and_sections() -> None:
    body = "\n".join([
        "## Training Procedure",  # 1
        "https://github.com/acme/stuff",  # 2: section fallback
        "## Uses",  # 3
        "Our training code: https://github.com/acme/a",  # 4: words win over section
        "Data processing scripts: https://github.com/acme/b",  # 5
        "The evaluation harness: https://github.com/acme/c.",  # 6: trailing dot stripped
        "Inference server: <https://github.com/acme/d>",  # 7
        "https://github.com/acme/e",  # 8: section fallback (uses -> inference)
        "https://github.com/acme/model-eval-suite",  # 9: words in the URL path
        "## Notes",  # 10
        "https://github.com/acme/f",  # 11
        "Paper: https://arxiv.org/abs/2401.01234 and [ds](https://huggingface.co/datasets/a/b)",
    ])
    links = md.find_links(body, first_line=5)
    got = [(lk.line, lk.url, lk.kinds) for lk in links]
    assert got == [
        (6, "https://github.com/acme/stuff", ("training",)),
        (8, "https://github.com/acme/a", ("training",)),
        (9, "https://github.com/acme/b", ("data",)),
        (10, "https://github.com/acme/c", ("evaluation",)),
        (11, "https://github.com/acme/d", ("inference",)),
        (12, "https://github.com/acme/e", ("inference",)),
        (13, "https://github.com/acme/model-eval-suite", ("evaluation",)),
        (15, "https://github.com/acme/f", ("unspecified",)),
        (16, "https://arxiv.org/abs/2401.01234", ()),
        (16, "https://huggingface.co/datasets/a/b", ()),
    ]


def test_code_hosts() -> None:
    body = ("https://gitlab.com/a/b https://codeberg.org/a/b https://example.org/a/b "
            "https://github.com/onlyowner")
    kinds = {lk.url: lk.kinds for lk in md.find_links(body)}
    assert kinds["https://gitlab.com/a/b"] == ("unspecified",)
    assert kinds["https://codeberg.org/a/b"] == ("unspecified",)
    assert kinds["https://example.org/a/b"] == ()
    assert kinds["https://github.com/onlyowner"] == ()  # a profile, not a repository


def test_arxiv_ids_papers_and_hub_datasets() -> None:
    body = ("See [paper](https://arxiv.org/abs/2401.01234), https://arxiv.org/pdf/2305.1234 and "
            "https://arxiv.org/abs/2401.01234 again; arXiv:9999.99999 in prose is not a link.\n"
            "Data: https://huggingface.co/datasets/acme/web-text. and "
            "https://huggingface.co/datasets/squad and https://huggingface.co/acme/model")
    assert md.arxiv_ids(body) == ["2305.1234", "2401.01234"]
    assert md.hub_dataset_ids(body) == ["acme/web-text", "squad"]
    assert md.is_paper_link("https://doi.org/10.1/x")
    assert md.is_paper_link("https://example.org/report.pdf")
    assert not md.is_paper_link("https://github.com/a/b")
