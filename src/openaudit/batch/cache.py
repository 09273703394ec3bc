"""The audit cache: finished audit records keyed by (repo type, repo id, commit sha, audit key).

The audit key is ``audit_key`` (the rules, the openaudit version, i.e. the judge's code, and
the policy's waivers) followed by ``facets_key``: the repo settings that decide a verdict but
change without a commit (gating and tags), as the listing or info call reported them.

Layout under the openaudit cache directory (``$OPENAUDIT_CACHE``, else ``$HF_HOME/openaudit``)::

    audits/<type>s--<namespace>--<name>--<hash>/<sha>-<key>.json      one audit record
    audits/<type>s--<namespace>--<name>--<hash>/<sha>.evidence.json   the evidence at that commit
    audits/<type>s--<namespace>--<name>--<hash>/last.json             last sha, gating, tags seen

``<hash>`` digests the exact (type, id), so ids that read alike once ``/`` becomes ``--``
(``a/b--c`` and ``a--b/c``) never share a folder.

The evidence (info fields, README and licence texts) lets new rules re-judge an unchanged repo
without a single file request, online or offline.

Every write goes to a temporary file first and is renamed into place, so a crash never leaves a
half-written entry; an unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from openaudit import __version__
from openaudit.batch.ids import RepoRef
from openaudit.models import FileText, RepoSnapshot, RepoType
from openaudit.records import record_problem
from openaudit.waivers import Waiver


def audit_key(rules_digest: str, waivers: Iterable[Waiver] = ()) -> str:
    """What a cached record depends on besides the commit: rules, judge version, waivers."""
    parts = [__version__, rules_digest, *(json.dumps(
        [w.rule, w.reason, w.target, w.expires.isoformat() if w.expires else None])
        for w in waivers)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def live_facets(gated: Any, tags: Any) -> dict[str, Any]:
    """Gating and tags as a snapshot holds them: repo settings that change without a commit."""
    return {"gated": str(gated or "false").lower(),
            "tags": sorted(str(t) for t in tags) if isinstance(tags, list | tuple) else []}


def facets_key(facets: Mapping[str, Any]) -> str:
    """The part of a record's cache key that the gating and tags decide."""
    return hashlib.sha256(json.dumps(facets, sort_keys=True).encode()).hexdigest()[:12]


class AuditCache:
    """Audit records on disk; safe to use from one thread while workers only do I/O."""

    def __init__(self, root: Path) -> None:
        self.root = root / "audits"

    def get(self, ref: RepoRef, sha: str, digest: str) -> dict[str, Any] | None:
        """The cached record of this repo at this commit under these rules, if any."""
        record = _read_json(self._dir(ref) / f"{_safe(sha)}-{_safe(digest)}.json")
        if record is None or (record.get("repo_type"), record.get("repo_id")) != ref.key or (
                record_problem(record) is not None or "error" in record):
            return None  # damaged or foreign: a miss, re-judged from evidence or the Hub
        return record

    def get_evidence(self, ref: RepoRef, sha: str) -> RepoSnapshot | None:
        """The evidence read for this repo at this commit, if cached."""
        data = _read_json(self._dir(ref) / f"{_safe(sha)}.evidence.json")
        if data is None:
            return None
        try:
            snapshot = _snapshot(data)
        except (KeyError, TypeError, ValueError):
            return None  # an entry from another version, or damaged: a miss
        return snapshot if (snapshot.repo_type, snapshot.repo_id) == (
            ref.repo_type, ref.repo_id) and snapshot.sha == sha else None

    def put_evidence(self, ref: RepoRef, snapshot: RepoSnapshot) -> None:
        if snapshot.sha is None:
            return
        try:
            self._dir(ref).mkdir(parents=True, exist_ok=True)
            _write_json(self._dir(ref) / f"{_safe(snapshot.sha)}.evidence.json",
                        asdict(snapshot))
        except (OSError, TypeError, ValueError):
            pass  # evidence that cannot be stored only costs the next run its file requests

    def last_seen(self, ref: RepoRef) -> dict[str, Any] | None:
        """The commit, gating and tags of the repo's last audit, for ``--offline``."""
        last = _read_json(self._dir(ref) / "last.json")
        return last if last and isinstance(last.get("sha"), str) else None

    def put(self, ref: RepoRef, record: Mapping[str, Any], digest: str,
            facets: Mapping[str, Any]) -> None:
        """Store an audit record (error records are never cached); remember sha and facets."""
        sha = record.get("sha")
        if not isinstance(sha, str) or "error" in record:
            return
        folder = self._dir(ref)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_json(folder / f"{_safe(sha)}-{_safe(digest)}.json", record)
        except OSError:
            return  # a read-only cache costs the next run some requests, never this audit
        self.remember(ref, sha, facets)

    def remember(self, ref: RepoRef, sha: str, facets: Mapping[str, Any]) -> None:
        """Note the repo's last audited commit and facets, also for an audit that is not
        cached, so that ``--offline --author`` lists it (as not in the cache) instead of
        leaving it out."""
        folder = self._dir(ref)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_json(folder / "last.json", {"repo_type": ref.repo_type.value,
                                               "repo_id": ref.repo_id, "sha": sha, **facets})
        except OSError:
            pass

    def refs(self, repo_type: RepoType, namespace: str | None = None) -> Iterator[RepoRef]:
        """Repos with a remembered sha, sorted (``--offline --author``)."""
        pattern = f"{repo_type.value}s--{namespace}--*" if namespace else f"{repo_type.value}s--*"
        for folder in sorted(self.root.glob(pattern)):
            last = _read_json(folder / "last.json")
            if last and last.get("repo_type") == repo_type.value and isinstance(
                    last.get("repo_id"), str):
                ref = RepoRef(repo_type, last["repo_id"])
                # A folder of an older layout (or a copied one) is not this repo's: skip it.
                if (namespace is None or ref.namespace == namespace) and folder == self._dir(ref):
                    yield ref

    def _dir(self, ref: RepoRef) -> Path:
        exact = hashlib.sha256(f"{ref.repo_type.value}\n{ref.repo_id}".encode()).hexdigest()[:12]
        name = _safe(ref.repo_id.replace("/", "--"))
        return self.root / f"{ref.repo_type.value}s--{name}--{exact}"


def _snapshot(data: dict[str, Any]) -> RepoSnapshot:
    """Rebuild a RepoSnapshot from its stored form (the inverse of ``dataclasses.asdict``)."""
    readme = data.get("readme")
    return RepoSnapshot(**{
        **data, "repo_type": RepoType(data["repo_type"]), "tags": tuple(data["tags"]),
        "files": tuple(data["files"]),
        "readme": FileText(**readme) if readme is not None else None,
        "license_files": tuple(FileText(**f) for f in data["license_files"])})


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a damaged entry is a miss
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)  # keep the record's key order
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
