"""The documented fact vocabulary: every fact a rule may reference, its type and meaning.

Rule files are validated against this table, ``openaudit facts`` prints these keys, and the README's
fact table is checked against it by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from openaudit.readme import SECTION_NAMES


@dataclass(frozen=True)
class FactSpec:
    """Name, value type (``str``, ``bool``, ``list``) and a one-line description."""

    name: str
    type: str
    description: str

    def empty(self) -> object:
        """The value that means "no such evidence" (never None: None means unknown)."""
        return {"str": "", "bool": False, "list": []}[self.type]


_SPECS: list[tuple[str, str, str]] = [
    ("repo.type", "str", "model or dataset"),
    ("repo.source", "str", "hub or local"),
    ("repo.files", "list", "every file path in the repository"),
    ("repo.empty", "bool", "the repository holds no files besides .gitattributes"),
    ("card.present", "bool", "README.md exists"),
    ("card.metadata_status", "str", "ok, missing, malformed or not-a-mapping (README front matter)"),
    ("card.license", "list", "card `license` values, lower-cased (a string or number becomes a list)"),
    ("card.license_name", "str", "card `license_name`"),
    ("card.license_link", "str", "card `license_link`"),
    ("card.datasets", "list", "card `datasets` entries"),
    ("card.base_model", "list", "card `base_model` entries"),
    ("card.base_model_relation", "str", "card `base_model_relation` (or the Hub's inferred one)"),
    ("card.library_name", "str", "card or Hub `library_name`"),
    ("card.tags", "list", "card `tags`"),
    ("card.source_datasets", "list", "dataset card `source_datasets`"),
    ("card.pretty_name", "str", "dataset card `pretty_name`"),
    ("card.language_creators", "list", "dataset card `language_creators`"),
    ("card.annotations_creators", "list", "dataset card `annotations_creators`"),
    ("access.gated", "str", "false, auto (click-through) or manual (owner approves each user)"),
    ("access.gate_prompt", "str", "`extra_gated_prompt` text plus `extra_gated_fields` labels"),
    ("access.eu_disallowed", "bool", "`extra_gated_eu_disallowed: true`"),
    ("access.gate_restrictions", "list", "restrictions found in the gate prompt text"),
    ("license.declared", "list", "licence ids declared in metadata (`other` resolved via license_name)"),
    ("license.effective", "list", "catalogue ids the audit judges by (licence text wins over metadata)"),
    ("license.stated", "bool", "a licence is declared in metadata or shipped as a licence file"),
    ("license.unknown_ids", "list", "declared ids or names the licence catalogue does not know"),
    ("license.spdx", "list", "SPDX ids (or LicenseRef-…) of the effective licences"),
    ("license.osi_approved", "bool", "every effective licence is OSI-approved and no text restriction"),
    ("license.weights_terms", "str", "osi-approved, open (open but not OSI-approved), restricted or unknown"),
    ("license.categories", "list", "catalogue categories of the effective licences"),
    ("license.restrictions", "list", "restrictions the catalogue lists for the effective licences"),
    ("license.mismatches", "list", "disagreements between metadata and licence text"),
    ("license_text.files", "list", "licence-like files present (LICENSE*, USE_POLICY*, NOTICE*…)"),
    ("license_text.families", "list", "licences identified in licence texts by fingerprint"),
    ("license_text.signals", "list", "clause signal ids found in licence texts (R1, A1, L1…)"),
    ("license_text.restrictions", "list", "restrictions found in licence texts and the README licence section"),
    ("terms.restrictions", "list", "all known restrictions: catalogue, licence text, gate prompt, EU block"),
    ("terms.text_read", "bool", "every licence-like file was read (unknown when one could not be)"),
    ("readme.sections", "list", "canonical README sections with real content"),
    ("readme.placeholder_sections", "list", "canonical README sections holding only placeholders"),
    ("readme.text", "str", "README body (front matter removed)"),
    *[
        (f"readme.section.{name}", "str", f"text of the README `{name}` section(s)")
        for name in SECTION_NAMES
    ],
    ("links.code", "list", "links to code hosts (GitHub, GitLab, Codeberg…)"),
    ("links.papers", "list", "links to papers and technical reports (arXiv, DOI, ACL…)"),
    ("links.arxiv", "list", "arXiv ids from README links and Hub `arxiv:` tags"),
    ("links.datasets", "list", "Hub dataset ids linked in the README or tagged `dataset:`"),
    ("links.checkpoints", "bool", "the README mentions intermediate checkpoints or revisions"),
    ("code.training", "list", "training code: code links of kind training, train*.py files"),
    ("code.training_upstream", "list", "training code links the card presents as the upstream of a fork it used"),
    ("code.data_processing", "list", "data-processing code links"),
    ("code.evaluation", "list", "evaluation code links"),
    ("code.inference", "list", "inference code: links, *.py files, library:<library_name>"),
    ("data.public_corpora", "list", "well-known public corpora (vocabulary) a data section names"),
    ("data.records", "list", "links in data sections to one dataset's record (Hub dataset, Zenodo, Kaggle…)"),
    ("data.withdrawn", "list", "withdrawn corpora (vocabulary) a data or training section names as used"),
    ("lineage.base_models", "list", "base models: `base_model`, the Hub's `base_model:` tags, models the card starts from"),
    ("lineage.base_data_described", "bool", "the card describes its base models' training data (unknown: only their own cards do)"),
    ("data.sources", "list", "training data sources: card datasets, Hub dataset links, URLs in data sections"),
    ("files.weights", "list", "parameter files (*.safetensors, *.bin, *.gguf, *.pt, *.ckpt…)"),
    ("files.code", "list", "source files in the repo (*.py, *.sh, *.ipynb…)"),
    ("files.data", "list", "data files (*.parquet, *.jsonl, *.csv, *.arrow, archives…)"),
    ("files.unreadable", "list", "files that could not be read (gated, too large, network)"),
    ("files.non_utf8", "list", "text files that held non-UTF-8 bytes"),
]

FACT_SPECS: dict[str, FactSpec] = {name: FactSpec(name, t, d) for name, t, d in _SPECS}
# The facts that hold prose, which differs from repo to repo even where all else is alike.
FREE_TEXT_FACTS = frozenset({"readme.text", "access.gate_prompt",
                             *(f"readme.section.{name}" for name in SECTION_NAMES)})


def default_facts() -> dict[str, object]:
    """A complete fact mapping with every fact empty (used for rule examples)."""
    return {name: spec.empty() for name, spec in FACT_SPECS.items()}
