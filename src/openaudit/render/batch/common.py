"""What every batch renderer needs: a deterministic order, pillar columns, labels and counts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openaudit.models import Verdict
from openaudit.records import is_error, record_key
from openaudit.render.base import disclaimer

Record = Mapping[str, Any]

VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
NOT_AUDITED = "not audited"
OUTCOMES: tuple[str, ...] = ("pass", "fail", "warn", "not-tested")
# Worst first, as pillars are aggregated (fail > not-tested > warn > pass).
OUTCOME_RANK = {"fail": 0, "not-tested": 1, "warn": 2, "pass": 3}


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: a total order for records and a stable text form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def ordered(records: Iterable[Record]) -> list[Record]:
    """Records sorted by ``record_key``; identical keys (duplicates) by their canonical JSON."""
    return sorted(records, key=lambda r: (record_key(r), canonical_json(r)))


def audited(records: Iterable[Record]) -> list[Record]:
    """The records that carry a verdict, in the given order."""
    return [r for r in records if not is_error(r)]


def errors(records: Iterable[Record]) -> list[Record]:
    """The records of repos that could not be audited, in the given order."""
    return [r for r in records if is_error(r)]


@dataclass(frozen=True)
class PillarColumn:
    """One pillar column of a batch table: the id and the title from the records."""

    id: str
    title: str


def _pack_of(record: Record) -> tuple[str, str]:
    ruleset = record.get("ruleset") or {}
    return (record_key(record)[0], str(ruleset.get("pack") or ""))


def pillar_columns(records: Sequence[Record]) -> list[PillarColumn]:
    """The union of pillar ids over the records: packs in turn, each in its own pillar order.

    Records of one pack list their pillars in the pack's order; packs are sorted by repo type
    (as the rows are) and then by name. A pillar id shared by two packs gets one column, where
    it is first seen.
    """
    columns: dict[str, PillarColumn] = {}
    for record in sorted(audited(ordered(records)), key=_pack_of):
        for pillar in record.get("pillars") or ():
            pid = str(pillar.get("id"))
            if pid not in columns:
                columns[pid] = PillarColumn(pid, str(pillar.get("title") or pid))
    return list(columns.values())


def pillar_outcomes(record: Record) -> dict[str, str]:
    """Pillar id → outcome for one audit record (empty for an error record)."""
    return {str(p.get("id")): str(p.get("outcome")) for p in record.get("pillars") or ()}


def verdict_rank(verdict: str) -> int:
    """Best first: compliant, potentially-compliant, non-compliant, then anything else."""
    return VERDICTS.index(verdict) if verdict in VERDICTS else len(VERDICTS)


def joined(values: Iterable[Any], sep: str = ", ") -> str:
    """List values as one string (an empty list gives '')."""
    return sep.join(str(v) for v in values)


def verdict_counts(records: Sequence[Record]) -> dict[str, int]:
    """Repos per verdict (every verdict present, in order) plus the repos not audited."""
    counts = dict.fromkeys(VERDICTS, 0)
    for record in audited(records):
        verdict = str(record.get("verdict"))
        counts[verdict] = counts.get(verdict, 0) + 1
    counts[NOT_AUDITED] = len(errors(records))
    return counts


def generation_info(records: Sequence[Record]) -> dict[str, list[str]]:
    """The tool versions and rule packs the records were made with.

    The digest is the ruleset's (every pack, the licence catalogue, the text signals), so packs
    judged by one ruleset show the same one.
    """
    tools = sorted({str(r.get("tool_version")) for r in audited(records)})
    packs = sorted({
        f"{rs.get('pack')} {rs.get('version')} (ruleset digest {rs.get('digest')})"
        for r in audited(records) for rs in [r.get("ruleset") or {}]
    })
    return {"tool_versions": tools, "rulesets": packs}


def batch_disclaimer(records: Sequence[Record]) -> str:
    """The footer: a reading by the packs that judged these records, never a certification."""
    packs = sorted({str((r.get("ruleset") or {}).get("pack")) for r in audited(records)})
    return disclaimer(", ".join(packs) if packs else "openaudit")


def error_parts(record: Record) -> tuple[str, str]:
    """``(kind, message)`` of an error record."""
    error = record.get("error") or {}
    return str(error.get("kind") or ""), str(error.get("message") or "")


def summary_count(record: Record, outcome: str) -> int:
    """How many findings of the record had this outcome (0 for an error record)."""
    return int((record.get("summary") or {}).get(outcome, 0))
