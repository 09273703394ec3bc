"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One result per finding that needs a look: ``fail`` is level ``error``, ``warn`` is level
``warning``, and ``not-tested`` is kind ``review`` (the SARIF spec requires level ``none`` for any
kind other than ``fail``): the evidence could not be read, so a person has to check. Passing
findings produce no result. A waived finding keeps its result, with an external suppression that
carries the waiver's reason. The log is deterministic: no timestamps, no absolute paths, results
ordered by rule id then location.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from openaudit.models import AuditReport, Evidence, Finding, Outcome, Severity
from openaudit.render.base import CARD_FILE, PROJECT_URL, RenderContext, could_not_check
from openaudit.sanitize import clean_data, json_text

if TYPE_CHECKING:
    from openaudit.ruleset import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
SRCROOT = "%SRCROOT%"  # GitHub code scanning resolves this to the root of the checkout
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


class SarifRenderer:
    """A SARIF log with one run; rule metadata from the pack when the context has it."""

    def __init__(self, context: RenderContext | None = None) -> None:
        self.context = context or RenderContext()

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report as a SARIF 2.1.0 log."""
        # Cleaned as a whole: a viewer shows rule metadata (from rule files a policy may name)
        # as well as findings. URIs are percent-encoded already, so they still name the file.
        log = clean_data(sarif_log(report, self.context), keep="\n\t\r")  # JSON escapes CR
        out.write(json_text(json.dumps(log, indent=2, ensure_ascii=False)) + "\n")


def sarif_log(report: AuditReport, context: RenderContext) -> dict[str, Any]:
    """The SARIF log as plain data."""
    rule_ids = sorted({f.rule_id for f in report.findings})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    first = {f.rule_id: f for f in sorted(report.findings, key=lambda f: f.rule_id)}
    results = [_result(f, index[f.rule_id], context)
               for f in report.findings if f.outcome is not Outcome.PASS]
    results.sort(key=_result_order)
    t = report.target
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "openaudit",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": PROJECT_URL,
                "rules": [_rule(first[r], report, context) for r in rule_ids],
            }},
            "results": results,
            "properties": {
                "target": {"repo_id": t.repo_id, "repo_type": t.repo_type.value,
                           "source": t.source, "revision": t.revision, "sha": t.sha},
                "verdict": report.verdict.value,
                "verdict_reason": report.verdict_reason,
                "gaps": list(report.gaps),
                "ruleset": {"pack": report.pack, "version": report.ruleset_version,
                            "digest": report.ruleset_digest},
            },
        }],
    }


def _rule(finding: Finding, report: AuditReport, context: RenderContext) -> dict[str, Any]:
    """A reportingDescriptor: the pack's rule when known, else what the finding carries."""
    rule: Rule | None = context.pack.rule(finding.rule_id) if context.pack else None
    title = rule.title if rule else finding.title
    rationale = (rule.rationale if rule else "") or title
    fix = (rule.fix if rule else finding.fix) or "See the rule's rationale."
    clause = rule.clause if rule else finding.clause
    severity = rule.severity if rule else finding.severity
    pillar = rule.pillar if rule else finding.pillar
    links = [r for r in (rule.references if rule else ()) if r.startswith(("https://",
                                                                            "http://"))]
    help_md = [f"**Fix:** {fix}", "", f"**Why:** {rationale}", "", f"**Clause:** {clause}"]
    if links:
        help_md += ["", "**References:**", *(f"- <{link}>" for link in links)]
    help_md += ["", f"`openaudit explain {finding.rule_id}` says more."]
    descriptor: dict[str, Any] = {
        "id": finding.rule_id,
        "name": rule.name if rule else finding.rule_id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": rationale},
        "help": {"text": fix, "markdown": "\n".join(help_md)},
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {"clause": clause, "pillar": pillar, "severity": severity.value,
                       "pack": report.pack, "tags": [report.pack, pillar]},
    }
    if links:
        descriptor["helpUri"] = links[0]
    return descriptor


def _result(finding: Finding, rule_index: int, context: RenderContext) -> dict[str, Any]:
    text = finding.message
    if finding.waiver is not None:
        text += f" (waived: {finding.waiver})"
    result: dict[str, Any] = {"ruleId": finding.rule_id, "ruleIndex": rule_index}
    if finding.outcome is Outcome.NOT_TESTED:
        result |= {"kind": "review", "level": "none"}
        text = could_not_check(text)
    else:
        result |= {"kind": "fail",
                   "level": "error" if finding.outcome is Outcome.FAIL else "warning"}
    result["message"] = {"text": text}
    primary, related = _locations(finding, context)
    result["locations"] = [primary]
    if related:
        result["relatedLocations"] = related
    if finding.waiver is not None:
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": finding.waiver}]
    result["properties"] = {"outcome": finding.outcome.value, "reason_code": finding.reason_code,
                            "pillar": finding.pillar,
                            "evidence": [e.describe() for e in finding.evidence]}
    return result


def _locations(finding: Finding, context: RenderContext
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The primary location (file evidence with a line first) and the other file evidence.

    Code scanning needs a location on every result: a finding with no file evidence (an API
    field, a missing component) is placed on the card, the file that would carry the fix.
    """
    files = context.file_evidence(finding)
    if not files:
        where = "; ".join(e.describe() for e in finding.evidence) or "the repository as a whole"
        return _location(CARD_FILE, None, context, f"No file evidence: {where}"), []
    primary = _location(*files[0], context)
    related = [_location(path, item, context) | {"id": i}
               for i, (path, item) in enumerate(files[1:], start=1)]
    return primary, related


def _location(path: str, item: Evidence | None, context: RenderContext,
              note: str | None = None) -> dict[str, Any]:
    # Every location has a region: GitHub code scanning needs region.startLine to place and
    # fingerprint an alert. Evidence about a file as a whole (no line) starts at its first line.
    line = item.line if item is not None and item.line is not None else 1
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": quote(context.path(path), safe="/"), "uriBaseId": SRCROOT},
        "region": {"startLine": line}}
    location: dict[str, Any] = {"physicalLocation": physical}
    text = note or (item.describe() if item is not None and item.excerpt else None)
    if text:
        location["message"] = {"text": text}
    return location


def _result_order(result: dict[str, Any]) -> tuple[str, str, int]:
    physical = result["locations"][0]["physicalLocation"]
    return (result["ruleId"], physical["artifactLocation"]["uri"],
            physical["region"]["startLine"])
