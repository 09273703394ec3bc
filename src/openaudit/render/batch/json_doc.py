"""One JSON document for a whole batch: a schema id, the summary and the sorted records."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from openaudit.records import RECORD_VERSION, record_key, summarize
from openaudit.render.batch.common import error_parts, errors, generation_info, ordered
from openaudit.sanitize import json_text

BATCH_SCHEMA = "openaudit-batch/1.0"


def batch_document(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The batch as one mapping (records sorted, so equal inputs give equal documents)."""
    records = ordered(records)
    summary = summarize(records)
    not_audited = []
    for record in errors(records):
        repo_type, repo_id = record_key(record)
        kind, message = error_parts(record)
        not_audited.append({"repo_type": repo_type, "repo_id": repo_id, "kind": kind,
                            "message": message})
    return {
        "schema": BATCH_SCHEMA,
        "record_version": RECORD_VERSION,
        "summary": {
            "total": summary.total,
            "audited": summary.audited,
            "not_audited": len(not_audited),
            "verdicts": summary.verdicts,
            "reason_families": summary.reason_families,
            **generation_info(records),
            "failed": not_audited,
        },
        "records": [dict(r) for r in records],
    }


class BatchJsonRenderer:
    """``{schema, record_version, summary, records}``, indented."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write the document."""
        out.write(json_text(json.dumps(batch_document(records), indent=2, ensure_ascii=False))
                  + "\n")
