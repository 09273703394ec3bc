"""One flat JSON record per audited repo: the JSONL line of `openaudit batch`.

Batch runs, the audit cache, `--from-dump` and every batch report read and write this shape, so
it is defined once here. A repo that could not be audited gets an *error record* (``error``
instead of ``verdict``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from openaudit.memo import Memo
from openaudit.models import AuditReport, RepoType, Verdict
from openaudit.render.json_report import OUTCOME_VALUES, finding_dict, verdict_dict, verdict_head

RECORD_VERSION = "1.0"


def audit_record(report: AuditReport) -> dict[str, Any]:
    """The batch record of one audit: the JSON report with the target's keys at the top level."""
    # Built directly (not report_dict minus its header): the same keys in the same order.
    return {**_identity(report), **_ruleset_keys(report), **verdict_dict(report)}


def audit_record_line(report: AuditReport) -> str:
    """``json.dumps(audit_record(report), ensure_ascii=False, default=str)``, built faster.

    Each finding holds its own JSON text once encoded, so a finding the rule memo hands out
    again (see ``engine.run_rule``) is encoded once, not once per record; the rest of the
    record is encoded around the findings with the separators ``json.dumps`` uses.
    """
    counts = dict.fromkeys(OUTCOME_VALUES, 0)
    texts = []
    for finding in report.findings:
        counts[finding.outcome._value_] += 1
        text = finding.__dict__.get(_JSON_TEXT)
        if text is None:
            text = encode_record(finding_dict(finding))
            # Not a field (eq, hash and repr ignore it); a changed finding is a new object.
            object.__setattr__(finding, _JSON_TEXT, text)
        texts.append(text)
    return (f'{encode_record(_identity(report))[:-1]}, {_judgement_text(report)}, '
            f'"findings": [{", ".join(texts)}], "summary": {encode_record(counts)}}}')


def _judgement_text(report: AuditReport) -> str:
    """The record's keys from ``reason_families`` to ``pillars`` as JSON text (no braces):
    the same for every repo the pack judged alike, so it is encoded once per judgement."""
    key = (report.pillars, report.verdict, report.verdict_reason, report.gaps,
           report.reason_families, report.tool_version, report.ruleset_version, report.pack,
           report.ruleset_digest)
    text = _JUDGEMENT_TEXTS.get(key)
    if text is None:
        text = _JUDGEMENT_TEXTS.put(
            key, encode_record({**_ruleset_keys(report), **verdict_head(report)})[1:-1])
    return text


class RecordBlock(NamedTuple):
    """Records already encoded: their JSONL lines (UTF-8, each ending in a newline) and, in
    the same order, their summaries (``record_summary``). A dump's workers send these, so the
    parent writes a block whole instead of encoding each record."""

    text: bytes
    summaries: list[dict[str, Any]]

    def lines(self) -> list[bytes]:
        """Each record's line, newline included (JSON text holds no raw newline)."""
        return [line + b"\n" for line in self.text.split(b"\n")[:-1]]


# What a streamed batch keeps of each record in memory (the summary and exit code read them).
SUMMARY_KEYS = ("repo_id", "repo_type", "revision", "verdict", "reason_families", "error",
                "dump_record")


def record_summary(record: Mapping[str, Any], waivers: bool = False) -> dict[str, Any]:
    """The record's summary keys; with ``waivers``, also each finding's rule id and outcome
    (what ``batch.waiver_use`` reads)."""
    summary = {k: record[k] for k in SUMMARY_KEYS if k in record}
    findings = record.get("findings")
    if waivers and isinstance(findings, list):
        summary["findings"] = [{"rule_id": f.get("rule_id"), "outcome": f.get("outcome")}
                               for f in findings if isinstance(f, Mapping)]
    return summary


def report_summary(report: AuditReport, waivers: bool = False) -> dict[str, Any]:
    """``record_summary(audit_record(report), waivers)``, without building the record."""
    t = report.target
    summary: dict[str, Any] = {"repo_id": t.repo_id, "repo_type": t.repo_type._value_,
                               "revision": t.revision, "verdict": report.verdict._value_,
                               "reason_families": list(report.reason_families)}
    if waivers:
        summary["findings"] = [{"rule_id": f.rule_id, "outcome": f.outcome._value_}
                               for f in report.findings]
    return summary


def _identity(report: AuditReport) -> dict[str, Any]:
    """The record's first keys: which repo, at which commit."""
    t = report.target
    return {
        "record_version": RECORD_VERSION,
        "repo_id": t.repo_id,
        "repo_type": t.repo_type._value_,
        "source": t.source,
        "revision": t.revision,
        "sha": t.sha,
    }


