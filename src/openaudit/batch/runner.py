"""Plan and run a batch: listings and id lists in, one record per repo out.

Worker threads do Hub I/O (info call for stragglers, README and licence files) and may read the
cache (its writes are atomic renames); the pure judge, cache writes and every output run in the
calling thread, in completion order. One repo's
failure becomes its error record and never stops the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from openaudit.batch.cache import AuditCache, audit_key, facets_key, live_facets
from openaudit.batch.ids import RepoRef
from openaudit.errors import UsageError
from openaudit.hub import (
    GATED_FILE,
    HubOptions,
    RepoFailure,
    RequestGate,
    fetch_batch_info,
    fetch_batch_snapshot,
    list_repo_pages,
    repo_budget,
    validate_repo_id,
)
from openaudit.models import RepoSnapshot, RepoType
from openaudit.packs import Ruleset
from openaudit.pipeline import judge
from openaudit.records import audit_record, error_record
from openaudit.waivers import Waiver, apply_waivers

Record = dict[str, Any]
Emit = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class _Cached:
    """Evidence from the cache (new rules, same commit): judged, never re-stored."""

    evidence: RepoSnapshot


# A worker's result: fresh evidence to judge, cached evidence, or a finished record.
_Outcome = RepoSnapshot | _Cached | Record


@dataclass(frozen=True)
class Selection:
    """Which repos a batch covers: explicit ids and/or Hub listings by author and search."""

    refs: tuple[RepoRef, ...] = ()
    authors: tuple[str, ...] = ()
    search: str | None = None
    repo_type: RepoType = RepoType.MODEL  # of listed repos
    limit: int | None = None  # at most this many listed repos (ids are not limited)

    @property
    def listings(self) -> tuple[str | None, ...]:
        """One listing per author (each with the search), or one search over the Hub."""
        if self.authors:
            return self.authors
        return (None,) if self.search else ()


@dataclass
class BatchRunner:
    """Runs one batch. ``emit`` gets every record as soon as it is final."""

    ruleset: Ruleset
    options: HubOptions
    emit: Emit
    cache: AuditCache | None = None
    skip: frozenset[tuple[str, str]] = frozenset()  # repos already audited (--resume)
    concurrency: int = 8
    gate: RequestGate = field(default_factory=RequestGate)
    repo_budget: float | None = None  # seconds for one repo, retries included
    on_queued: Callable[[], None] = lambda: None  # a repo joined the batch (progress total)
    waivers: tuple[Waiver, ...] = ()  # the --config policy's, checked against the rules already
    problems: list[str] = field(default_factory=list)  # failed listings (not one repo's fault)
    _seen: set[tuple[str, str]] = field(default_factory=set, init=False)
    _pending: dict[Future[_Outcome], RepoRef] = field(default_factory=dict, init=False)
    _key: str = field(default="", init=False)

    def __post_init__(self) -> None:
        # Waivers change verdicts, so a cached record is only valid under the same waivers.
        self._key = audit_key(self.ruleset.digest, self.waivers)

    def run(self, selection: Selection) -> None:
        """Audit every selected repo online; returns when all records were emitted."""
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="openaudit")
        try:
            for ref, info in self._candidates(selection):
                self._take(pool, ref, info)
            self._harvest(keep=0)
        except BaseException:
            self.gate.stop()  # sleeping workers give up; requests in flight end by timeout
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def run_offline(self, selection: Selection) -> None:
        """Answer from the audit cache alone: zero requests; uncached repos get error records."""
        listed: list[RepoRef] = []
        if self.cache is not None:
            term = (selection.search or "").lower()
            for author in selection.listings:
                found = [r for r in self.cache.refs(selection.repo_type, author)
                         if term in r.repo_id.lower()]
                if not found:
                    self._nothing_listed(selection.repo_type, author, selection.search,
                                         "in the openaudit cache")
                listed += found
            listed = listed[:selection.limit] if selection.limit else listed
        for ref in (*selection.refs, *listed):
            if not self._admit(ref):
                continue
            if (problem := _invalid(ref)) is not None:
                self.emit(error_record(ref.repo_id, ref.repo_type, None, "invalid-id", problem))
                continue
            # Offline, the gating and tags last seen online are the only ones there are.
            last = self.cache.last_seen(ref) if self.cache is not None else None
            sha = last.get("sha") if last else None
            cached = self._cached(ref, last) if last and sha else None
            if cached is not None:
                self._finish(ref, cached)
                continue
            why = ("was audited before, but its audit was not cached (files hidden by a gate "
                   "are read again on every run)" if sha else "is not in the openaudit cache "
                   "(run the batch once without --offline)")
            self.emit(error_record(ref.repo_id, ref.repo_type, None, "not-in-cache",
                                   f"{ref.repo_type.value} '{ref.repo_id}' {why}"))

    # ---- planning ----------------------------------------------------------------------------

    def _candidates(self, selection: Selection) -> Iterator[tuple[RepoRef, Record | None]]:
        """(repo, listing info or None) pairs; stragglers (info None) come first."""
        wanted = [r for r in selection.refs if r.key not in self.skip]
        valid = [r for r in wanted if _invalid(r) is None]
        yield from ((r, None) for r in wanted if _invalid(r) is not None)
        groups = [list(g) for _, g in groupby(sorted(valid, key=_group), key=_group)]
        for group in groups:
            if len(group) == 1 or not group[0].namespace:  # info calls are cheaper here
                yield from ((r, None) for r in group)
        for group in groups:
            if len(group) > 1 and group[0].namespace:
                yield from self._from_namespace(group)
        listed = 0
        for author in selection.listings:
            for ref, info in self._listed(selection.repo_type, author, selection.search):
                if selection.limit is not None and listed >= selection.limit:
                    return
                listed += 1
                yield ref, info

    def _from_namespace(self, refs: list[RepoRef]) -> Iterator[tuple[RepoRef, Record | None]]:
        """Find several ids of one namespace in its listing; the rest are stragglers.

        Listings are not sorted by id, so paging stops when every id was found, or as soon as
        the pages read reach the number of ids still missing (info calls would be no dearer).
        """
        missing = {r.repo_id: r for r in refs}
        pages = 0
        try:
            for page in list_repo_pages(refs[0].repo_type, self.options, self.gate,
                                        author=refs[0].namespace):
                pages += 1
                for repo_id, info in page:
                    if (ref := missing.pop(repo_id, None)) is not None:
                        yield ref, info
                if not missing or pages >= len(missing):
                    break
        except RepoFailure:
            pass  # each straggler below then gets its own info call, and its own error record
        yield from ((ref, None) for ref in missing.values())

    def _listed(self, repo_type: RepoType, author: str | None,
                search: str | None) -> Iterator[tuple[RepoRef, Record | None]]:
        found = 0
        try:
            for page in list_repo_pages(repo_type, self.options, self.gate, author=author,
                                        search=search):
                for repo_id, info in page:
                    found += 1
                    yield RepoRef(repo_type, repo_id), info
        except RepoFailure as exc:
            self.problems.append(f"{exc.kind}: {exc.message}")
            return
        if not found:
            self._nothing_listed(repo_type, author, search, "on the Hub")

    def _nothing_listed(self, repo_type: RepoType, author: str | None, search: str | None,
                        where: str) -> None:
        """An empty listing is never a silent pass (a misspelt --author would be one)."""
        what = " ".join(filter(None, [f"of '{author}'" if author else "",
                                      f"matching '{search}'" if search else ""]))
        self.problems.append(f"empty: no {repo_type.value} repos {what} {where}")

    # ---- running -----------------------------------------------------------------------------

    def _admit(self, ref: RepoRef) -> bool:
        """True the first time a repo not skipped by --resume comes up."""
        if ref.key in self._seen or ref.key in self.skip:
            return False
        self._seen.add(ref.key)
        self.on_queued()
        return True

    def _take(self, pool: ThreadPoolExecutor, ref: RepoRef, info: Record | None) -> None:
        if not self._admit(ref):
            return
        if (problem := _invalid(ref)) is not None:
            self.emit(error_record(ref.repo_id, ref.repo_type, None, "invalid-id", problem))
            return
        if info is not None and (cached := self._cached(ref, info)) is not None:
            self._finish(ref, cached)  # a cache hit makes no request at all
            return
        self._pending[pool.submit(self._fetch, ref, info)] = ref
        self._harvest(keep=2 * self.concurrency)  # bounded memory on huge listings

    def _harvest(self, keep: int) -> None:
        """Emit finished repos; block while more than ``keep`` are still in flight."""
        while self._pending:
            done, _ = wait(self._pending, timeout=None if len(self._pending) > keep else 0,
                           return_when=FIRST_COMPLETED)
            if not done:
                return
            for future in done:
                self._finish(self._pending.pop(future), future.result())

    def _fetch(self, ref: RepoRef, info: Record | None) -> _Outcome:
        """Worker thread: Hub I/O only. Never raises."""
        deadline = time.monotonic() + (self.repo_budget or repo_budget(self.options))
        try:
            if info is None:
                info = fetch_batch_info(ref.repo_id, ref.repo_type, self.options, self.gate,
                                        deadline)
                if (cached := self._cached(ref, info)) is not None:
                    return cached
            return fetch_batch_snapshot(ref.repo_id, ref.repo_type, info, self.options,
                                        self.gate, deadline)
        except RepoFailure as exc:
            return error_record(ref.repo_id, ref.repo_type, None, exc.kind, exc.message)
        except Exception as exc:  # a bug must cost one repo, not the batch
            return error_record(ref.repo_id, ref.repo_type, None, "internal",
                                f"{type(exc).__name__}: {exc}")

    def _finish(self, ref: RepoRef, outcome: _Outcome | _Cached) -> None:
        """Calling thread: judge fresh or cached evidence, cache it, emit the record."""
        if isinstance(outcome, dict):
            self.emit(outcome)
            return
        snapshot, fresh = (outcome.evidence, False) if isinstance(outcome, _Cached) else (
            outcome, True)
        try:
            report = judge(snapshot, self.ruleset).report
            if self.waivers:
                report = apply_waivers(report, self.ruleset.pack_for(snapshot.repo_type),
                                       self.waivers)
            record = audit_record(report)
        except Exception as exc:  # a bug must cost one repo, not the batch
            self.emit(error_record(ref.repo_id, ref.repo_type, None, "internal",
                                   f"{type(exc).__name__}: {exc}"))
            return
        facets = live_facets(snapshot.gated, snapshot.tags)
        if self.cache is not None and _cacheable(snapshot):
            if fresh:
                self.cache.put_evidence(ref, snapshot)
            self.cache.put(ref, record, self._key + facets_key(facets), facets)
        elif self.cache is not None and snapshot.sha is not None:
            self.cache.remember(ref, snapshot.sha, facets)
        self.emit(record)

    def _cached(self, ref: RepoRef, info: Mapping[str, Any]) -> Record | _Cached | None:
        """The cached record at this sha, else the cached evidence to judge, else None.

        Gating and tags are repo settings that change without a commit: they come from ``info``
        (the listing or info call just made), are part of the record's cache key, and replace
        the ones stored with the evidence.
        """
        sha = info.get("sha")
        if self.cache is None or not isinstance(sha, str):
            return None
        facets = live_facets(info.get("gated"), info.get("tags"))
        if (record := self.cache.get(ref, sha, self._key + facets_key(facets))) is not None:
            return record
        evidence = self.cache.get_evidence(ref, sha)
        if evidence is None:
            return None
        return _Cached(replace(evidence, gated=facets["gated"], tags=tuple(facets["tags"])))


def _group(ref: RepoRef) -> tuple[str, str]:
    return (ref.repo_type.value, ref.namespace)


def _invalid(ref: RepoRef) -> str | None:
    """Why an id cannot be on the Hub (checked before any request), or None."""
    try:
        validate_repo_id(ref.repo_id)
    except UsageError as exc:
        return exc.message
    return None


def _cacheable(snapshot: RepoSnapshot) -> bool:
    """Files hidden by a gate may open with another token: such audits are not frozen."""
    files: Iterable[Any] = (snapshot.readme, *snapshot.license_files)
    return not any(f is not None and f.error == GATED_FILE for f in files)
