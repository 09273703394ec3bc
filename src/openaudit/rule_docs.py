"""`openaudit rules docs`: the rule reference (docs/rules.md), generated from the loaded packs.

The text depends only on the rule files, never on the clock, the machine or the tool version,
so the checked-in docs/rules.md can be compared byte for byte with a fresh rendering.
"""

from __future__ import annotations

from pathlib import Path

from openaudit.explain import SEVERITY_MEANING, cards_text, condition_text, examples_yaml
from openaudit.packs import Ruleset
from openaudit.rules_dir import builtin_rules_dir
from openaudit.ruleset import Pack, Rule

DOCS_PATH = Path("docs") / "rules.md"
REGENERATE = f"openaudit rules docs --output {DOCS_PATH.as_posix()}"


def render_rule_docs(ruleset: Ruleset) -> str:
    """The whole reference: every pack (sorted by id) and every rule in it (sorted by id)."""
    packs = sorted(ruleset.packs.values(), key=lambda p: p.id)
    lines = [
        "# openaudit rule reference",
        "",
        f"<!-- Generated from the rule packs by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        "Every rule of every built-in pack: what it checks, why (the clause it reads), how to fix",
        "a failure, and the fact sets it is tested on. `openaudit explain RULE_ID` prints the same",
        "for one rule; `openaudit facts --list` documents the facts.",
        "",
    ]
    lines += [f"- [{p.id}](#pack-{p.id}) {p.version}: {p.title} "
              f"({len(p.rules)} rules, for {p.applies_to.value}s)" for p in packs]
    for pack in packs:
        lines += ["", *_pack_section(pack)]
    return "\n".join(lines).rstrip("\n") + "\n"


def is_current(path: Path, text: str) -> bool:
    """True when the file exists and holds exactly ``text``."""
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _pack_section(pack: Pack) -> list[str]:
    lines = [f'<a id="pack-{pack.id}"></a>', "", f"## {pack.id} {pack.version}: {pack.title}", ""]
    if pack.description:
        lines += [" ".join(pack.description.split()), ""]
    lines += ["| pillar | title | gap group |", "|---|---|---|"]
    lines += [f"| `{p.id}` | {_cell(p.title)} | `{p.group}` |" for p in pack.pillars]
    lines += ["", "Verdict policy (the first step whose limits hold wins):", "",
              "| verdict | max gaps | max warnings | max not tested | max groups short |",
              "|---|---|---|---|---|"]
    lines += [f"| `{s.verdict}` | {_limit(s.max_gaps)} | {_limit(s.max_warnings)} | "
              f"{_limit(s.max_not_tested)} | {_limit(s.max_short_groups)} |"
              for s in pack.verdicts]
    lines += ["", "| rule | name | pillar | severity | title |", "|---|---|---|---|---|"]
    lines += [f"| [{r.id}](#{_anchor(r)}) | `{r.name}` | `{r.pillar}` | {r.severity.value} | "
              f"{_cell(r.title)} |" for r in pack.rules]
    for rule in pack.rules:
        lines += ["", *_rule_section(pack, rule)]
    return lines


def _rule_section(pack: Pack, rule: Rule) -> list[str]:
    lines = [
        f'<a id="{_anchor(rule)}"></a>', "",
        f"### {rule.id} `{rule.name}`", "",
        f"**{rule.title}**", "",
        "| | |", "|---|---|",
        f"| pack | `{pack.id}` {pack.version} |",
        f"| pillar | `{rule.pillar}` |",
        f"| severity | `{rule.severity.value}` ({SEVERITY_MEANING[rule.severity.value]}) |",
        f"| clause | {_cell(rule.clause)} |",
        f"| defined in | `{_display_source(rule.source)}` |",
        "",
        f"**Why.** {_prose(rule.rationale)}", "",
        f"**How to fix a failure.** {_prose(rule.fix)}", "",
        "**Passes when:**", "", "```text", condition_text(rule.check), "```", "",
        "**Messages:**", "",
    ]
    lines += [f"- {key.replace('_', '-')}: {_prose(rule.messages[key])}"
              for key in ("pass", "fail", "not_tested") if key in rule.messages]
    lines += ["", "**References:**", ""]
    lines += [f"- <{ref}>" if ref.startswith(("http://", "https://")) else f"- {ref}"
              for ref in rule.references]
    lines += ["", "**Examples** (fact sets and the outcome they give; unlisted facts are empty, "
              "`null` is unknown):", "", "```yaml", examples_yaml(rule), "```"]
    if rule.cards:
        lines += ["", "**Card examples** (whole cards, read as `openaudit check` reads a "
                  "folder, and the outcome they give):", "", "````text", *cards_text(rule),
                  "````"]
    return lines


def _anchor(rule: Rule) -> str:
    return rule.id.lower()


def _limit(value: int | None) -> str:
    return "any" if value is None else str(value)


def _prose(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _prose(text).replace("|", "\\|")


def _display_source(source: str) -> str:
    """Built-in rule files as ``rules/PACK/FILE.yaml`` wherever the package is installed."""
    base = builtin_rules_dir().resolve()
    path = Path(source).resolve()
    if path.is_relative_to(base):
        return "rules/" + path.relative_to(base).as_posix()
    return Path(source).as_posix()
