"""Build the flat fact mapping from a RepoSnapshot. Pure: snapshot in, facts out.

The same function serves Hub repos and local folders, so both are judged identically.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any, cast

from openaudit import readme as md
from openaudit.card import ParsedCard, parse_card, split_front_matter
from openaudit.casefold import casefolded
from openaudit.fact_specs import FACT_SPECS
from openaudit.licenses import Catalogue, SignalSet, scan_text
from openaudit.memo import Memo
from openaudit.models import Evidence, Facts, RepoSnapshot
from openaudit.terms import TermsResult, at_readme_lines, normalise_license_values, resolve_terms
from openaudit.vocabulary import Searcher, Vocabulary, WithdrawnCorpus, builtin_vocabulary

WEIGHT_SUFFIXES = (
    ".safetensors", ".bin", ".gguf", ".ggml", ".pt", ".pth", ".ckpt", ".h5", ".keras", ".msgpack",
    ".onnx", ".tflite", ".mlmodel", ".nemo", ".npz", ".pdparams", ".ot",
)
# Training state saved next to checkpoints is not the model's parameters.
_NOT_WEIGHTS = re.compile(
    r"(^|/)(training_args|tokenizer|vocab|optimizer|scheduler|rng_state|trainer_state)[^/]*$", re.I)
CODE_SUFFIXES = (".py", ".sh", ".ipynb", ".js", ".ts", ".rs", ".go", ".c", ".cpp", ".jl", ".r")
DATA_SUFFIXES = (
    ".parquet", ".jsonl", ".json", ".csv", ".tsv", ".arrow", ".txt", ".xml", ".npy", ".npz",
    ".h5", ".hdf5", ".tar", ".zip", ".gz", ".xz", ".bz2", ".zst", ".7z", ".lz4", ".wav",
    ".flac", ".mp3", ".ogg", ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".mp4", ".webm",
    ".avi", ".pdf", ".webdataset", ".conll", ".vtt", ".srt",
)
# Repo furniture that shares a data suffix but is not data.
_NOT_DATA = re.compile(r"(^|/)(readme|licen[cs]e|notice|requirements|config|"
                       r"tokenizer[^/]*|\.gitattributes)[^/]*$", re.I)
LICENCE_FILE = re.compile(
    r"^(licen[cs]e|copying|use_policy|notices?)([._-].*)?$|licen[cs]e.*\.(md|txt)$|"
    r"acceptable[_-]?use", re.I,
)
# Licence texts are text: a LICENSE.png or license_check.py is not one.
_NOT_LICENCE_TEXT = re.compile(
    r"\.(png|jpe?g|gif|svg|pdf|py|js|ts|json|ya?ml|toml|sh|ipynb|safetensors|bin|zip|gz)$", re.I)
_CHECKPOINTS = re.compile(
    r"intermediate checkpoints?|checkpoints? (are|were) (available|released|published)|"
    r"\brevision\s*=\s*[\"']?step|\bstep\d{3,}\b|branches? (named|called|for each)", re.I,
)
# Every alternative of _CHECKPOINTS starts with one of these words, so every match does too.
_CHECKPOINT_WORDS = ("intermediate", "checkpoint", "revision", "step", "branch")
_TRAIN_FILE = re.compile(r"(^|/)(train|pretrain|finetune)", re.I)
# Sections whose links and corpus names may locate training data; in the first three any
# link that is not a paper, code or policy does, in a training section only one that looks
# like data (a host, words or label that say so).
_DATA_SECTIONS = ("training_data", "preprocessing", "collection", "training_procedure")
_DATA_ONLY_SECTIONS = ("training_data", "preprocessing", "collection")


_COLLECTIONS = (list, tuple, set)


@dataclass
class _Builder:
    """Accumulates values, unknown reasons and evidence while facts are built."""

    values: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)

    def set(self, name: str, value: Any, *evidence: Evidence) -> None:
        # Names are checked once, in build(): set runs some 70 times per repo.
        self.values[name] = sorted(set(value)) if isinstance(value, _COLLECTIONS) else value
        if evidence:
            self.evidence[name] = tuple(evidence)

    def set_unknown(self, name: str, reason: str) -> None:
        assert name in FACT_SPECS, name
        self.values[name] = None
        self.unknown[name] = reason

    def build(self) -> Facts:
        assert self.values.keys() == FACT_SPECS.keys(), (
            f"facts not built: {sorted(FACT_SPECS.keys() - self.values.keys())}; "
            f"not declared: {sorted(self.values.keys() - FACT_SPECS.keys())}")
        # In the order they were built (the same for every repo); whoever prints facts sorts.
        return Facts(self.values, self.unknown, self.evidence)


@lru_cache(maxsize=4096)  # pure, and the same file names recur in nearly every repo
def is_licence_file(path: str) -> bool:
    """True for LICENSE*, LICENCE*, COPYING*, USE_POLICY*, NOTICE*, *license*.md/txt."""
    name = PurePosixPath(path).name
    return bool(LICENCE_FILE.search(name)) and not _NOT_LICENCE_TEXT.search(name)


def is_weights_file(path: str) -> bool:
    """True for parameter files (but not training_args.bin or tokenizer files)."""
    return path.lower().endswith(WEIGHT_SUFFIXES) and not _NOT_WEIGHTS.search(path)


def build_facts(snapshot: RepoSnapshot, catalogue: Catalogue, signals: SignalSet,
                vocab: Vocabulary | None = None) -> Facts:
    """Turn raw evidence into the documented, flat fact mapping (``vocab``: how the card is
    read; the shipped vocabulary unless a ruleset extends it)."""
    vocab = vocab or builtin_vocabulary()
    b = _Builder()
    meta = _metadata(snapshot, signals)
    b.values.update(meta.values)
    b.unknown.update(meta.unknown)
    b.evidence.update(meta.evidence)
    body_facts = _readme(snapshot, meta.body, meta.body_line, b, vocab)
    _terms(snapshot, catalogue, signals, body_facts, b)
    _links_and_code(snapshot, body_facts, b, vocab)
    if meta.error_line is not None:
        _locate_card_unknowns(meta.error_line, b)
    return b.build()


@dataclass(frozen=True)
class _Metadata:
    """The facts of the card metadata, the file list and the gate, and the README body."""

    values: dict[str, Any]
    unknown: dict[str, str]
    evidence: dict[str, tuple[Evidence, ...]]
    body: str  # the README after its front matter ("" without a README)
    body_line: int  # the README line the body starts on
    error_line: int | None  # the README line a broken front matter breaks on


def _metadata(snapshot: RepoSnapshot, signals: SignalSet) -> _Metadata:
    """``_card``, ``_files`` and ``_access`` on the snapshot, remembered per distinct input.

    They read everything but the README body, which is what differs between most cards made
    from one template (or one organisation's releases): only the body is taken afresh.
    """
    readme = snapshot.readme
    text = readme.text if readme is not None else None
    split = split_front_matter(text) if text is not None else None
    key = _metadata_key(snapshot, split)
    hit = _METADATA.get(key) if key is not None else None
    if hit is not None and hit[0] is signals:
        found = hit[1]
        body = "" if text is None else (split[2] if split is not None and split[0] is not None
                                        else text)
        return _Metadata(found.values, found.unknown, found.evidence, body, found.body_line,
                         found.error_line)
    b = _Builder()
    card = _card(snapshot, b)
    _files(snapshot, b)
    _access(card, snapshot, signals, b)
    found = _Metadata(b.values, b.unknown, b.evidence, card.body if card is not None else "",
                      card.body_line if card is not None else 1,
                      card.error_line if card is not None else None)
    if key is not None:
        # The body is left out of the entry: it is the one part taken afresh.
        _METADATA.put(key, (signals, replace(found, body="")))
    return found


def _metadata_key(snapshot: RepoSnapshot,
                  split: tuple[int | None, str, str] | None) -> tuple[Any, ...] | None:
    """Everything ``_metadata`` reads but the README body; None when it cannot be a key."""
    card_data = snapshot.card_data
    try:
        card_key = None if card_data is None else marshal.dumps(cast(Any, card_data))
    except ValueError:  # e.g. a Parquet timestamp in cardData: judge it afresh
        return None
    readme = snapshot.readme
    readme_key = None if readme is None else (readme.path, readme.text is None, readme.error,
                                              readme.decode_errors)
    texts = tuple((t.path, t.text is None, t.error, t.decode_errors)
                  for t in snapshot.license_files)
    key = (snapshot.repo_type, snapshot.source, readme_key, split[:2] if split else None,
           card_key, snapshot.gated, snapshot.tags, snapshot.library_name, snapshot.files, texts)
    return key if sum(len(f) for f in snapshot.files) <= _MAX_KEY_CHARS else None


# The metadata key -> (the signal set it was judged with, the facts without the README body).
_METADATA: Memo[tuple[Any, ...], tuple[SignalSet, _Metadata]] = Memo(2048)
_MAX_KEY_CHARS = 262_144  # file-list characters; a longer list is not kept


def _locate_card_unknowns(line: int, b: _Builder) -> None:
    """Facts unknowable because the front matter is broken cite the README line it breaks on."""
    reason = b.unknown.get("card.license")
    for name, why in b.unknown.items():
        if why == reason and name not in b.evidence:
            b.evidence[name] = (Evidence("README.md", line, f"unknown: {why}"),)


def _card(snapshot: RepoSnapshot, b: _Builder) -> ParsedCard | None:
    """Card metadata: the README front matter, else the Hub's cardData; None when unknowable."""
    b.set("repo.type", snapshot.repo_type.value)
    b.set("repo.source", snapshot.source)
    b.set("card.present", snapshot.readme is not None)
    parsed: ParsedCard | None = None
    if snapshot.readme is not None and snapshot.readme.text is not None:
        parsed = parse_card(snapshot.readme.text)
    if parsed is not None and parsed.status != "ok" and snapshot.card_data:
        parsed = ParsedCard(dict(snapshot.card_data), "ok", body=parsed.body,
                            body_line=parsed.body_line)
    elif parsed is None and snapshot.card_data is not None:
        parsed = ParsedCard(dict(snapshot.card_data), "ok")
    if parsed is None and snapshot.readme is not None:
        reason = f"README.md could not be read: {snapshot.readme.error}"
        b.set_unknown("card.metadata_status", reason)
        for name in _CARD_FIELDS:
            b.set_unknown(name, reason)
        return None
    if parsed is None:
        parsed = ParsedCard({}, "missing")
    status_ev = Evidence("README.md", parsed.error_line, parsed.error) if parsed.error else None
    b.set("card.metadata_status", parsed.status, *([status_ev] if status_ev else []))
    if parsed.status in ("malformed", "not-a-mapping"):
        # What the card declares is unknowable, which is not the same as "declares nothing".
        for name in _CARD_FIELDS:
            b.set_unknown(name, f"README.md front matter is {parsed.status}: {parsed.error}")
        return parsed
    _card_fields(parsed, snapshot, b)
    return parsed


_CARD_FIELDS = (
    "card.license", "card.license_name", "card.license_link", "card.datasets", "card.base_model",
    "card.base_model_relation", "card.library_name", "card.tags", "card.source_datasets",
    "card.pretty_name", "card.language_creators", "card.annotations_creators",
)


def _card_fields(card: ParsedCard, snapshot: RepoSnapshot, b: _Builder) -> None:
    meta = card.metadata

    def ev(key: str) -> tuple[Evidence, ...]:
        if key not in meta:
            return ()
        line = card.key_lines.get(key)
        source = "Hub API cardData" if not line and snapshot.source == "hub" else "README.md"
        return (Evidence(source, line, f"{key}: {_short(meta[key])}"),)

    # the legacy `licenses:` key counts only when `license:` is absent or empty
    key = "licenses" if meta.get("license") in (None, "") and "licenses" in meta else "license"
    licences, note = normalise_license_values(meta.get(key))
    licence_ev = ev(key)
    if note and licence_ev:
        licence_ev = (Evidence(licence_ev[0].source, licence_ev[0].line,
                               f"{licence_ev[0].excerpt} ({note})"),)
    b.set("card.license", licences, *licence_ev)
    b.set("card.license_name", _text(meta.get("license_name")), *ev("license_name"))
    b.set("card.license_link", _text(meta.get("license_link")), *ev("license_link"))
    b.set("card.datasets", _strings(meta.get("datasets")), *ev("datasets"))
    b.set("card.base_model", _strings(meta.get("base_model")), *ev("base_model"))
    relation = _text(meta.get("base_model_relation")) or _relation_from_tags(snapshot.tags)
    b.set("card.base_model_relation", relation, *ev("base_model_relation"))
    library = _text(meta.get("library_name")) or (snapshot.library_name or "")
    b.set("card.library_name", library, *ev("library_name"))
    b.set("card.tags", _strings(meta.get("tags")), *ev("tags"))
    b.set("card.source_datasets", _strings(meta.get("source_datasets")), *ev("source_datasets"))
    b.set("card.pretty_name", _text(meta.get("pretty_name")), *ev("pretty_name"))
    b.set("card.language_creators", _strings(meta.get("language_creators")),
          *ev("language_creators"))
    b.set("card.annotations_creators", _strings(meta.get("annotations_creators")),
          *ev("annotations_creators"))


@dataclass(frozen=True)
class _Body:
    sections: tuple[md.Section, ...]
    links: tuple[md.Link, ...]
    text: str
    licence_lines: md.LineMap  # lines of fact readme.section.license -> README.md lines


_SECTION_FACTS = tuple((name, f"readme.section.{name}") for name in md.SECTION_NAMES)
_SECTION_EVIDENCE = {name: f"readme.sections:{name}" for name in md.SECTION_NAMES}
_README_FACTS = ("readme.sections", "readme.placeholder_sections", "readme.text",
                 *(f"readme.section.{n}" for n in md.SECTION_NAMES))


def _readme(snapshot: RepoSnapshot, card_body: str, first: int, b: _Builder,
            vocab: Vocabulary) -> _Body | None:
    """README facts from the body after the front matter, which starts on line ``first``."""
    if snapshot.readme is not None and snapshot.readme.text is None:
        for name in _README_FACTS:
            b.set_unknown(name, f"README.md could not be read: {snapshot.readme.error}")
        return None
    body = md.blank_comments(card_body)
    doc = md.parse(body, first, vocab)
    sections = doc.sections
    real: list[md.Section] = []
    real_ev: list[Evidence] = []
    held_names: set[str] = set()
    held_ev: list[Evidence] = []
    by_name: dict[str, list[tuple[md.Section, Evidence]]] = {}
    for section in sections:
        item = Evidence("README.md", section.line, section.heading)
        if section.is_placeholder:
            held_names.add(section.name)
            held_ev.append(item)
        else:
            real.append(section)
            real_ev.append(item)
            by_name.setdefault(section.name, []).append((section, item))
    b.set("readme.sections", [s.name for s in real], *real_ev)
    evidence, values = b.evidence, b.values
    for section, item in zip(real, real_ev, strict=True):  # "contains X" cites section X alone
        key = _SECTION_EVIDENCE[section.name]
        evidence[key] = (*evidence.get(key, ()), item)
    b.set("readme.placeholder_sections", list(held_names - {s.name for s in real}), *held_ev)
    values["readme.text"] = body
    for name, fact in _SECTION_FACTS:
        parts = by_name.get(name)
        if parts is None:
            values[fact] = ""  # no such section: no text, no evidence
        else:
            b.set(fact, "\n\n".join(s.text for s, _ in parts), *(item for _, item in parts))
    licence = by_name.get("license", [])
    licence_lines = md.LineMap.of_parts(((s.text, s.text_line) for s, _ in licence),
                                        separator_lines=2)
    return _Body(tuple(sections), doc.links, body, licence_lines)


def _files(snapshot: RepoSnapshot, b: _Builder) -> None:
    files = sorted(snapshot.files)
    b.set("repo.files", files)
    b.set("repo.empty", not [f for f in files if f != ".gitattributes"])
    weights = [f for f in files if is_weights_file(f)]
    b.set("files.weights", weights, *_file_ev(weights))
    code = [f for f in files if f.lower().endswith(CODE_SUFFIXES)]
    b.set("files.code", code, *_file_ev(code))
    data = [f for f in files if f.lower().endswith(DATA_SUFFIXES) and not _NOT_DATA.search(f)]
    b.set("files.data", data, *_file_ev(data))
    texts = [t for t in (snapshot.readme, *snapshot.license_files) if t is not None]
    unreadable = [t for t in texts if t.text is None]
    b.set("files.unreadable", [t.path for t in unreadable],
          *(Evidence(t.path, None, t.error) for t in unreadable))
    non_utf8 = [t.path for t in texts if t.decode_errors]
    b.set("files.non_utf8", non_utf8, *(Evidence(p, None, "non-UTF-8 bytes replaced")
                                        for p in non_utf8))


def _access(card: ParsedCard | None, snapshot: RepoSnapshot, signals: SignalSet,
            b: _Builder) -> None:
    meta: Mapping[str, Any] = card.metadata if card is not None else {}
    key_lines = card.key_lines if card is not None else {}
    gated = str(snapshot.gated).lower()
    gated = {"true": "auto"}.get(gated, gated)  # legacy `gated: true` is automatic approval
    gated = gated if gated in ("auto", "manual") else "false"
    if b.values.get("card.license") is None:
        # The card is unreadable or broken: what it declares about gating is unknowable. On the
        # Hub the gate itself is still known from the API.
        reason = b.unknown.get("card.license", "the card metadata could not be read")
        if snapshot.source == "hub":
            b.set("access.gated", gated, Evidence("Hub API: gated", None, gated))
        else:
            b.set_unknown("access.gated", reason)
        for name in ("access.gate_prompt", "access.eu_disallowed", "access.gate_restrictions"):
            b.set_unknown(name, reason)
        return
    if snapshot.source == "hub":
        b.set("access.gated", gated, Evidence("Hub API: gated", None, gated))
    else:
        b.set("access.gated", gated,
              Evidence("README.md front matter: gated", _gating_line(key_lines), gated))
    prompt, prompt_lines = _gate_prompt(meta, card)
    b.set("access.gate_prompt", prompt)
    eu = meta.get("extra_gated_eu_disallowed") is True
    b.set("access.eu_disallowed", eu,
          *([Evidence("README.md", key_lines.get("extra_gated_eu_disallowed"),
                      "extra_gated_eu_disallowed: true")] if eu else []))
    scan = (at_readme_lines(scan_text(prompt, "README.md (extra_gated_prompt)", signals),
                            prompt_lines) if prompt else None)
    restrictions = list(scan.restrictions) if scan else []
    lines = prompt_lines is not None
    b.set("access.gate_restrictions", restrictions,
          *(Evidence(h.path, h.line if lines else None, h.excerpt)
            for h in (scan.hits if scan else ())))


def _gating_line(key_lines: Mapping[str, int]) -> int | None:
    """The front matter line that declares gating: ``gated:``, else the first extra_gated_* key."""
    if "gated" in key_lines:
        return key_lines["gated"]
    gate_keys = [line for key, line in key_lines.items() if key.startswith("extra_gated_")]
    return min(gate_keys, default=None)


def _gate_prompt(meta: Mapping[str, Any],
                 card: ParsedCard | None) -> tuple[str, md.LineMap | None]:
    """The gate's text and, when it comes from README front matter, its map to README lines."""
    parts: list[tuple[str, int | None]] = [
        (_text(meta.get("extra_gated_heading")), _value_line(card, "extra_gated_heading")),
        (_text(meta.get("extra_gated_prompt")), _value_line(card, "extra_gated_prompt")),
    ]
    raw_prompt, prompt_line = meta.get("extra_gated_prompt"), parts[1][1]
    if isinstance(raw_prompt, str) and prompt_line is not None:  # a block may open with blanks
        stripped = len(raw_prompt) - len(raw_prompt.lstrip())
        parts[1] = (parts[1][0], prompt_line + raw_prompt.count("\n", 0, stripped))
    fields = meta.get("extra_gated_fields")
    if isinstance(fields, Mapping):
        parts.extend((str(k), _value_line(card, "extra_gated_fields", str(k))) for k in fields)
    kept = [(text, line) for text, line in parts if text]
    prompt = "\n".join(text for text, _ in kept)
    if not kept or any(line is None for _, line in kept):
        return prompt, None  # from the Hub's cardData: no README line to point at
    return prompt, md.LineMap.of_parts(((t, line or 0) for t, line in kept), separator_lines=1)


def _value_line(card: ParsedCard | None, key: str, label: str = "") -> int | None:
    return card.value_line(key, label) if card is not None else None


def _terms(snapshot: RepoSnapshot, catalogue: Catalogue, signals: SignalSet,
           body: _Body | None, b: _Builder) -> None:
    """The licence-terms facts; remembered per terms result and the card and gate facts they
    combine it with (the same few combinations recur across a whole dump)."""
    values, unknown, evidence = b.values, b.unknown, b.evidence
    licence_section = values.get("readme.section.license") or None
    result = resolve_terms(values.get("card.license") or [], values.get("card.license_name") or "",
                           snapshot.license_files, licence_section, catalogue, signals,
                           licence_section_lines=body.licence_lines if body else None)
    readme = snapshot.readme
    gate = values.get("access.gate_restrictions")
    key = (values.get("card.license") is None, evidence.get("card.license"),
           unknown.get("card.license"), None if gate is None else tuple(gate),
           evidence.get("access.gate_restrictions"), values.get("access.eu_disallowed"),
           evidence.get("access.eu_disallowed"), None if readme is None else readme.error,
           readme is not None and readme.text is None)
    # The result (shared by every repo with the same licence inputs) holds what it wrote, per
    # the card and gate facts read with it: the same few combinations recur across a dump.
    written = result.__dict__.get(_WRITTEN)
    if written is None:
        written = Memo(_MAX_WRITTEN)
        object.__setattr__(result, _WRITTEN, written)  # not a field: eq and hash ignore it
    _remembered(written, key, b, lambda: _terms_of(result, snapshot, b))


def _remembered(memo: Memo[tuple[Any, ...], _Written], key: tuple[Any, ...],
                b: _Builder, write: Callable[[], None]) -> None:
    """Run ``write`` (which adds facts to ``b`` that it does not hold yet), or replay what it
    added for the same ``key``."""
    hit = memo.get(key)
    if hit is not None:
        b.values.update(hit[0])
        b.unknown.update(hit[1])
        b.evidence.update(hit[2])
        return
    before = (set(b.values), set(b.unknown), set(b.evidence))
    write()
    memo.put(key, ({k: v for k, v in b.values.items() if k not in before[0]},
                   {k: v for k, v in b.unknown.items() if k not in before[1]},
                   {k: v for k, v in b.evidence.items() if k not in before[2]}))


# What a remembered step wrote: values, unknown reasons, evidence.
_Written = tuple[dict[str, Any], dict[str, str], dict[str, tuple[Evidence, ...]]]
_WRITTEN = "_facts_written"  # the attribute a terms result keeps that memo under
_MAX_WRITTEN = 64  # card and gate combinations kept per terms result


def _terms_of(result: TermsResult, snapshot: RepoSnapshot, b: _Builder) -> None:
    card_known = b.values.get("card.license") is not None
    files = [f.path for f in snapshot.license_files]
    b.set("license_text.files", files, *_file_ev(files))
    if not card_known:
        _terms_without_card(result, files, b)
        return
    stated = bool(result.declared or result.unknown_ids or files or result.effective)
    b.set("license.declared", list(result.declared), *b.evidence.get("card.license", ()))
    b.set("license.effective", [e.id for e in result.effective],
          *b.evidence.get("card.license", ()),
          *result.evidence.get("license_text.families", ()))
    b.set("license.stated", stated, *b.evidence.get("card.license", ()), *_file_ev(files))
    b.set("license.unknown_ids", list(result.unknown_ids), *b.evidence.get("card.license", ()))
    b.set("license.spdx", [e.spdx for e in result.effective])
    if result.unreadable and result.catalogue_restrictions:
        # An unread text can only add restrictions: terms the catalogue restricts stay so.
        b.set("license.osi_approved", False)
        b.set("license.weights_terms", "restricted", *b.evidence.get("card.license", ()))
    elif result.unreadable:  # the text wins, so without it the terms cannot be judged
        reason = "licence file(s) could not be read: " + "; ".join(result.unreadable)
        b.set_unknown("license.osi_approved", reason)
        b.set_unknown("license.weights_terms", reason)
    else:
        b.set("license.osi_approved", result.osi_approved)
        b.set("license.weights_terms", result.weights_terms(),
              *b.evidence.get("card.license", ()))
    b.set("license.categories", [e.category for e in result.effective])
    b.set("license.restrictions", list(result.catalogue_restrictions),
          *b.evidence.get("card.license", ()))
    gate = list(b.values["access.gate_restrictions"] or [])
    eu = ["territorial"] if b.values["access.eu_disallowed"] else []
    all_restrictions = {*result.catalogue_restrictions, *result.text_restrictions, *gate, *eu}
    restriction_ev = [e for r in sorted(all_restrictions)
                      for e in result.evidence.get(f"restriction:{r}", ())]
    b.set("terms.restrictions", list(all_restrictions), *b.evidence.get("card.license", ()),
          *restriction_ev, *b.evidence.get("access.gate_restrictions", ()),
          *b.evidence.get("access.eu_disallowed", ()))
    _per_restriction_evidence(result, b)
    _text_facts(result, files, b)
    if snapshot.readme is not None and snapshot.readme.text is None:
        # The README's licence section is one of the texts the terms are read from.
        b.set_unknown("terms.text_read", f"README.md could not be read: {snapshot.readme.error}")
    elif not result.unreadable:
        b.set("terms.text_read", True, *_file_ev(files))


def _per_restriction_evidence(result: TermsResult, b: _Builder) -> None:
    """Evidence keyed ``terms.restrictions:<name>``, so a finding cites only its own clauses."""
    for entry in result.effective:
        for name in entry.restrictions:
            key = f"terms.restrictions:{name}"
            b.evidence[key] = (*b.evidence.get(key, ()), *b.evidence.get("card.license", ()),
                               Evidence("licence catalogue", None, f"{entry.id}: {name}"))
    for name in result.text_restrictions:
        key = f"terms.restrictions:{name}"
        found = result.evidence.get(f"restriction:{name}", ())
        b.evidence[key] = (*b.evidence.get(key, ()), *found)
    for item in b.evidence.get("access.gate_restrictions", ()):
        for name in b.values.get("access.gate_restrictions") or ():
            key = f"terms.restrictions:{name}"
            b.evidence[key] = (*b.evidence.get(key, ()), item)
    if b.values.get("access.eu_disallowed"):
        key = "terms.restrictions:territorial"
        b.evidence[key] = (*b.evidence.get(key, ()), *b.evidence.get("access.eu_disallowed", ()))


def _text_facts(result: TermsResult, files: list[str], b: _Builder) -> None:
    if result.unreadable:
        reason = "licence file(s) could not be read: " + "; ".join(result.unreadable)
        for name in ("license_text.families", "license_text.signals",
                     "license_text.restrictions", "license.mismatches", "terms.text_read"):
            b.set_unknown(name, reason)
        return
    restriction_ev = [e for r in result.text_restrictions
                      for e in result.evidence.get(f"restriction:{r}", ())]
    b.set("license_text.families", list(result.text_families),
          *result.evidence.get("license_text.families", ()))
    b.set("license_text.signals", sorted({h.signal_id for s in result.scans for h in s.hits}))
    b.set("license_text.restrictions", list(result.text_restrictions), *restriction_ev)
    b.set("license.mismatches", list(result.mismatches),
          *b.evidence.get("card.license", ()), *result.evidence.get("license_text.families", ()))


def _terms_without_card(result: TermsResult, files: list[str], b: _Builder) -> None:
    """The card metadata is unknowable: only what licence texts establish is known."""
    reason = b.unknown["card.license"]
    known_from_text = bool(result.effective) and not result.unreadable
    for name in ("license.declared", "license.unknown_ids", "terms.text_read"):
        b.set_unknown(name, reason)
    if files:
        b.set("license.stated", True, *_file_ev(files))
    else:
        b.set_unknown("license.stated", reason)
    text_facts = {
        "license.effective": [e.id for e in result.effective],
        "license.spdx": [e.spdx for e in result.effective],
        "license.osi_approved": result.osi_approved,
        "license.weights_terms": result.weights_terms(),
        "license.categories": [e.category for e in result.effective],
        "license.restrictions": list(result.catalogue_restrictions),
    }
    for name, value in text_facts.items():
        if known_from_text:
            b.set(name, value, *result.evidence.get("license_text.families", ()))
        else:
            b.set_unknown(name, reason)
    gate = list(b.values.get("access.gate_restrictions") or [])
    b.set("terms.restrictions", [*result.catalogue_restrictions, *result.text_restrictions, *gate])
    _text_facts(result, files, b)


def _links_and_code(snapshot: RepoSnapshot, body: _Body | None, b: _Builder,
                    vocab: Vocabulary) -> None:
    tag_arxiv = [t.split(":", 1)[1] for t in snapshot.tags if t.startswith("arxiv:")]
    tag_datasets = [t.split(":", 1)[1] for t in snapshot.tags if t.startswith("dataset:")]
    card_datasets = list(b.values.get("card.datasets") or [])
    py_files = list(b.values["files.code"])
    train_files = [f for f in py_files if _TRAIN_FILE.search(f)]
    library = b.values.get("card.library_name") or ""
    lib_marker = [f"library:{library}"] if library else []
    if body is None:
        # README unreadable: what the Hub and the file list show is known; an empty result is
        # unknown, because the README may hold the links that would fill it.
        reason = f"README.md could not be read: {snapshot.readme.error if snapshot.readme else ''}"
        for name in ("links.code", "links.papers", "links.checkpoints", "code.data_processing",
                     "code.evaluation", "code.training_upstream"):
            b.set_unknown(name, reason)
        b.set("links.arxiv", tag_arxiv)
        b.set("links.datasets", tag_datasets + card_datasets)
        b.set_unknown("data.public_corpora", reason)
        b.set_unknown("data.withdrawn", reason)
        b.set_unknown("data.records", reason)
        b.set("lineage.base_models", _declared_bases(snapshot, b))
        b.set_unknown("lineage.base_data_described", reason)
        for name, values in (("code.training", train_files),
                             ("code.inference", py_files + lib_marker),
                             ("data.sources", tag_datasets + card_datasets)):
            if values:
                b.set(name, values)
            else:
                b.set_unknown(name, reason)
        return
    folded = casefolded(body.text)  # for cheap pre-checks of the case-insensitive searches
    arxiv = md.arxiv_ids(body.text, folded)
    hub_datasets = md.hub_dataset_ids(body.text, folded)
    match = _checkpoint_mention(body.text, folded)
    mention = match.group(0) if match else None
    links = body.links
    code_links = [lk for lk in links if lk.kinds]
    b.set("links.code", [lk.url for lk in code_links], *_link_ev(code_links))
    papers = [lk for lk in links if md.is_paper_link(lk.url)]
    b.set("links.papers", [lk.url for lk in papers], *_link_ev(papers))
    b.set("links.arxiv", arxiv + tag_arxiv,
          *_link_ev([lk for lk in papers if "arxiv.org" in lk.url]))
    b.set("links.datasets", hub_datasets + tag_datasets + card_datasets)
    b.set("links.checkpoints", mention is not None,
          *([Evidence("README.md", None, mention)] if mention is not None else []))
    extra = {"code.training": train_files, "code.inference": py_files + lib_marker}
    for fact, kinds in (("code.training", ("training",)), ("code.data_processing", ("data",)),
                        ("code.evaluation", ("evaluation",)),
                        ("code.inference", ("inference", "framework"))):
        chosen = [lk for lk in code_links if any(k in lk.kinds for k in kinds)]
        if fact == "code.training":  # "a fork of [X]": X is not the code that trained it
            upstream = [lk for lk in chosen if _follows(vocab.upstream_lines, lk)]
            chosen = [lk for lk in chosen if lk not in upstream]
            b.set("code.training_upstream", [lk.url for lk in upstream], *_link_ev(upstream))
        files = extra.get(fact, [])
        b.set(fact, [lk.url for lk in chosen] + files, *_link_ev(chosen), *_file_ev(files))
    _data_sources(body, hub_datasets, card_datasets, tag_datasets, b, vocab)
    _lineage(snapshot, body, b, vocab)
    if b.values.get("card.license") is None:
        # The card's `datasets:` and `library_name` are unknowable: an empty list is not "none".
        for name in ("data.sources", "code.inference"):
            if not b.values[name]:
                b.set_unknown(name, b.unknown["card.license"])
                b.evidence.pop(name, None)  # cite the broken front matter instead


def _data_sources(body: _Body, hub_datasets: list[str], card_datasets: list[str],
                  tag_datasets: list[str], b: _Builder, vocab: Vocabulary) -> None:
    """Training data sources, wherever the card gives them: front matter ``datasets:``, the
    Hub's ``dataset:`` tags, Hub dataset links anywhere, links that locate data in a data
    section, and public corpora a data section names (the vocabulary says where to get them).
    """
    data_links = [lk for lk in body.links if _locates_data(lk, vocab)]
    # A Hub dataset linked anywhere (a "Resources" list, a table) is a source, except where the
    # card evaluates on it.
    hub_links = [lk for lk in body.links if "huggingface.co/datasets/" in lk.url.lower()
                 and lk.section != "evaluation"]
    evaluated = {i for lk in body.links if lk.section == "evaluation"
                 for i in md.hub_dataset_ids(lk.url)} - {i for lk in hub_links
                                                          for i in md.hub_dataset_ids(lk.url)}
    # Each data section is scanned once: its corpora are its evidence, their union the fact
    # (in the vocabulary's order).
    named = [(s, md.corpora_named(s.text, vocab)) for s in body.sections
             if s.name in _DATA_ONLY_SECTIONS and s.text]
    found = {name for _, pairs in named for name, _ in pairs}
    corpora = [(c.name, c.where) for c in vocab.public_corpora if c.name in found]
    other_links = [lk for lk in data_links if lk not in hub_links]
    sources = (card_datasets + tag_datasets + [i for i in hub_datasets if i not in evaluated]
               + [lk.url for lk in other_links]
               + [f"{name} ({where})" for name, where in corpora])
    corpus_ev = [Evidence("README.md", s.line, f"{s.heading}: names {name}")
                 for s, pairs in named for name, _ in pairs]
    b.set("data.public_corpora", [name for name, _ in corpora], *corpus_ev[:5])
    records = [lk for lk in data_links + hub_links if vocab.data_records.search(lk.url)
               or "huggingface.co/datasets/" in lk.url.lower()]
    b.set("data.records", sorted({lk.url for lk in records}), *_link_ev(records))
    withdrawn = [(s, c) for s in body.sections if s.name in _DATA_SECTIONS
                 for c in _withdrawn_named(f"{s.heading}\n{s.text}", vocab)]
    b.set("data.withdrawn", sorted({f"{c.name} ({c.note})" for _, c in withdrawn}),
          *(Evidence("README.md", s.line, f"{s.heading}: names {c.name}")
            for s, c in withdrawn[:5]))
    b.set("data.sources", sources, *_link_ev(hub_links + other_links), *corpus_ev[:5],
          *b.evidence.get("card.datasets", ()),
          *b.evidence.get("readme.section.training_data", ()))


def _withdrawn_named(text: str, vocab: Vocabulary) -> list[WithdrawnCorpus]:
    """The withdrawn corpora ``text`` names as used (not "without the Books3 subset")."""
    found = []
    if not vocab.any_withdrawn.search(text):  # one scan rules out most texts
        return []
    named = [c for c in vocab.withdrawn_corpora if c.pattern.search(text)]
    sentences = _SENTENCE_END.split(text) if named else []
    for corpus in named:
        for sentence in sentences:
            match = corpus.pattern.search(sentence)
            before = sentence[:_start(match)][-40:] if match is not None else ""
            if match is not None and not vocab.excluded_before.search(before):
                found.append(corpus)
                break
    return found


_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+|\n")


# A Hub model page: huggingface.co/<owner>/<name>, not a dataset, Space or site page.
_HUB_MODEL = re.compile(r"^https?://(?:www\.)?huggingface\.co/(?!(?:datasets|spaces|docs|blog|"
                        r"papers|collections|models|organizations|settings|join|login|api|"
                        r"tasks|learn|chat|posts|pricing)/)([\w.-]+/[\w.-]+)", re.I)


def _declared_bases(snapshot: RepoSnapshot, b: _Builder) -> list[str]:
    """Base models the front matter (``base_model``) and the Hub's ``base_model:`` tags name."""
    tagged = [t.rsplit(":", 1)[1] for t in snapshot.tags
              if t.startswith("base_model:") and t.count(":") in (1, 2)]
    own = snapshot.repo_id.lower()
    return sorted({m for m in [*(b.values.get("card.base_model") or []), *tagged]
                   if _REPO_ID.match(m) and m.lower() != own})


# What can name a Hub model: ``name`` or ``owner/name`` (not a number or a mapping's text).
_REPO_ID = re.compile(r"^(?=[^/]*[A-Za-z])[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def _lineage(snapshot: RepoSnapshot, body: _Body, b: _Builder, vocab: Vocabulary) -> None:
    """The base models the card builds on, and whether the card itself describes their
    training data. A base whose data only its own card describes is unknown here: this audit
    reads one card (OSAID's data information covers every stage of training)."""
    own = snapshot.repo_id.lower()
    named: list[tuple[str, md.Link]] = []
    for lk in body.links:
        hub = _HUB_MODEL.match(lk.url)
        if hub is None or hub.group(1).lower() == own or lk.section == "evaluation":
            continue
        if _follows(vocab.starting_point_lines, lk):
            named.append((hub.group(1).rstrip("."), lk))
    bases = sorted({*_declared_bases(snapshot, b), *(m for m, _ in named)})
    b.set("lineage.base_models", bases, *b.evidence.get("card.base_model", ()),
          *(Evidence("README.md", lk.line, lk.url) for _, lk in named[:5]))
    data_text = _plain_words("\n".join(f"{s.heading}\n{s.text}" for s in body.sections
                                        if s.name in _DATA_ONLY_SECTIONS))
    # "…from [X] on the same dataset": X's data is what this card describes.
    same_data = {m for m, lk in named if vocab.same_data_lines.search(lk.context)}
    elsewhere = [m for m in bases if m not in same_data
                 and _plain_words(m.rsplit("/", 1)[-1]) not in data_text]
    if elsewhere:
        b.set_unknown("lineage.base_data_described", (
            f"the training data of base model {', '.join(elsewhere[:3])} is not described on "
            "this card but on the base's own card, which this audit does not read"))
    else:
        b.set("lineage.base_data_described", True)


def _follows(words: Searcher, link: md.Link) -> bool:
    """``words`` occur on the link's line, and the link's text comes after them."""
    match = words.search(link.context)
    return match is not None and bool(link.text) and link.text in link.context[_end(match):]


def _end(match: object) -> int:
    end = getattr(match, "end", None)
    return int(end()) if callable(end) else 0


def _start(match: object) -> int:
    start = getattr(match, "start", None)
    return int(start()) if callable(start) else 0


def _plain_words(text: str) -> str:
    """Lower-case words joined by single spaces, so "Marin-8B_Base" finds "marin 8b base"."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _locates_data(link: md.Link, vocab: Vocabulary) -> bool:
    """A link in a data section that points at data, not at a paper, policy or code."""
    if link.kinds or link.section not in _DATA_SECTIONS:
        return False
    if vocab.data_records.search(link.url):  # a dataset's record, even behind a DOI
        return not vocab.not_data.search(link.url)
    if md.is_paper_link(link.url):
        return False
    if vocab.not_data.search(link.url):
        return False
    return bool(vocab.data_hosts.search(link.url) or vocab.data_words.search(link.text)
                or vocab.data_words.search(link.label) or link.section in _DATA_ONLY_SECTIONS)


def _checkpoint_mention(text: str, folded: str) -> re.Match[str] | None:
    """``_CHECKPOINTS.search(text)``, trying only where one of its first words occurs.

    ``folded`` is ``casefolded(text)``. A case-insensitive search visits every position of
    a long README; a match can only start where a first word occurs, so when the offsets of
    ``folded`` agree with ``text`` the match is tried at those places alone, leftmost first.
    """
    starts: list[int] = []
    for word in _CHECKPOINT_WORDS:
        pos = folded.find(word)
        while pos != -1:
            starts.append(pos)
            pos = folded.find(word, pos + 1)
    if not starts:
        return None
    if len(folded) != len(text):
        return _CHECKPOINTS.search(text)
    for pos in sorted(starts):
        match = _CHECKPOINTS.match(text, pos)
        if match:
            return match
    return None


def _relation_from_tags(tags: tuple[str, ...]) -> str:
    for tag in tags:
        parts = tag.split(":")
        if len(parts) == 3 and parts[0] == "base_model":
            return parts[1]
    return ""


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)] if str(value).strip() else []


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _file_ev(paths: list[str]) -> tuple[Evidence, ...]:
    return tuple(Evidence(p) for p in paths[:10])


def _link_ev(links: list[md.Link]) -> tuple[Evidence, ...]:
    return tuple(Evidence("README.md", lk.line, lk.url) for lk in links[:10])
