"""The performance shortcuts give exactly what the plain code paths give.

Each shortcut (libyaml-only card loading, literal pre-checks before regex searches, memoised
licence scans, compiled rule conditions, periodic journal fsync, JSONL parsed in the workers)
is checked against the slow way it replaces, on inputs chosen to hit its edge cases.
"""

from __future__ import annotations

import gzip
import itertools
import json
import marshal
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from openaudit import readme
from openaudit.batch import journal
from openaudit.card import MAX_YAML_ALIASES, parse_card
from openaudit.dump import _unpack, run_dump
from openaudit.errors import UsageError
from openaudit.facts import _CHECKPOINTS, _checkpoint_mention
from openaudit.licenses import (
    _SCAN_CACHE_SIZE,
    SignalSet,
    _literal_prefix,
    _normalise,
    _scan_text,
    load_signals,
    scan_text,
)
from openaudit.operators import AllOf, AnyOf, Leaf, Not, compile_condition, compile_regex, evaluate

RULES = Path(__file__).resolve().parents[1] / "rules"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hub"


@pytest.fixture(scope="module")
def signals() -> SignalSet:
    return load_signals(RULES / "license-signals.yaml")


def _reference_card(yaml_text: str) -> tuple[str, str]:
    """(status, error) the way parse_card always decided: pure-Python event pass, then load."""
    try:
        aliases = sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(yaml_text))
        if aliases > MAX_YAML_ALIASES:
            return "malformed", "aliases"
        data = yaml.load(yaml_text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        return "malformed", str(getattr(exc, "problem", "") or exc)
    return ("ok" if data is None or isinstance(data, dict) else "not-a-mapping"), ""


# Inputs on which PyYAML's pure-Python parser is stricter than libyaml: these must not take the
# libyaml-only path, or a card the reference calls malformed would suddenly parse.
STRICTER_IN_PYTHON = [
    "license: apache-2.0\npipeli\tne_tag: text-generation",
    "tags:\n\ufeff- code",
    "license: [apache-?2.0, mit]",
    "license: {a: b?c}",
]


@pytest.mark.parametrize("yaml_text", STRICTER_IN_PYTHON)
def test_cards_libyaml_accepts_but_pyyaml_refuses_stay_malformed(yaml_text: str) -> None:
    yaml.load(yaml_text, Loader=yaml.CSafeLoader)  # libyaml alone would accept it
    status, problem = _reference_card(yaml_text)
    assert status == "malformed"
    parsed = parse_card(f"---\n{yaml_text}\n---\nbody\n")
    assert parsed.status == "malformed" and problem in parsed.error
    assert parsed.metadata == {} and parsed.body == "body"


@pytest.mark.parametrize("prefix", ["", "name: caf\u00e9\n"])  # fast path, and reference path
def test_alias_bombs_are_refused_on_either_path(prefix: str) -> None:
    bomb = prefix + "a: &a [x, x]\nb: &b [" + ", ".join(["*a"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    parsed = parse_card(f"---\n{bomb}---\n")
    assert parsed.status == "malformed"
    assert f"more than {MAX_YAML_ALIASES} YAML aliases" in parsed.error
    few = prefix + "a: &a [x]\nb: [*a, *a]\n"
    assert parse_card(f"---\n{few}---\n").metadata["b"] == [["x"], ["x"]]


def test_fixture_cards_parse_as_the_reference_does() -> None:
    for path in sorted(FIXTURES.glob("*/*/*/README.md")):
        text = path.read_bytes().decode("utf-8", "replace")
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---" or "---" not in lines[1:]:
            continue
        yaml_text = "\n".join(lines[1:lines.index("---", 1)])
        for variant in (yaml_text, yaml_text.replace(": ", ":\t", 1), yaml_text + "\nx: [a?]"):
            status, _ = _reference_card(variant)
            assert parse_card(f"---\n{variant}\n---\n").status == status, (path, variant)


def test_casefolded_keeps_every_letter_an_ignorecase_pattern_matches() -> None:
    # Every non-ASCII character re.IGNORECASE matches to an ASCII letter (checked over Unicode).
    for twin in ("\u0130", "\u0131", "\u017f", "\u212a"):
        letters = [c for c in "iks" if re.fullmatch(c, twin, re.I)]
        assert letters and letters[0] in readme.casefolded(f"x{twin}y")
    assert readme.casefolded("\u00c9T\u00c9") == "\u00e9t\u00e9"


CHECKPOINT_TEXTS = [
    "", "Intermediate Checkpoints are here", "The CHECKPOINTS WERE RELEASED.", "\u017ftep12345",
    "xstep123", "see step1234 and revision='step9'", "\u0130ntermediate checkpoint",
    "\u0131ntermediate checkpoint", "\u212aheckpoints are available", "Branches named after steps",
    "caf\u00e9 " * 50 + "branch for each step", "step 123", "checkpoint" * 3,
    "\u0130\u0130 revision = \"step", "steps, revisions and branches",
]


@pytest.mark.parametrize("text", CHECKPOINT_TEXTS)
def test_checkpoint_search_with_pre_checks_equals_the_plain_search(text: str) -> None:
    expected = _CHECKPOINTS.search(text)
    found = _checkpoint_mention(text, readme.casefolded(text))
    assert (found and (found.span(), found.group(0))) == (
        expected and (expected.span(), expected.group(0)))


@pytest.mark.parametrize("text", [
    *CHECKPOINT_TEXTS, "https://ARXIV.org/abs/2101.00001",
    "huggingface.co/datasets/a/b and HuggingFace.co/datasets/c"])
def test_link_id_pre_checks_change_nothing(text: str) -> None:
    assert readme.arxiv_ids(text) == sorted(set(readme._ARXIV.findall(text)))
    assert readme.hub_dataset_ids(text) == sorted(
        {m.rstrip(".") for m in readme._HUB_DATASET.findall(text)})


@pytest.mark.parametrize(("part", "needle"), [
    ("attachment a\\b", "attachment a"), ("behaviou?ral[- ]use", "behavio"),
    ("no-?derivatives", "no"), ("use(?:-based)? restrictions", "use"), ("(?i)x", None),
    ("x", None), ("licen[cs]e", "licen"), ("million\\b(?<=\\d million)", "million"),
    ("abc{2}", "ab"), ("ab?", None), ("abc*", "ab"), ("abc+", "abc"),
])
def test_literal_prefix_is_text_every_match_contains(part: str, needle: str | None) -> None:
    assert _literal_prefix(part) == needle


def test_every_anchor_match_contains_one_of_its_needles(signals: SignalSet) -> None:
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted(FIXTURES.glob("*/*/*/*")) if p.is_file()]
    matched = 0
    for text in texts:
        norm = _normalise(text).text
        for anchor, matcher in signals.matchers.items():
            for (pattern, _), needle in zip(matcher.parts, matcher.needles, strict=True):
                for m in pattern.finditer(norm):
                    matched += 1
                    assert needle is None or needle in norm[m.start():], (anchor, needle)
    assert matched > 100  # the fixtures do exercise the anchors


def test_scan_cache_is_exact_and_bounded(signals: SignalSet) -> None:
    text = (FIXTURES / "models").glob("*/*/LICENSE*").__next__().read_text(encoding="utf-8")
    first = scan_text(text, "LICENSE", signals)
    assert scan_text(text, "LICENSE", signals) is first  # memoised
    assert first == _scan_text(text, "LICENSE", signals)
    other = scan_text(text, "COPYING", signals)
    assert all(h.path == "COPYING" for h in other.hits)
    for i in range(_SCAN_CACHE_SIZE + 50):
        scan_text(f"{text}\nline {i}", "LICENSE", signals)
    assert len(signals._scans) <= _SCAN_CACHE_SIZE


def _conditions() -> list[Any]:
    leaves = [Leaf("a", "exists", None), Leaf("b", "equals", "x"), Leaf("c", "contains", "x"),
              Leaf("c", "matches", compile_regex("^y")), Leaf("d", "min_count", 2)]
    conds: list[Any] = list(leaves)
    for x, y in itertools.combinations(leaves, 2):
        conds += [AllOf((x, y)), AnyOf((x, Not(y))), Not(AllOf((x, AnyOf((y, x)))))]
    return conds


def test_compiled_conditions_evaluate_like_the_interpreter() -> None:
    values: list[dict[str, Any]] = []
    for a, b, c, d in itertools.product([None, "", "v"], [None, "x", "z"],
                                        [None, ["x"], ["y"], "axb"], [None, [], [1, 2]]):
        values.append({"a": a, "b": b, "c": c, "d": d})
    for cond in _conditions():
        compiled = compile_condition(cond)
        for facts in values:
            assert compiled(facts) == evaluate(cond, facts), (cond, facts)


def test_journal_flushes_every_line_and_fsyncs_periodically(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    synced: list[int] = []
    monkeypatch.setattr(journal.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(journal.os, "fsync", synced.append)
    path = tmp_path / "out.jsonl"
    log = journal.Journal.open(path, resume=False)
    for i in range(5):
        clock[0] += 0.125  # exact in binary: the 4th line comes 0.5 s after opening
        log.write({"repo_id": f"a/b{i}"})
        assert len(path.read_text(encoding="utf-8").splitlines()) == i + 1  # on disk already
    assert len(synced) == 1  # at 0.5 s after opening, not once per line
    clock[0] += journal.FSYNC_INTERVAL
    log.write({"repo_id": "a/late"})
    assert len(synced) == 2
    log.close()
    assert len(synced) == 3  # and once at close


def _records(count: int) -> list[str]:
    return [json.dumps({"id": f"acme/m{i}", "siblings": [{"rfilename": "README.md"}],
                        "files": {"README.md": f"---\nlicense: mit\n---\n# M{i}\n"}})
            for i in range(count)]


@pytest.mark.parametrize("gzipped", [False, True])
def test_workers_parse_lines_exactly_as_the_parent_did(tmp_path: Path, gzipped: bool) -> None:
    lines = [*_records(3), "", "[1, 2]", "{broken", *_records(2)]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / ("dump.jsonl.gz" if gzipped else "dump.jsonl")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    one = list(run_dump(path, (), workers=1))
    assert one == list(run_dump(path, (), workers=2))
    assert [r.get("error", {}).get("kind") for r in one] == [None] * 3 + ["bad-record"] * 2 + [
        None] * 2
    assert "line 5: not a JSON object" in one[3]["error"]["message"]


def test_a_first_line_that_is_not_a_record_is_a_usage_error_with_workers(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(["not json", *_records(2)]), encoding="utf-8")
    with pytest.raises(UsageError, match="line 1 is not a JSON object"):
        run_dump(path, (), workers=2)


def test_results_travel_marshalled_or_pickled_unchanged() -> None:
    records = [{"repo_id": "a/b", "findings": [{"evidence": [None, 1, 2.5, True]}]}]
    assert _unpack(marshal.dumps(records)) == records
    assert _unpack(records) is records
