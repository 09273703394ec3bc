"""Licence resolution: metadata ids + licence texts → effective licences, restrictions, mismatches.

Pure: the catalogue and signal set come in, facts go out. When a licence text and the metadata
disagree, the text wins and the disagreement is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from openaudit.licenses import Catalogue, LicenseEntry, SignalSet, TextScan, scan_text
from openaudit.models import Evidence, FileText
from openaudit.readme import LineMap

README_LICENCE_SECTION = "README.md (licence section)"

_OPEN_CATEGORIES = {"public-domain", "permissive", "copyleft"}


@dataclass(frozen=True)
class TermsResult:
    """Everything the facts builder needs about the licence terms."""

    declared: tuple[str, ...]
    effective: tuple[LicenseEntry, ...]
    unknown_ids: tuple[str, ...]
    scans: tuple[TextScan, ...]
    text_restrictions: tuple[str, ...]
    text_families: tuple[str, ...]
    mismatches: tuple[str, ...]
    evidence: dict[str, tuple[Evidence, ...]]
    unreadable: tuple[str, ...]

    @property
    def catalogue_restrictions(self) -> tuple[str, ...]:
        """Restrictions the catalogue lists for the effective licences."""
        return tuple(sorted({r for e in self.effective for r in e.restrictions}))

    @property
    def osi_approved(self) -> bool:
        """All effective licences OSI-approved, nothing unknown, and no restrictive text."""
        return (
            bool(self.effective)
            and not self.unknown_ids
            and all(e.osi_approved for e in self.effective)
            and not self.text_restrictions
            and not self.mismatches
        )

    def weights_terms(self) -> str:
        """osi-approved | open | restricted | unknown."""
        if self.catalogue_restrictions or self.text_restrictions:
            return "restricted"
        if not self.effective or self.unknown_ids or any(e.ambiguous for e in self.effective):
            return "unknown"
        if self.osi_approved:
            return "osi-approved"
        if all(e.osaid_weights in ("yes", "open") for e in self.effective):
            return "open"
        return "restricted"


_SPDX_OPERATOR = re.compile(r"\s+(?:or|and)\s+|[()]", re.IGNORECASE)


def _spdx_terms(value: str) -> list[str]:
    """The licence ids of an SPDX expression (``apache-2.0 OR mit``): every one is judged, so
    the most restrictive governs whichever the user would pick."""
    parts = [p.strip() for p in _SPDX_OPERATOR.split(value) if p and p.strip()]
    return parts or [value]


def normalise_license_values(raw: object) -> tuple[list[str], str]:
    """Card ``license`` as a sorted list of lower-case strings, plus a note on odd shapes."""
    if raw is None or raw == "":
        return [], ""
    if isinstance(raw, list | tuple):
        values = [t for v in raw if v is not None and str(v).strip()
                  for t in _spdx_terms(str(v).strip().lower())]
        return sorted(set(values)), ("" if all(isinstance(v, str) for v in raw) else "non-string")
    if isinstance(raw, str):
        return sorted(set(_spdx_terms(raw.strip().lower()))), ""
    return [str(raw).strip().lower()], f"`license` is a {type(raw).__name__}, not a string"


def resolve_terms(
    licence_values: Sequence[str],
    license_name: str,
    licence_files: Sequence[FileText],
    readme_licence_section: str | None,
    catalogue: Catalogue,
    signals: SignalSet,
    *,
    licence_section_lines: LineMap | None = None,
) -> TermsResult:
    """Resolve metadata and texts into one judgement of the terms.

    ``licence_section_lines`` maps lines of ``readme_licence_section`` to README.md lines, so
    its hits cite the README; without it they cite the line within the section. Remembered:
    the same licence files and card values recur across thousands of repos.
    """
    # The section's scan stands in for its text: README licence sections differ in wording
    # far more often than in what a scan finds in them.
    readme_scan = (at_readme_lines(scan_text(readme_licence_section, README_LICENCE_SECTION,
                                             signals), licence_section_lines)
                   if readme_licence_section else None)
    key = (tuple(licence_values), license_name, tuple(licence_files), readme_scan)
    memo = signals._resolved  # held by the signal set; a result is shared, and only read
    hit = memo.get(key)
    if hit is not None and hit[0] is catalogue:
        return cast(TermsResult, hit[1])
    result = _resolve(licence_values, license_name, licence_files, readme_scan, catalogue,
                      signals)
    if sum(len(f.text or "") for f in licence_files) <= _MAX_REMEMBERED_TEXT:
        memo.put(key, (catalogue, result))
    return result


_MAX_REMEMBERED_TEXT = 262_144  # characters of licence text; longer inputs are not kept


def _resolve(
    licence_values: Sequence[str],
    license_name: str,
    licence_files: Sequence[FileText],
    readme_scan: TextScan | None,
    catalogue: Catalogue,
    signals: SignalSet,
) -> TermsResult:
    declared, meta_entries, unknown = _declared(licence_values, license_name, catalogue)
    file_scans, unreadable = _scan_files(licence_files, signals)
    readme_scans = [] if readme_scan is None else [readme_scan]
    scans = tuple(file_scans + readme_scans)
    evidence = _scan_evidence(scans)
    file_families = sorted({f for s in file_scans for f in s.families})
    families = file_families or sorted({f for s in readme_scans for f in s.families})
    text_restr = tuple(sorted({r for s in scans for r in s.restrictions}))
    effective, mismatches = _reconcile(meta_entries, families, text_restr, catalogue)
    if not meta_entries and effective:
        unknown = [u for u in unknown if u not in ("other", "unknown")]
    return TermsResult(tuple(declared), tuple(effective), tuple(unknown), scans, text_restr,
                       tuple(families), tuple(mismatches), evidence,
                       tuple(sorted(f"{f.path} ({f.error})" for f in unreadable)))


def at_readme_lines(scan: TextScan, lines: LineMap | None) -> TextScan:
    """``scan`` with its hits' lines mapped to README.md lines (scans are memoised: a copy)."""
    if lines is None or not scan.hits:
        return scan
    hits = tuple(replace(h, line=lines(h.line) or h.line) for h in scan.hits)
    return replace(scan, hits=hits)