def _ruleset_keys(report: AuditReport) -> dict[str, Any]:
    """The keys between the identity and the verdict: reason families, versions, ruleset."""
    return {
        "reason_families": list(report.reason_families),
        "tool_version": report.tool_version,
        "ruleset_version": report.ruleset_version,
        "ruleset": {"pack": report.pack, "version": report.ruleset_version,
                    "digest": report.ruleset_digest},
    }


_JSON_TEXT = "_json_text"  # the attribute a finding keeps its encoded JSON under
# One judgement (pillars, verdict, reason, ruleset) -> its JSON text.
_JUDGEMENT_TEXTS: Memo[tuple[Any, ...], str] = Memo(4096)
# ``json.dumps(record, ensure_ascii=False, default=str)`` builds a new encoder on every call
# (any keyword but the defaults does); one encoder with the same settings, built once, writes
# the same bytes. The journal writes every record with it.
encode_record = json.JSONEncoder(ensure_ascii=False, default=str).encode


def error_record(repo_id: str, repo_type: RepoType, revision: str | None, kind: str,
                 message: str) -> dict[str, Any]:
    """The record of a repo that could not be audited: ``error`` with a kind and a message."""
    return {
        "record_version": RECORD_VERSION,
        "repo_id": repo_id,
        "repo_type": repo_type.value,
        "revision": revision,
        "error": {"kind": kind, "message": message},
    }


def is_error(record: Mapping[str, Any]) -> bool:
    """True for the record of a repo that could not be audited."""
    return "error" in record


def record_problem(record: Any) -> str | None:
    """Why a value read back from a journal is not a batch record, or None.

    Checks what the summary, the exit code and every report read, so a file written by another
    tool (or damaged) is refused with a clear message instead of crashing a renderer.
    """
    if not isinstance(record, Mapping):
        return "not a JSON object"
    if not isinstance(record.get("repo_id"), str):
        return "no 'repo_id' string"
    if record.get("repo_type") not in _REPO_TYPES:
        return f"'repo_type' is not one of {', '.join(sorted(_REPO_TYPES))}"
    if not isinstance(record.get("revision"), str | None):
        return "'revision' is not a string"
    if "error" in record:
        error = record["error"]
        if not (isinstance(error, Mapping) and isinstance(error.get("kind"), str)
                and isinstance(error.get("message"), str)):
            return "'error' is not an object with a 'kind' and a 'message'"
        return None
    if record.get("verdict") not in _VERDICTS:
        return f"neither 'error' nor a 'verdict' among {', '.join(_VERDICTS)}"
    for key in ("reason_families", "gaps"):
        value = record.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return f"'{key}' is not a list of strings"
    for key in ("pillars", "findings"):
        value = record.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, Mapping) for v in value)):
            return f"'{key}' is not a list of objects"
    if not isinstance(record.get("sha"), str | None) or not isinstance(
            record.get("ruleset", {}), Mapping):
        return "'sha' or 'ruleset' has the wrong type"
    return None


_REPO_TYPES = frozenset(t.value for t in RepoType)
_VERDICTS = tuple(v.value for v in Verdict)


def record_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(repo_type, repo_id)``: how batch reports sort and `--resume` recognises records.

    A dump record without an id is keyed by its position in the dump (``dump_record``), a name
    no repo id can take.
    """
    repo_id = str(record.get("repo_id") or "")
    if not repo_id and isinstance(number := record.get("dump_record"), int):
        repo_id = f"<dump record {number}>"
    return (str(record.get("repo_type") or "model"), repo_id)


@dataclass(frozen=True)
class BatchSummary:
    """Counts for the end of a batch: per verdict, per reason family, and the repos not audited.

    Every mapping is sorted by key and ``failed`` by repo, so the summary is deterministic
    whatever order the records arrived in.
    """

    total: int
    verdicts: dict[str, int]
    reason_families: dict[str, int]
    failed: tuple[tuple[str, str, str], ...]  # (repo_type, repo_id, "kind: message")

    @property
    def audited(self) -> int:
        """Repos that got a verdict."""
        return self.total - len(self.failed)


def summarize(records: Iterable[Mapping[str, Any]]) -> BatchSummary:
    """Summarise batch records (audits and errors), in any order."""
    verdicts = dict.fromkeys((v.value for v in Verdict), 0)
    families: dict[str, int] = {}
    failed: list[tuple[str, str, str]] = []
    total = 0
    for record in records:
        total += 1
        repo_type, repo_id = record_key(record)
        if is_error(record):
            error = record["error"]
            failed.append((repo_type, repo_id, f"{error.get('kind')}: {error.get('message')}"))
            continue
        verdicts[str(record["verdict"])] = verdicts.get(str(record["verdict"]), 0) + 1
        for family in record.get("reason_families") or ():
            families[family] = families.get(family, 0) + 1
    return BatchSummary(total, verdicts, dict(sorted(families.items())), tuple(sorted(failed)))
