"""The audit pipeline: evidence → facts → findings → report. No printing, no exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openaudit.engine import audit
from openaudit.facts import build_facts
from openaudit.hub import HubOptions, fetch_snapshot
from openaudit.local import read_folder
from openaudit.models import AuditReport, Facts, RepoSnapshot, RepoType, Target
from openaudit.packs import Ruleset


@dataclass(frozen=True)
class AuditResult:
    """A report with the facts it was decided on (for `openaudit facts` and debugging)."""

    report: AuditReport
    facts: Facts
    snapshot: RepoSnapshot


def judge(snapshot: RepoSnapshot, ruleset: Ruleset) -> AuditResult:
    """Pure part: build facts and run the pack for the snapshot's repo type."""
    facts = build_facts(snapshot, ruleset.catalogue, ruleset.signals, ruleset.vocabulary)
    target = Target(snapshot.repo_id, snapshot.repo_type, snapshot.source, snapshot.revision,
                    snapshot.sha)
    # The report's digest covers the licence catalogue and text signals too, not just the pack.
    report = audit(ruleset.pack_for(snapshot.repo_type), facts, target,
                   ruleset_digest=ruleset.digest)
    return AuditResult(report, facts, snapshot)


def audit_hub(repo_id: str, repo_type: RepoType, revision: str | None, options: HubOptions,
              ruleset: Ruleset) -> AuditResult:
    """Audit a repository on the Hub."""
    return judge(fetch_snapshot(repo_id, repo_type, revision, options), ruleset)


def audit_folder(path: Path, repo_type: RepoType, ruleset: Ruleset) -> AuditResult:
    """Audit a local folder laid out as it will be pushed."""
    return judge(read_folder(path, repo_type), ruleset)
