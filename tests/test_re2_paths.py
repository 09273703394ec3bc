"""Shipped patterns run on RE2 only where RE2 gives the answer Python's re gives."""

from __future__ import annotations

import random
import re

import pytest

from openaudit import readme
from openaudit.operators import (
    Leaf,
    RulePattern,
    compile_regex,
    leaves,
    re2_agrees_on,
    re2_twin,
    without_lookaround,
)
from openaudit.packs import load_ruleset
from openaudit.vocabulary import builtin_vocabulary

RULESET = load_ruleset()


def _shipped_patterns() -> list[RulePattern]:
    found: dict[str, RulePattern] = {}
    for pack in RULESET.packs.values():
        for rule in pack.rules:
            for leaf in leaves(rule.check):
                if isinstance(leaf, Leaf) and isinstance(leaf.value, RulePattern):
                    found[leaf.value.pattern] = leaf.value
    return list(found.values())


SHIPPED = _shipped_patterns()
PIECES = ["personal data", " removed", "PII", "web pages", "no personal information",
          "synthetic data", "trained on synthetic data", "Common Crawl", "/reddit/", "reviews",
          "cc-by-nc", "non-commercial", "dedup", "filtered", "not released", "\n", "\n- ",
          "**Label:** ", "[x](https://a.example/b)", "# Title\n", " ", ".", "é", "K", "İ",
          "\u2028", "\x0b", "\x1c", "データ", "C4", "the Pile", "wikipedia", "data card"]


def test_the_shipped_packs_have_patterns_to_check() -> None:
    assert len(SHIPPED) >= 10
    assert any(p.superset is not None for p in SHIPPED)  # some have lookaround
    assert any(not isinstance(p.regex, re.Pattern) for p in SHIPPED)  # some run on RE2


def test_every_shipped_pattern_answers_as_re_does_on_any_text() -> None:
    rng = random.Random(11)
    for _ in range(4_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        for pattern in SHIPPED:
            expected = re.search(pattern.pattern, text) is not None
            assert (pattern.search(text) is not None) == expected, (pattern.pattern, text)


@pytest.mark.parametrize("text", ["Trained on C4データ", "Wikipedia記事", "The Pileです",
                                  "Trained on C4 data", "the pile", "C4\u2028x"])
def test_public_corpora_are_named_as_re_reads_them(text: str) -> None:
    expected = [(c.name, c.where) for c in builtin_vocabulary().public_corpora
                if re.search(c.pattern.pattern, text, re.I)]
    assert readme.corpora_named(text) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("(?i)abc|def", True),
    ("foo$", False),  # re also matches before a final newline
    ("(?im)^foo$", True),
    ("x[[:digit:]]", False),  # a POSIX class to RE2, a set of characters to re
    ("ab{,2}c", False),  # a quantifier to re, literal text to RE2
    ("(a)\\1", False),  # backreference
    ("(?<!a)b", False),  # lookaround
])
def test_re2_twin_only_for_syntax_both_read_alike(pattern: str, expected: bool) -> None:
    assert (re2_twin(pattern) is not None) is expected


@pytest.mark.parametrize(("pattern", "stripped"), [
    ("(?i)(?<![/.#-])\\bfoo\\b(?![/.#-]\\w)", "(?i)\\bfoo\\b"),
    ("a(?=b[)])c", "ac"),
    ("[(?=x)]y", None),  # inside a class: not a lookaround
    ("\\(?!x", None),  # escaped parenthesis
    ("xa(?=b){2}", None),  # quantified lookaround: no safe superset
    ("a|(?!b)", "a|"),
])
def test_without_lookaround(pattern: str, stripped: str | None) -> None:
    assert without_lookaround(pattern) == stripped


@pytest.mark.parametrize(("pattern", "text"), [("a[\\](]|b", "b"), ("a[^](]|b", "b"),
                                               ("x[\\])]|z", "z")])
def test_the_literal_pre_check_reads_classes_with_brackets(pattern: str, text: str) -> None:
    assert (compile_regex(pattern).search(text) is not None) == bool(re.search(pattern, text))


@pytest.mark.parametrize(("text", "agrees"), [
    ("plain ASCII\nwith lines\ttabs", True), ("café", False), ("x\x0by", False),
    ("x\x1fy", False), ("x\u2028y", False), ("", True)])
def test_re2_agrees_on(text: str, agrees: bool) -> None:
    assert re2_agrees_on(text) is agrees


def test_line_separators_other_than_newline_do_not_shift_sections() -> None:
    body = ("# Model\n\nBy Acme\u2028Labs, \x0c form feed.\n\n## Training data\n"
            "Trained on the Pile.\n## Evaluation\nScores.\n")
    sections = {s.name: s for s in readme.parse(body).sections}
    assert sections["training_data"].text == "Trained on the Pile."
    assert sections["training_data"].line == 5 and sections["evaluation"].line == 7


def test_crlf_cards_read_as_lf_cards() -> None:
    lf = "# M\n\n## Training data\nTrained on [data](https://x.example/d.zip).\n"
    crlf = lf.replace("\n", "\r\n")
    assert readme.parse(crlf) == readme.parse(lf)
