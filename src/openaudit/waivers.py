"""Apply a project policy's waivers to an audit report. Pure: no I/O, no clock.

A waived finding stays in the report (with the waiver's reason) but no longer counts towards its
pillar or the verdict, which are recomputed exactly as the engine decides them. Only failing and
warning findings can be waived: a not-tested finding means the evidence was never read, and
accepting it would report a pass for evidence nobody saw, so it keeps counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fnmatch import fnmatchcase

from openaudit.engine import decide_verdict, pillar_results, reason_families
from openaudit.models import AuditReport, Finding, Outcome
from openaudit.ruleset import Pack

WAIVABLE = frozenset({Outcome.FAIL, Outcome.WARN})


@dataclass(frozen=True)
class Waiver:
    """Accept one rule's finding for the targets the glob matches, for a stated reason.

    Attributes:
        rule: Rule id, e.g. ``DATA-003``.
        reason: Why the finding is accepted (shown next to the finding).
        expires: The waiver is an error from this day on (None: no expiry).
        target: fnmatch glob on the repo id (folder name for a local check), matched without
            regard to case; None matches every target.
        where: Position in the policy file, e.g. ``waivers[2]``, for messages.
    """

    rule: str
    reason: str
    expires: date | None = None
    target: str | None = None
    where: str = ""

    def covers(self, repo_id: str) -> bool:
        """True when the waiver applies to this repo id."""
        return self.target is None or fnmatchcase(repo_id.lower(), self.target.lower())

    def expired(self, today: date) -> bool:
        """True on and after the expiry day."""
        return self.expires is not None and today >= self.expires


def waiver_for(finding: Finding, repo_id: str, waivers: Sequence[Waiver]) -> Waiver | None:
    """The first waiver that accepts this finding: only failing and warning findings qualify."""
    if finding.outcome not in WAIVABLE:
        return None
    return next((w for w in waivers if w.rule == finding.rule_id and w.covers(repo_id)), None)


def apply_waivers(report: AuditReport, pack: Pack, waivers: Sequence[Waiver]) -> AuditReport:
    """Mark the waived findings and recompute pillars, gaps and verdict without them.

    ``pack`` must be the pack the report was decided by. A report no waiver touches is returned
    unchanged.
    """
    if pack.id != report.pack:
        raise ValueError(f"report was decided by pack {report.pack!r}, not {pack.id!r}")
    repo_id = report.target.repo_id
    findings: list[Finding] = []
    waived: list[str] = []
    for finding in report.findings:
        waiver = waiver_for(finding, repo_id, waivers)
        if waiver is not None:
            finding = replace(finding, waiver=waiver.reason)
            waived.append(finding.rule_id)
        findings.append(finding)
    if not waived:
        return report
    pillars = pillar_results(pack, findings)
    verdict, reason, gaps = decide_verdict(pack, pillars)
    return replace(report, findings=tuple(findings), pillars=tuple(pillars), verdict=verdict,
                   verdict_reason=f"{reason}; waived by policy: {', '.join(sorted(waived))}",
                   gaps=gaps, reason_families=reason_families(pack, gaps))


def unused_waivers(waivers: Sequence[Waiver], reports: Iterable[AuditReport]) -> list[Waiver]:
    """Waivers that had a finding to accept but found it passing in every report they cover.

    A waiver whose target matches none of the reports, or whose rule is not in their pack, is
    not reported: a shared policy may hold waivers for other repos and repo types.
    A not-tested finding keeps its waiver from being reported here (the rule did not pass);
    ``unread_under_waiver`` reports it instead.
    """
    applicable: set[int] = set()
    used: set[int] = set()
    for report in reports:
        for index, waiver in enumerate(waivers):
            if not waiver.covers(report.target.repo_id):
                continue
            mine = [f for f in report.findings if f.rule_id == waiver.rule]
            if mine:
                applicable.add(index)
            if any(f.outcome is not Outcome.PASS for f in mine):
                used.add(index)
    return [w for i, w in enumerate(waivers) if i in applicable and i not in used]


def unread_under_waiver(waivers: Sequence[Waiver],
                        reports: Iterable[AuditReport]) -> list[tuple[Waiver, str]]:
    """(waiver, repo id) for each not-tested finding a waiver names but does not accept.

    In file order of the waivers, then by repo id; each pair once.
    """
    found: set[tuple[int, str]] = set()
    for report in reports:
        repo_id = report.target.repo_id
        for finding in report.findings:
            if finding.outcome is not Outcome.NOT_TESTED:
                continue
            index = next((i for i, w in enumerate(waivers)
                          if w.rule == finding.rule_id and w.covers(repo_id)), None)
            if index is not None:
                found.add((index, repo_id))
    return [(waivers[i], repo_id) for i, repo_id in sorted(found)]
