"""The versioned JSON report (schema: openaudit/schemas/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from openaudit.models import AuditReport, Evidence, Finding, Outcome
from openaudit.render.base import pillar_why
from openaudit.sanitize import json_text

SCHEMA_VERSION = "1.0"  # additions that break no reader (pillars[].why) keep it


def evidence_dict(item: Evidence) -> dict[str, Any]:
    """Evidence as JSON (null line/excerpt kept, so every item has the same keys)."""
    return {"source": item.source, "line": item.line, "excerpt": item.excerpt}


def report_dict(report: AuditReport) -> dict[str, Any]:
    """The report as plain, sorted, deterministic data."""
    t = report.target
    verdict = verdict_dict(report)
    for item, pillar in zip(verdict["pillars"], report.pillars, strict=True):
        item["why"] = pillar_why(pillar, report.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "openaudit",
        "tool_version": report.tool_version,
        "ruleset_version": report.ruleset_version,
        "ruleset": {"pack": report.pack, "version": report.ruleset_version,
                    "digest": report.ruleset_digest},
        "target": {"repo_id": t.repo_id, "repo_type": t.repo_type._value_, "source": t.source,
                   "revision": t.revision, "sha": t.sha},
        **verdict,
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    """One finding as JSON data."""
    # ``_value_`` is the member's value without the descriptor lookup ``.value`` costs; these
    # run for every finding of every record of a dump.
    return {"rule_id": f.rule_id, "title": f.title, "pillar": f.pillar,
            "severity": f.severity._value_, "outcome": f.outcome._value_, "message": f.message,
            "reason_code": f.reason_code, "clause": f.clause, "fix": f.fix,
            "evidence": [{"source": e.source, "line": e.line, "excerpt": e.excerpt}
                         for e in f.evidence],
            "waiver": f.waiver}


def verdict_dict(report: AuditReport) -> dict[str, Any]:
    """The report's keys from ``verdict`` on (shared with the batch record, built once)."""
    findings = [finding_dict(f) for f in report.findings]
    counts = dict.fromkeys(OUTCOME_VALUES, 0)
    for finding in findings:
        counts[finding["outcome"]] += 1
    return {**verdict_head(report), "findings": findings, "summary": counts}


def verdict_head(report: AuditReport) -> dict[str, Any]:
    """``verdict_dict`` up to (not including) its ``findings`` and ``summary``."""
    return {
        "verdict": report.verdict._value_,
        "verdict_reason": report.verdict_reason,
        "gaps": list(report.gaps),
        "pillars": [
            {"id": p.name, "title": p.title, "outcome": p.outcome._value_, "group": p.gap_group,
             "rules": list(p.rule_ids)}
            for p in report.pillars
        ],
    }


OUTCOME_VALUES = tuple(o.value for o in Outcome)


class JsonRenderer:
    """Pretty-printed JSON with sorted keys inside objects that have no fixed order."""

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report as JSON."""
        out.write(json_text(json.dumps(report_dict(report), indent=2, ensure_ascii=False))
                  + "\n")
