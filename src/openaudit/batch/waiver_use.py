"""Which of a policy's waivers a batch needed, from the records as they stream by.

A batch keeps no reports in memory (and cached records have none), so the "this waiver can go"
notes of single audits are derived here from each record's findings, with the same rule as
``waivers.unused_waivers``: a waiver that applied to some repo but found its rule passing
everywhere it applied. A waiver whose rule was not tested on a repo it covers accepted nothing
there (waivers never cover unread evidence, see ``waivers.waiver_for``); that gets a note too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openaudit.waivers import Waiver


class WaiverUse:
    """Counts, per waiver, the repos it applied to and the ones where it accepted a finding."""

    def __init__(self, waivers: Sequence[Waiver]) -> None:
        self._waivers = tuple(waivers)
        self._applicable: set[int] = set()
        self._used: set[int] = set()
        self._unread: dict[int, tuple[int, str]] = {}  # repos counted, the first id in order

    def see(self, record: Mapping[str, Any]) -> None:
        findings = record.get("findings")
        if not self._waivers or not isinstance(findings, list):
            return  # error records carry no findings
        for index, waiver in enumerate(self._waivers):
            if not waiver.covers(str(record.get("repo_id"))):
                continue
            outcomes = [f.get("outcome") for f in findings
                        if isinstance(f, Mapping) and f.get("rule_id") == waiver.rule]
            if outcomes:
                self._applicable.add(index)
            if any(outcome != "pass" for outcome in outcomes):
                self._used.add(index)
            if "not-tested" in outcomes and not any(
                    w.rule == waiver.rule and w.covers(str(record.get("repo_id")))
                    for w in self._waivers[:index]):  # the first matching waiver speaks
                repo_id = str(record.get("repo_id"))
                count, first = self._unread.get(index, (0, repo_id))
                self._unread[index] = (count + 1, min(first, repo_id))

    def notes(self, policy_path: Path) -> list[str]:
        """One line per waiver no repo of the batch needed, then per waiver that met unread
        evidence, in file order."""
        unused = [f"{policy_path}: {w.where} waives {w.rule}, which passes on every repo it "
                  "covers; the waiver can go"
                  for i, w in enumerate(self._waivers)
                  if i in self._applicable and i not in self._used]
        return unused + [f"{policy_path}: {self._waivers[i].where} waives {self._waivers[i].rule}"
                         f", but it was not tested on {count} repo(s) (first: {first}) and "
                         "still counts there: waivers never cover evidence that could not be read"
                         for i, (count, first) in sorted(self._unread.items())]
