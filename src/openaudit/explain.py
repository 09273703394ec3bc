"""`openaudit explain RULE_ID`: a rule's documentation as plain text."""

from __future__ import annotations

import difflib
import textwrap

import yaml

from openaudit.errors import UsageError
from openaudit.operators import AllOf, AnyOf, Condition, Leaf, Not
from openaudit.packs import Ruleset
from openaudit.ruleset import Pack, Rule

_OUTCOME_ORDER = ("pass", "fail", "not-tested")
SEVERITY_MEANING = {
    "error": "a failure is a gap in its pillar",
    "warning": "a failure is a warning that keeps the verdict from compliant",
    "info": "advisory only, never counted",
}


def find_rule(ruleset: Ruleset, rule_id: str) -> tuple[Pack, Rule]:
    """Look a rule up in every pack by id or name (case-insensitive); suggest close ids."""
    wanted = rule_id.strip().upper()
    for pack in ruleset.packs.values():
        rule = pack.rule(wanted) or next(
            (r for r in pack.rules if r.name.upper() == wanted), None)
        if rule is not None:
            return pack, rule
    ids = sorted(r.id for p in ruleset.packs.values() for r in p.rules)
    names = {r.name.upper(): r.id for p in ruleset.packs.values() for r in p.rules}
    if any(c.isdigit() for c in wanted):
        close = difflib.get_close_matches(wanted, ids, n=3)
    else:  # a misspelt rule name
        close = [names[n] for n in difflib.get_close_matches(wanted, sorted(names), n=3)]
    hint = ("did you mean: " + ", ".join(close)) if close else "see `openaudit rules list`"
    raise UsageError(f"no rule with id '{rule_id}'", hint)


def condition_text(cond: Condition, indent: int = 0) -> str:
    """The check as readable nested text."""
    pad = "  " * indent
    if isinstance(cond, Leaf):
        value = cond.value.pattern if hasattr(cond.value, "pattern") else cond.value
        shown = "" if value is None else f" {list(value) if isinstance(value, tuple) else value!r}"
        return f"{pad}{cond.fact} {cond.op}{shown}"
    if isinstance(cond, Not):
        return f"{pad}not:\n{condition_text(cond.item, indent + 1)}"
    word = "all of" if isinstance(cond, AllOf) else "any of"
    assert isinstance(cond, AllOf | AnyOf)
    return f"{pad}{word}:\n" + "\n".join(condition_text(c, indent + 1) for c in cond.items)


def examples_yaml(rule: Rule) -> str:
    """The rule's examples as YAML, in the order pass, fail, not-tested."""
    ordered = {k: [dict(e) for e in rule.examples[k]] for k in _OUTCOME_ORDER
               if k in rule.examples}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=96,
                          allow_unicode=True).rstrip("\n")


def cards_text(rule: Rule) -> list[str]:
    """The rule's card examples: each file under a ``=== outcome: NAME ===`` line, README.md
    first, in the order pass, fail, not-tested; empty when it has none."""
    lines: list[str] = []
    for outcome in _OUTCOME_ORDER:
        for card in rule.cards.get(outcome, ()):
            lines += [f"=== {outcome}: README.md ===", *card.readme.rstrip("\n").split("\n")]
            for name, text in card.files.items():
                lines += [f"=== {outcome}: {name} ===", *text.rstrip("\n").split("\n")]
    return lines


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), 96, initial_indent="  ", subsequent_indent="  ")


def explain_rule(ruleset: Ruleset, rule_id: str) -> str:
    """Everything about one rule, in the order a reader needs it."""
    pack, rule = find_rule(ruleset, rule_id)
    examples = examples_yaml(rule)
    parts = [
        f"{rule.id}  {rule.name}",
        f"{rule.title}",
        "",
        f"Pack:      {pack.id} {pack.version}",
        f"Pillar:    {rule.pillar}",
        f"Severity:  {rule.severity.value} ({SEVERITY_MEANING[rule.severity.value]})",
        f"Clause:    {rule.clause}",
        "",
        "Why:",
        _wrap(rule.rationale),
        "",
        "How to fix a failure:",
        _wrap(rule.fix),
        "",
        "Check (passes when):",
        textwrap.indent(condition_text(rule.check), "  "),
        "",
        "Messages:",
        *(_wrap(f"{key.replace('_', '-')}: {rule.messages[key]}")
          for key in ("pass", "fail", "not_tested") if key in rule.messages),
        "",
        "Examples (fact sets and the outcome they give):",
        textwrap.indent(examples, "  "),
        "",
        *(["Card examples (whole cards, read as `openaudit check` reads a folder):",
           textwrap.indent("\n".join(cards_text(rule)), "  "), ""] if rule.cards else []),
        "References:",
        *(f"  {ref}" for ref in rule.references),
        "",
        f"Defined in: {rule.source}",
    ]
    return "\n".join(parts)
