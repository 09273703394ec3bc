"""Core value types shared by every layer. No I/O happens here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class RepoType(StrEnum):
    """Kind of Hub repository being audited."""

    MODEL = "model"
    DATASET = "dataset"


class Outcome(StrEnum):
    """Result of one rule on one target."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_TESTED = "not-tested"


class Severity(StrEnum):
    """How much a rule's failure weighs in its pillar.

    ``error``: a failure is a gap in the pillar.  ``warning``: a failure is reported as ``warn`` and
    keeps the pillar from a clean pass.  ``info``: advisory; reported as ``warn`` but never counted.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Verdict(StrEnum):
    """The three OSAID-style verdicts, ordered from best to worst by ``rank``."""

    COMPLIANT = "compliant"
    POTENTIALLY_COMPLIANT = "potentially-compliant"
    NON_COMPLIANT = "non-compliant"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {
    Verdict.COMPLIANT: 0,
    Verdict.POTENTIALLY_COMPLIANT: 1,
    Verdict.NON_COMPLIANT: 2,
}


@dataclass(frozen=True)
class FileText:
    """A text file fetched from the repo (or a reason why it could not be read).

    Attributes:
        path: Path inside the repository, with forward slashes.
        text: Decoded text, or None when the file could not be read.
        error: Why the file could not be read (gated, too large, network), when ``text`` is None.
        decode_errors: True when non-UTF-8 bytes were replaced while decoding.
        truncated: True when the file was larger than the size cap and was cut.
    """

    path: str
    text: str | None
    error: str | None = None
    decode_errors: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class RepoSnapshot:
    """Raw evidence about one repository, as read from the Hub or from a local folder.

    Attributes:
        repo_id: ``namespace/name`` on the Hub, or the folder name for a local check.
        repo_type: Model or dataset.
        source: ``hub`` or ``local``.
        revision: The revision the user asked for (None = default branch).
        sha: The commit the evidence was read at (None for a local folder).
        card_data: Card metadata as the Hub API returned it (None when not provided, e.g. local).
        gated: ``"false"``, ``"auto"`` or ``"manual"``.
        tags: Hub tags (server-derived), sorted.
        files: Every file path in the repository, sorted.
        library_name: Hub ``library_name`` (None when unknown).
        pipeline_tag: Hub ``pipeline_tag`` (None when unknown).
        base_models: Hub ``baseModels`` payload, passed through untouched.
        last_modified: ISO timestamp of the audited commit, when known.
        readme: README.md contents, or None when the repo has no README.md.
        license_files: Licence-like files (LICENSE*, USE_POLICY*, NOTICE*…), sorted by path.
    """

    repo_id: str
    repo_type: RepoType
    source: str
    revision: str | None = None
    sha: str | None = None
    card_data: Mapping[str, Any] | None = None
    gated: str = "false"
    tags: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    library_name: str | None = None
    pipeline_tag: str | None = None
    base_models: Any = None
    last_modified: str | None = None
    readme: FileText | None = None
    license_files: tuple[FileText, ...] = ()


class Evidence(NamedTuple):
    """Where a fact came from: a file and line, an API field, or a derived value.

    A named tuple, not a dataclass: evidence is hashed and compared for every finding of
    every record (de-duplication, the rule memo), and a tuple does both in C.
    """

    source: str
    line: int | None = None
    excerpt: str | None = None

    def describe(self) -> str:
        """One-line human description, e.g. ``LICENSE:12 "agree not to use"``."""
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return where if not self.excerpt else f'{where} "{self.excerpt}"'


@dataclass(frozen=True)
class Facts:
    """The flat fact mapping the rules see, why some facts are unknown, and where each came from.

    A fact whose value is None is *unknown* (the evidence could not be read); ``unknown_reasons``
    says why. Absent evidence is an empty value (``[]``, ``""``, ``False``), never None.
    """

    values: Mapping[str, Any]
    unknown_reasons: Mapping[str, str] = field(default_factory=dict)
    evidence: Mapping[str, tuple[Evidence, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What was audited, for report headers."""

    repo_id: str
    repo_type: RepoType
    source: str
    revision: str | None
    sha: str | None


@dataclass(frozen=True)
class Finding:
    """The result of one rule on one target."""

    rule_id: str
    title: str
    pillar: str
    severity: Severity
    outcome: Outcome
    message: str
    evidence: tuple[Evidence, ...]
    fix: str
    clause: str
    reason_code: str
    # Set by a project policy (.openaudit.yaml): the waiver's reason. A waived finding is still
    # shown, but no longer counts towards its pillar or the verdict.
    waiver: str | None = None


@dataclass(frozen=True)
class PillarResult:
    """Aggregate outcome of one pillar (the worst counted finding wins)."""

    name: str
    title: str
    outcome: Outcome
    gap_group: str
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class AuditReport:
    """Everything a renderer needs for one audited target."""

    target: Target
    pack: str
    ruleset_version: str
    ruleset_digest: str
    verdict: Verdict
    verdict_reason: str
    gaps: tuple[str, ...]
    pillars: tuple[PillarResult, ...]
    findings: tuple[Finding, ...]
    tool_version: str
    # Reason families of the gaps (e.g. blocked-by-terms, missing-component), sorted.
    reason_families: tuple[str, ...] = ()
