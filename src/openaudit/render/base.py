"""The renderer protocol shared by every output format, and what renderers may need besides it."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from openaudit.models import AuditReport, Evidence, Finding, Outcome, PillarResult, Severity

if TYPE_CHECKING:
    from openaudit.ruleset import Pack

OUTCOME_ORDER = {Outcome.FAIL: 0, Outcome.NOT_TESTED: 1, Outcome.WARN: 2, Outcome.PASS: 3}
PROJECT_URL = "https://github.com/openaudit/openaudit"  # the URL the report schema's $id names
CARD_FILE = "README.md"  # the model or dataset card: where repository-wide findings belong


class Renderer(Protocol):
    """Writes one audit report to a text stream."""

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report."""
        ...


@dataclass(frozen=True)
class RenderContext:
    """What some formats need besides the report; every field is optional.

    Attributes:
        pack: The pack the report was judged by: rule rationale and references (SARIF rules[]).
        base_dir: The audited folder relative to the current directory, with forward slashes
            (``""`` for a Hub repo or the current directory); file locations are prefixed with it
            so that CI annotations and code scanning can place them in the checkout.
        files: Every file of the audited repository; tells file evidence (``LICENSE``) from API
            fields and derived facts. When None, a file is recognised by its name's shape.
    """

    pack: Pack | None = None
    base_dir: str = ""
    files: Collection[str] | None = None

    def path(self, repo_path: str) -> str:
        """A repository path as seen from the current directory (forward slashes)."""
        base = self.base_dir.strip("/")
        return f"{base}/{repo_path}" if base else repo_path

    def evidence_file(self, item: Evidence) -> str | None:
        """The repository file an evidence item points at, or None (API fields, facts…).

        Sources look like ``LICENSE``, ``README.md (licence section)``, ``README.md front matter:
        gated``, ``Hub API: gated``, ``fact code.training`` or ``licence catalogue``.
        """
        source = item.source
        if self.files is not None:  # the longest file name the source starts with, then a space
            ends = [i for i, char in enumerate(source) if char == " "] + [len(source)]
            return next((source[:i] for i in reversed(ends) if source[:i] in self.files), None)
        head = source.split(" ", 1)[0]
        looks_like_file = "." in head or "/" in head or (head.isupper() and head.isalpha())
        return head if looks_like_file and ":" not in head else None

    def file_evidence(self, finding: Finding) -> list[tuple[str, Evidence]]:
        """``(repo path, evidence)`` for the finding's file evidence, items with a line first."""
        found = [(path, e) for e in finding.evidence if (path := self.evidence_file(e))]
        return sorted(found, key=lambda pair: pair[1].line is None)  # stable: engine's order


def target_label(report: AuditReport) -> str:
    """``model org/name @ sha`` for headers."""
    t = report.target
    at = f" @ {t.sha[:12]}" if t.sha else ""
    rev = f" (revision {t.revision})" if t.revision else ""
    return f"{t.repo_type.value} {t.repo_id}{rev}{at}"


def attention_rank(finding: Finding) -> int:
    """Sort key: failures, not-tested, warnings, then waived findings, then passes."""
    if finding.outcome is Outcome.PASS:
        return 4
    return 3 if finding.waiver is not None else OUTCOME_ORDER[finding.outcome]


def needs_attention(finding: Finding) -> bool:
    """A finding that is not a pass and not waived: what a reviewer has to look at."""
    return finding.outcome is not Outcome.PASS and finding.waiver is None


def by_attention(findings: Collection[Finding]) -> list[Finding]:
    """Findings in reading order: most urgent first, then by rule id."""
    return sorted(findings, key=lambda f: (attention_rank(f), f.rule_id))


def could_not_check(message: str) -> str:
    """A not-tested finding's message, saying plainly that the check could not be made."""
    return message if message.lower().startswith("could not") else (
        f"Could not check: {message}")


def remedy(finding: Finding) -> str:
    """The fix to show with a finding.

    A not-tested finding's first step is to make its evidence readable (the message says what
    stopped the check: a malformed front matter line, a gated or oversized file); the rule's fix
    applies once it is read and fails.
    """
    if finding.outcome is Outcome.NOT_TESTED and finding.fix:
        return ("First remove what stopped the check (see the message) and run openaudit again; "
                f"if the rule then fails: {finding.fix}")
    return finding.fix


_MAX_WHY = 180  # characters of the deciding finding's message shown in a pillar's "why"


def pillar_why(pillar: PillarResult, findings: Collection[Finding]) -> str:
    """One sentence naming what decided a pillar's outcome: the deciding finding's message.

    The deciding findings are the pillar's counted ones (not info, not waived) whose outcome is
    the pillar's; of a passing pillar, the first error-severity rule's (the requirement itself).
    """
    mine = [f for f in findings if f.rule_id in pillar.rule_ids]
    counted = [f for f in mine if f.severity is not Severity.INFO and f.waiver is None]
    waived = sorted(f.rule_id for f in mine if f.waiver is not None)
    note = f" (waived: {', '.join(waived)})" if waived else ""
    deciding = sorted((f for f in counted if f.outcome is pillar.outcome),
                      key=lambda f: (f.severity is not Severity.ERROR, f.rule_id))
    if not deciding:
        return f"no counted rule applies{note}" if mine else "no rule ran"
    first = deciding[0]
    more = f" (+{len(deciding) - 1} more: {', '.join(f.rule_id for f in deciding[1:])})" \
        if len(deciding) > 1 and pillar.outcome is not Outcome.PASS else ""
    return f"{first.rule_id}: {first_sentence(first.message)}{more}{note}"


_SENTENCE_END = re.compile(r"\.(?=\s+[A-Z(\[`\"'“]|\s*$)")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|approx|vs|cf|incl|no|fig)|\b[A-Za-z]|"
                           r"\b(?:[A-Z]\.)+[A-Z])$", re.IGNORECASE)


def first_sentence(message: str) -> str:
    """The message up to its first full stop (a dot that ends a sentence: before a capital or
    the end, not after an abbreviation such as "e.g" or "U.S"), capped."""
    cut = next((m.end() for m in _SENTENCE_END.finditer(message)
                if not _ABBREVIATION.search(message[max(0, m.start() - 12):m.start()])),
               len(message))  # 12 characters hold any abbreviation: linear on long messages
    sentence = message[:cut].strip()
    return sentence if len(sentence) <= _MAX_WHY else sentence[:_MAX_WHY - 1].rstrip() + "…"


_STATE = {Outcome.FAIL: "not met", Outcome.WARN: "in doubt", Outcome.NOT_TESTED: "not checked"}


def headline(finding: Finding) -> str:
    """``RULE-ID title``, the title (the good state) prefixed with what was found when it is not
    met, so a failing rule never reads as an achievement: ``CODE-001 not met: The training code
    is published``."""
    state = _STATE.get(finding.outcome)
    return f"{finding.rule_id} {state}: {finding.title}" if state else \
        f"{finding.rule_id} {finding.title}"


def disclaimer(pack_id: str) -> str:
    """What a report is, for its footer: a reading of the pack that judged it (OSAID for
    models, the dataset pack for datasets), never a certification."""
    return (f"openaudit is an evidence-based reading by the {pack_id} rules, not a "
            "certification by OSI or any other body.")
