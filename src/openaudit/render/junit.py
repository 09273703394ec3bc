"""JUnit XML: one ``<testsuite>`` per report, one ``<testcase>`` per rule.

``fail`` is a ``<failure>``; ``not-tested`` is ``<skipped>`` (the rule could not run on the
evidence). ``warn`` passes with a ``<system-out>`` that starts ``warning:``: a warning is not a
failed rule (its severity is warning or info), and JUnit has no third state for it. A waived
finding passes, with a ``waiver`` property and a ``<system-out>`` giving the reason and the
outcome it had. No timestamps or durations, so the same report gives the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

from openaudit.models import AuditReport, Finding, Outcome
from openaudit.render.base import remedy, target_label

# Characters XML 1.0 cannot hold at all (ElementTree would write them and break the document).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text made safe for XML 1.0: characters it cannot carry become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


class JunitRenderer:
    """A ``<testsuites>`` document with the report as its one suite."""

    def render(self, report: AuditReport, out: TextIO) -> None:
        """Write the report as JUnit XML."""
        root = ET.Element("testsuites", _counts(report, name="openaudit"))
        suite = ET.SubElement(root, "testsuite",
                              _counts(report, name=f"openaudit {target_label(report)}"))
        props = ET.SubElement(suite, "properties")
        t = report.target
        for name, value in (("verdict", report.verdict.value),
                            ("verdict_reason", report.verdict_reason),
                            ("pack", report.pack), ("ruleset_version", report.ruleset_version),
                            ("ruleset_digest", report.ruleset_digest),
                            ("repo_id", t.repo_id), ("repo_type", t.repo_type.value),
                            ("sha", t.sha or ""), ("tool_version", report.tool_version)):
            _property(props, name, value)
        for finding in sorted(report.findings, key=lambda f: f.rule_id):
            _testcase(suite, report.pack, finding)
        ET.indent(root)
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(ET.tostring(root, encoding="unicode") + "\n")


def _counts(report: AuditReport, name: str) -> dict[str, str]:
    counted = [f for f in report.findings if f.waiver is None]
    return {"name": xml_text(name), "tests": str(len(report.findings)),
            "failures": str(sum(f.outcome is Outcome.FAIL for f in counted)), "errors": "0",
            "skipped": str(sum(f.outcome is Outcome.NOT_TESTED for f in counted)), "time": "0"}


def _testcase(suite: ET.Element, pack: str, finding: Finding) -> None:
    case = ET.SubElement(suite, "testcase", {
        "classname": xml_text(f"{pack}.{finding.pillar}"),
        "name": xml_text(f"{finding.rule_id} {finding.title}"), "time": "0"})
    details = _details(finding)
    if finding.waiver is not None:
        props = ET.SubElement(case, "properties")
        _property(props, "waiver", finding.waiver)
        _property(props, "outcome", finding.outcome.value)
        _system_out(case, f"waived ({finding.outcome.value}): {finding.waiver}\n{details}")
    elif finding.outcome is Outcome.FAIL:
        failure = ET.SubElement(case, "failure", {"message": xml_text(finding.message),
                                                  "type": xml_text(finding.reason_code)})
        failure.text = xml_text(details)
    elif finding.outcome is Outcome.NOT_TESTED:
        ET.SubElement(case, "skipped", {"message": xml_text(f"not tested: {finding.message}")})
        _system_out(case, details)
    elif finding.outcome is Outcome.WARN:
        _system_out(case, f"warning: {details}")


def _details(finding: Finding) -> str:
    lines = [finding.message, *(f"evidence: {e.describe()}" for e in finding.evidence)]
    if finding.fix:
        lines.append(f"fix: {remedy(finding)}")
    return "\n".join(lines)


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", {"name": name, "value": xml_text(value)})


def _system_out(case: ET.Element, text: str) -> None:
    ET.SubElement(case, "system-out").text = xml_text(text)
