"""One flat JSON record per audited repo: the JSONL line of `openaudit batch`.

Batch runs, the audit cache, `--from-dump` and every batch report read and write this shape, so
it is defined once here. A repo that could not be audited gets an *error record* (``error``
instead of ``verdict``).
"""

from __future__ import annotations

from typing import Any

from openaudit.models import AuditReport, RepoType
from openaudit.render.json_report import report_dict

RECORD_VERSION = "1.0"


def audit_record(report: AuditReport) -> dict[str, Any]:
    """The batch record of one audit: the JSON report with the target's keys at the top level."""
    full = report_dict(report)
    target = full.pop("target")
    full.pop("schema_version")
    full.pop("tool")
    return {
        "record_version": RECORD_VERSION,
        "repo_id": target["repo_id"],
        "repo_type": target["repo_type"],
        "source": target["source"],
        "revision": target["revision"],
        "sha": target["sha"],
        "reason_families": list(report.reason_families),
        **full,
    }


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


def is_error(record: dict[str, Any]) -> bool:
    """True for the record of a repo that could not be audited."""
    return "error" in record


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    """``(repo_type, repo_id)``: how batch reports sort and `--resume` recognises records."""
    return (str(record.get("repo_type") or "model"), str(record.get("repo_id")))