def _declared(
    values: Sequence[str], license_name: str, catalogue: Catalogue
) -> tuple[list[str], list[LicenseEntry], list[str]]:
    declared: list[str] = []
    entries: list[LicenseEntry] = []
    unknown: list[str] = []
    for value in values:
        lookup = value
        if value == "other" and license_name:
            lookup = license_name.strip().lower()
        entry = catalogue.lookup(lookup)
        if entry is None or entry.category == "unknown" or entry.id == "other":
            unknown.append(lookup)
            continue
        declared.append(entry.id)
        entries.append(entry)
    return sorted(set(declared)), _unique(entries), sorted(set(unknown))


def _scan_files(
    files: Sequence[FileText], signals: SignalSet
) -> tuple[list[TextScan], list[FileText]]:
    scans = [scan_text(f.text, f.path, signals) for f in files if f.text is not None]
    unreadable = [f for f in files if f.text is None]
    return scans, unreadable


def _reconcile(
    meta: list[LicenseEntry],
    families: Sequence[str],
    text_restrictions: tuple[str, ...],
    catalogue: Catalogue,
) -> tuple[list[LicenseEntry], list[str]]:
    text_entries = _unique(e for f in families if (e := catalogue.lookup(f)) is not None)
    mismatches: list[str] = []
    meta_ids = {e.id for e in meta}
    effective = meta
    if text_entries and meta and not meta_ids & {e.id for e in text_entries}:
        same_family = {e.family for e in meta} & {e.family for e in text_entries}
        if not same_family or any(e.ambiguous for e in meta):
            if not all(e.ambiguous for e in meta):
                mismatches.append(
                    f"metadata declares {_names(meta)} but the licence text is "
                    f"{_names(text_entries)}"
                )
            effective = text_entries
    elif text_entries and not meta:
        effective = text_entries
    listed = {r for e in effective for r in e.restrictions}
    extra = sorted(set(text_restrictions) - listed)
    if extra and effective and all(e.category in _OPEN_CATEGORIES for e in effective):
        mismatches.append(
            f"metadata declares {_names(effective)} but the licence text adds restrictions: "
            + ", ".join(extra)
        )
    return effective, mismatches


def _scan_evidence(scans: Iterable[TextScan]) -> dict[str, tuple[Evidence, ...]]:
    hits = sorted(
        (h for s in scans for h in s.hits if h.weight != "weak"),
        key=lambda h: (h.path, h.line, h.signal_id),
    )
    by_restriction: dict[str, list[Evidence]] = {}
    for hit in hits:
        item = Evidence(hit.path, hit.line, f"[{hit.signal_id}] {hit.excerpt}")
        by_restriction.setdefault(hit.restriction, []).append(item)
    families = [
        Evidence(s.path, None, "identified as " + ", ".join(s.families))
        for s in scans if s.families
    ]
    result = {f"restriction:{k}": tuple(v) for k, v in by_restriction.items()}
    result["license_text.families"] = tuple(families)
    return result


def _unique(entries: Iterable[LicenseEntry]) -> list[LicenseEntry]:
    seen: dict[str, LicenseEntry] = {}
    for entry in entries:
        seen.setdefault(entry.id, entry)
    return sorted(seen.values(), key=lambda e: e.id)


def _names(entries: Sequence[LicenseEntry]) -> str:
    return ", ".join(f"'{e.id}'" for e in entries)
