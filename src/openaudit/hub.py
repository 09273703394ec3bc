"""All Hugging Face Hub access: one info call, then README and licence files pinned to the commit.

Single audits and `openaudit batch` read alike: one capped, deadline-bound GET per info call
and per file (``openaudit.hubio``), every reply checked before use. Batch adds bulk listings
with ``expand`` and a shared retry gate (the section at the end).

huggingface_hub is imported lazily inside these functions so `--help` and `--version` stay fast,
and its errors are translated here, and only here, into openaudit's own errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from openaudit import __version__, hubio
from openaudit.errors import AccessDenied, FetchError, HubUnavailable, TargetNotFound, UsageError
from openaudit.facts import is_licence_file
from openaudit.hubio import BadReply
from openaudit.models import FileText, RepoSnapshot, RepoType
from openaudit.textio import decode_capped

T = TypeVar("T")

MAX_FILE_BYTES = 1_000_000  # licence texts and cards are small; anything larger is not read
MAX_LICENCE_FILES = 20
GATED_FILE = ("gated: this account has not been granted access "
              "(log in or pass --token with an approved account)")
_REPO_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_MODEL_EXPAND = ["cardData", "gated", "tags", "sha", "siblings", "lastModified", "library_name",
                 "pipeline_tag", "baseModels"]
_DATASET_EXPAND = ["cardData", "gated", "tags", "sha", "siblings", "lastModified"]


@dataclass(frozen=True)
class HubOptions:
    """How to reach the Hub. ``token`` None means HF_TOKEN or the stored login."""

    endpoint: str | None = None
    token: str | None = None
    offline: bool = False
    timeout: float = 20.0


def validate_token(token: str | None) -> None:
    """A token with spaces, line breaks or non-ASCII characters cannot be sent as a header."""
    if token is not None and (not token.isascii() or not token.isprintable()
                              or token != token.strip() or " " in token):
        raise UsageError("the token contains spaces, line breaks or non-ASCII characters",
                         "copy the token again (a token file with a CRLF ending causes this)")


def validate_endpoint(endpoint: str | None) -> None:
    """A malformed Hub URL is a usage error, not a network error (or one per repo in a batch)."""
    from urllib.parse import urlsplit

    if endpoint is None:
        return
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"'{endpoint}' is not an http(s) URL (--endpoint or HF_ENDPOINT)",
                         "use e.g. --endpoint https://huggingface.co")


def validate_repo_id(repo_id: str) -> None:
    """Reject ids the Hub cannot hold before any request is made."""
    if not _REPO_ID.match(repo_id) or repo_id.startswith(("/", ".")) or ".." in repo_id:
        raise UsageError(f"'{repo_id}' is not a valid repo id",
                         "use the form NAMESPACE/NAME, e.g. my-org/my-model")


def fetch_snapshot(repo_id: str, repo_type: RepoType, revision: str | None,
                   options: HubOptions) -> RepoSnapshot:
    """Read the evidence for one repo from the Hub (or, offline, from the local caches)."""
    validate_repo_id(repo_id)
    validate_token(options.token)
    validate_endpoint(options.endpoint)
    with _translated_errors(repo_id, repo_type, revision, options):
        if options.offline:
            info = _cached_info(repo_id, repo_type, revision)
            return _snapshot(repo_id, repo_type, revision, info, lambda path: _cached_file(
                repo_id, repo_type, info["sha"], path))
        # One try per request: a single audit reports a failure rather than waiting it out.
        gate, deadline = RequestGate(SINGLE_TRY), time.monotonic() + repo_budget(options)
        info = _fetch_info(repo_id, repo_type, revision, options, gate, deadline)
        _store_info(repo_id, repo_type, revision, info)
        return _snapshot(repo_id, repo_type, revision, info, lambda path: _store_file(
            repo_id, repo_type, info["sha"], _read_file_once(
                repo_id, repo_type, info["sha"], path, options, gate, deadline)))


def repo_budget(options: HubOptions) -> float:
    """Seconds one repo may take in all, retries and waits included."""
    return max(60.0, 10 * options.timeout)


def _snapshot(repo_id: str, repo_type: RepoType, revision: str | None, info: dict[str, Any],
              read: Callable[[str], FileText]) -> RepoSnapshot:
    """Assemble the evidence from an info reply, reading README and licence files with ``read``."""
    siblings = sorted(str(s) for s in info.get("siblings") or [])
    readme = read("README.md") if "README.md" in siblings else None
    licence_paths = [p for p in siblings if is_licence_file(p)]
    licences = tuple(read(p) for p in licence_paths[:MAX_LICENCE_FILES])
    licences += tuple(over_cap(p) for p in licence_paths[MAX_LICENCE_FILES:])
    return RepoSnapshot(
        repo_id=repo_id, repo_type=repo_type, source="hub", revision=revision, sha=info["sha"],
        card_data=info.get("cardData"), gated=str(info.get("gated") or "false").lower(),
        tags=tuple(sorted(info.get("tags") or [])), files=tuple(siblings),
        library_name=info.get("library_name"), pipeline_tag=info.get("pipeline_tag"),
        base_models=info.get("baseModels"), last_modified=info.get("lastModified"),
        readme=readme, license_files=licences,
    )


def _fetch_info(repo_id: str, repo_type: RepoType, revision: str | None, options: HubOptions,
                gate: RequestGate, deadline: float) -> dict[str, Any]:
    """The info call (``model_info`` / ``dataset_info`` with ``expand``), one capped GET."""
    from huggingface_hub import constants

    endpoint = (options.endpoint or constants.ENDPOINT).rstrip("/")
    url = f"{endpoint}/api/{repo_type.value}s/{repo_id}"
    url += f"/revision/{quote(revision, safe='')}" if revision else ""
    expand = _MODEL_EXPAND if repo_type is RepoType.MODEL else _DATASET_EXPAND
    what = f"{repo_type.value} '{repo_id}'"
    item, _ = gate.call(lambda timeout: hubio.get_json(
        url, [("expand", e) for e in expand], _headers(options), timeout, hubio.MAX_INFO_BYTES,
        what, gate.observe), options.timeout, deadline)
    return _parsed_info(item, repo_type, what)


def _parsed_info(item: Any, repo_type: RepoType, what: str) -> dict[str, Any]:
    """An info reply or listing item, checked, as openaudit keeps it. Raises BadReply."""
    from huggingface_hub import DatasetInfo, ModelInfo

    hubio.check_info_reply(item, what)
    try:
        parsed = (ModelInfo if repo_type is RepoType.MODEL else DatasetInfo)(**item)
        info = _info_dict(parsed)
    except Exception as exc:  # the client's parser met a shape the checks let through
        raise BadReply(f"the Hub returned an info reply that cannot be read for {what} "
                       f"({type(exc).__name__})", "check --endpoint") from None
    hubio.check_fields(info, what)
    return info


def _info_dict(raw: Any) -> dict[str, Any]:
    """The fields openaudit reads from a ModelInfo / DatasetInfo (info call or listing item)."""
    card = getattr(raw, "card_data", None)
    info: dict[str, Any] = {
        "sha": raw.sha,
        "cardData": card.to_dict() if card is not None else None,
        "gated": raw.gated,
        "tags": list(raw.tags or []),
        "siblings": [s.rfilename for s in raw.siblings or []],
        "library_name": getattr(raw, "library_name", None),
        "pipeline_tag": getattr(raw, "pipeline_tag", None),
        "baseModels": getattr(raw, "base_models", None),
        "lastModified": raw.last_modified.isoformat() if raw.last_modified else None,
    }
    return info


def over_cap(path: str) -> FileText:
    """A licence-like file beyond the per-repo cap: listed, unread, and said so."""
    return FileText(path, None, f"not read: only the first {MAX_LICENCE_FILES} licence-like "
                    "files of a repository are read")


def too_large(path: str, size: int) -> FileText:
    """A file over the size cap: never judged on a prefix, always reported as unread."""
    return FileText(path, None, f"too large to read ({size:,} bytes; the cap is "
                    f"{MAX_FILE_BYTES:,})")


def _cache_path(repo_id: str, repo_type: RepoType, revision: str | None) -> Path:
    name = f"{repo_type.value}s--{repo_id.replace('/', '--')}"
    rev = re.sub(r"[^\w.-]", "_", revision or "main")
    return cache_root() / "info" / name / f"{rev}.json"


def _file_path(repo_id: str, repo_type: RepoType, sha: str, path: str) -> Path:
    """Where a file read at a commit is kept: every part named here, none by the server."""
    repo = hashlib.sha256(f"{repo_type.value}\n{repo_id}".encode()).hexdigest()[:16]
    name = hashlib.sha256(path.encode()).hexdigest()[:32]
    return cache_root() / "files" / repo / hubio.check_sha(sha, repo_id) / f"{name}.json"


def _store_file(repo_id: str, repo_type: RepoType, sha: str, file: FileText) -> FileText:
    """Keep a file that was read, for ``--offline``; unread ones (gated, too large) are not."""
    if file.text is not None:
        target = _file_path(repo_id, repo_type, sha, file.path)
        with suppress(OSError):  # a read-only cache only costs the offline mode
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(file), handle)
            os.replace(tmp, target)
    return file


def _cached_file(repo_id: str, repo_type: RepoType, sha: str, path: str) -> FileText:
    try:
        data = json.loads(_file_path(repo_id, repo_type, sha, path).read_text(encoding="utf-8"))
        file = FileText(**data)
        if file.path == path and isinstance(file.text, str):
            return file
    except (OSError, ValueError, TypeError):
        pass
    return FileText(path, None, "not in the local cache (--offline)")


def cache_root() -> Path:
    """openaudit's own cache: ``$OPENAUDIT_CACHE``, else ``$HF_HOME/openaudit``."""
    from huggingface_hub import constants  # cheap: no HTTP stack is imported

    return Path(os.environ.get("OPENAUDIT_CACHE") or Path(constants.HF_HOME) / "openaudit")


def _store_info(repo_id: str, repo_type: RepoType, revision: str | None,
                info: dict[str, Any]) -> None:
    """Remember the info reply so ``--offline`` can audit the same revision later."""
    path = _cache_path(repo_id, repo_type, revision)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, sort_keys=True, default=str), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs the offline mode, never the audit


def _cached_info(repo_id: str, repo_type: RepoType, revision: str | None) -> dict[str, Any]:
    path = _cache_path(repo_id, repo_type, revision)
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        hubio.check_fields(info, repo_id)  # an entry of an older version, or damaged: a miss
    except (OSError, ValueError, RecursionError, AttributeError, BadReply):
        raise HubUnavailable(
            f"{repo_type.value} {repo_id} ({revision or 'main'}) is not in the local cache",
            "run the same audit once without --offline to fill the cache") from None
    return info


@contextmanager
def _translated_errors(repo_id: str, repo_type: RepoType, revision: str | None,
                       options: HubOptions) -> Iterator[None]:
    """Turn huggingface_hub and transport errors into openaudit errors with a next step."""
    from huggingface_hub.errors import (
        DisabledRepoError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import httpx  # type: ignore[attr-defined]  # httpx or httpx2

    what = f"{repo_type.value} '{repo_id}'"
    try:
        yield
    except FetchError:
        raise
    except _OutOfTime as exc:
        raise HubUnavailable(f"could not audit {what} in time: {exc}",
                             "raise --timeout, or retry later") from None
    except RevisionNotFoundError:
        raise TargetNotFound(f"revision '{revision}' does not exist in {what}",
                             "use a branch, tag or commit sha that exists") from None
    except GatedRepoError:
        raise AccessDenied(f"{what} is gated and this account has no access",
                           "request access on the Hub, then set HF_TOKEN or --token") from None
    except RepositoryNotFoundError:
        hint = "check the spelling; private repos need --token"
        suggestions = () if options.offline else suggest(repo_id, repo_type, options)
        if suggestions:
            hint = "did you mean: " + ", ".join(suggestions)
        raise TargetNotFound(f"{what} was not found on the Hub", hint, suggestions) from None
    except DisabledRepoError:
        raise AccessDenied(f"{what} has been disabled by the Hub", "") from None
    except OfflineModeIsEnabled:
        raise HubUnavailable("offline mode is enabled (HF_HUB_OFFLINE)",
                             "use --offline to audit from the cache, or unset "
                             "HF_HUB_OFFLINE") from None
    except HfHubHTTPError as exc:
        raise _http_error(what, exc) from None
    except (LocalEntryNotFoundError, httpx.HTTPError, OSError) as exc:
        cause = exc.__cause__ or exc
        raise HubUnavailable(f"could not reach the Hub for {what}: {_one_line(cause)}",
                             "check the network and --endpoint, raise --timeout, or use "
                             "--offline") from None


def _http_error(what: str, exc: Any) -> FetchError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401:
        return AccessDenied(f"the Hub rejected the token while reading {what}",
                            "check HF_TOKEN / --token (tokens are never printed)")
    if status == 403:
        return AccessDenied(f"access to {what} is forbidden", "check the token's permissions")
    if status == 429:
        retry = exc.response.headers.get("Retry-After") or ""
        wait = f"retry after {retry} s" if retry else "retry later"
        return HubUnavailable(f"the Hub rate-limited the request for {what}",
                              f"{wait}; a token (HF_TOKEN) doubles the quota")
    return HubUnavailable(f"the Hub answered HTTP {status} for {what}",
                          "retry later, or use --offline to audit from the cache")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # Never echo credentials a transport error may quote back.
    text = re.sub(r"(?i)(bearer\s+|token[=:]\s*)\S+", r"\1<redacted>", text)
    text = re.sub(r"hf_[A-Za-z0-9]{6,}", "<redacted>", text)
    return text[:200]


def suggest(repo_id: str, repo_type: RepoType, options: HubOptions,
            limit: int = 5) -> tuple[str, ...]:
    """Repo ids similar to an unknown one, from a Hub search on its name (best effort).

    The search is one capped GET with our timeout: ``list_models`` has no timeout parameter
    and retries for ~20 s, too long for a courtesy.
    """
    from huggingface_hub import constants

    endpoint = (options.endpoint or constants.ENDPOINT).rstrip("/")
    name = repo_id.split("/")[-1]
    try:
        items, _ = hubio.get_json(f"{endpoint}/api/{repo_type.value}s",
                                  [("search", name), ("limit", str(limit))], _headers(options),
                                  options.timeout, hubio.MAX_ERROR_BYTES, "a search")
        found = [item["id"] for item in items if isinstance(item, dict)
                 and isinstance(item.get("id"), str) and _REPO_ID.match(item["id"])]
    except Exception:  # suggestions are a courtesy; never let them mask the real error
        return ()
    return tuple(sorted(found)[:limit])


# ---- batch access: bulk listings, one-GET file reads, retries ---------------------------------
#
# `openaudit batch` audits thousands of repos, so it goes through huggingface_hub's own session,
# URL builder and headers, but with its own pagination, timeouts and retries: `list_models` has no
# timeout and sleeps up to ~23 s per page on its own schedule, and `hf_hub_download` costs a HEAD
# and a GET per file (and lets the server's sha and ETag name cache paths). Here: one GET per
# listing page, per info call and per file, each through `hubio.get` (single audits too).

_RETRY_STATUS = frozenset({408, 500, 502, 503, 504})
LISTING_PAGE_SIZE = 1000  # the largest page the Hub is known to serve; the Link header rules
MAX_LISTING_PAGES = 10_000  # 10 million repos at the page size: a listing past this loops
MAX_EMPTY_PAGES = 3  # pages in a row without a repo, each with a next page: the Hub sends none
LISTING_BUDGET = 3600.0  # seconds of requests (retries and waits included) for one listing


class RepoFailure(FetchError):
    """A repo (or listing) that could not be read; ``kind`` names the cause in its error record.

    Kinds: not-found, gated, access-denied, rate-limited, server-error, http-error, timeout,
    network, bad-reply.
    """

    def __init__(self, kind: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.kind = kind


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one request is retried (tests shorten the waits)."""

    attempts: int = 4  # tries per request, the first included
    backoff: float = 1.0  # first wait after a transient failure; doubles on each retry
    max_backoff: float = 16.0
    max_wait: float = 120.0  # the longest wait a 429 may ask for; a longer one gives up at once
    jitter: float = 0.25  # up to this fraction is added to each wait, so workers spread out


DEFAULT_RETRY = RetryPolicy()  # what a batch uses; tests swap in one with short waits
SINGLE_TRY = RetryPolicy(attempts=1)  # what a single audit uses


class _OutOfTime(Exception):
    """The repo's time budget ran out, or the batch was interrupted, before a retry."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RequestGate:
    """Shared by every worker of a batch: retries with backoff, and one 429 pauses them all.

    Every call runs under a deadline (the repo's time budget), so nothing can hang: each request
    gets ``min(timeout, time left)`` and no wait may outlast the deadline.
    """

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or DEFAULT_RETRY
        self._lock = threading.Lock()
        self._open_at = 0.0  # monotonic time before which no request may start
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Wake every waiting worker and make it give up, and start no new request (the batch
        is ending: Ctrl-C, the reader of stdout gone, a write error)."""
        self._stopped.set()

    def hold(self, seconds: float) -> None:
        """Keep every worker from sending a request for ``seconds``."""
        with self._lock:
            self._open_at = max(self._open_at, time.monotonic() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Pace proactively: a reply saying the quota is spent holds the gate until it resets."""
        remaining, reset = _rate_limit(headers)
        if remaining == 0 and reset is not None and reset <= self.policy.max_wait:
            self.hold(reset)

    def call(self, func: Callable[[float], T], timeout: float, deadline: float) -> T:
        """``func(timeout)`` with retries; raises its last error when tries or time run out."""
        attempt = 0
        while True:
            if self._stopped.is_set():  # the batch is ending: no new request, no retry
                raise _OutOfTime("interrupted", "the batch was interrupted")
            self._wait_open(deadline)
            left = deadline - time.monotonic()
            if left <= 0:
                raise _OutOfTime("timeout", "the time allowed for this repo ran out")
            try:
                return func(min(timeout, left))
            except Exception as exc:
                attempt += 1
                wait = self._retry_wait(exc, attempt)
                if (wait is None or attempt >= self.policy.attempts
                        or time.monotonic() + wait >= deadline):
                    raise
                if _status(exc) == 429:
                    self.hold(wait)  # every worker waits, not only the one that was told
                else:
                    self._sleep(wait)

    def _wait_open(self, deadline: float) -> None:
        while True:
            with self._lock:
                delay = self._open_at - time.monotonic()
            if delay <= 0:
                return
            if time.monotonic() + delay >= deadline:
                raise _OutOfTime("rate-limited", "the Hub rate limit did not reset within the "
                                 "time allowed for this repo")
            self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        spread = seconds * random.uniform(0, self.policy.jitter)  # not for security
        if self._stopped.wait(seconds + spread):
            raise _OutOfTime("interrupted", "the batch was interrupted")

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when ``exc`` is not worth retrying."""
        from huggingface_hub.utils import httpx  # type: ignore[attr-defined]

        backoff = min(self.policy.max_backoff, self.policy.backoff * 2.0 ** (attempt - 1))
        status = _status(exc)
        if status == 429:
            response = getattr(exc, "response", None)
            asked = _server_wait(response.headers) if response is not None else None
            if asked is None:
                return backoff
            return None if asked > self.policy.max_wait else asked
        if status in _RETRY_STATUS or isinstance(exc, httpx.TransportError):
            return backoff  # TransportError covers timeouts, resets and dropped connections
        return None


def _status(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _rate_limit(headers: Mapping[str, str]) -> tuple[int | None, float | None]:
    """(remaining, seconds to reset) from ``RateLimit: "api";r=0;t=37`` (IETF draft)."""
    remaining: int | None = None
    reset: float | None = None
    for part in (headers.get("RateLimit") or "").replace(",", ";").split(";"):
        key, _, value = part.strip().partition("=")
        with suppress(ValueError):
            if key == "r":
                remaining = int(value) if remaining is None else min(remaining, int(value))
            elif key == "t":
                reset = max(reset or 0.0, float(value))
    return remaining, reset


def _server_wait(headers: Mapping[str, str]) -> float | None:
    """How long a 429 asks us to wait: Retry-After (seconds or HTTP date), then RateLimit."""
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after:
        with suppress(ValueError):
            return max(0.0, float(retry_after))
        with suppress(TypeError, ValueError, IndexError):
            when = parsedate_to_datetime(retry_after)
            return max(0.0, when.timestamp() - time.time())
    remaining, reset = _rate_limit(headers)
    if reset is not None:
        return reset
    if remaining == 0:  # spent, reset unknown: the policy's window is the honest upper bound
        for part in (headers.get("RateLimit-Policy") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == "w":
                with suppress(ValueError):
                    return float(value)
    return None


def _headers(options: HubOptions) -> dict[str, str]:
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    headers: dict[str, str] = build_hf_headers(token=options.token, library_name="openaudit",
                                               library_version=__version__)
    return headers


ListingPage = list[tuple[str, "dict[str, Any] | None"]]


def list_repo_pages(repo_type: RepoType, options: HubOptions, gate: RequestGate, *,
                    author: str | None = None, search: str | None = None,
                    page_budget: float = 120.0) -> Iterator[ListingPage]:
    """Pages of ``(repo_id, info)`` from the Hub listing with ``expand``, fetched lazily.

    ``info`` has the same shape as a single audit's info call; it is None for an item without a
    commit sha or a file list (the caller then asks for that repo alone). Raises RepoFailure.
    """
    from huggingface_hub import constants

    endpoint = (options.endpoint or constants.ENDPOINT).rstrip("/")
    expand = _MODEL_EXPAND if repo_type is RepoType.MODEL else _DATASET_EXPAND
    params = [("expand", e) for e in expand]
    params += [("author", author)] if author else []
    params += [("search", search)] if search else []
    params += [("limit", str(LISTING_PAGE_SIZE))]
    url: str | None = f"{endpoint}/api/{repo_type.value}s"
    what = " ".join(filter(None, [f"the {repo_type.value} listing",
                                  f"of {author}" if author else "",
                                  f"for '{search}'" if search else ""]))
    seen: set[str] = set()
    spent, empty = 0.0, 0  # request time of the listing so far; empty pages in a row
    while url is not None:
        _check_next_page(url, endpoint, seen, what)
        if spent >= LISTING_BUDGET:
            raise RepoFailure("timeout", f"{what}: its pages took over {LISTING_BUDGET:g} s",
                              "narrow the listing with --search, or retry later")
        started = time.monotonic()
        with _batch_errors(what, None, options):
            items, reply = gate.call(partial(
                hubio.get_json, url, params, _headers(options), cap=hubio.MAX_PAGE_BYTES,
                what=what, observe=gate.observe), options.timeout,
                started + min(page_budget, LISTING_BUDGET - spent))
            page = _listing_page(items, repo_type, what)
        spent += time.monotonic() - started
        # The next page's URL carries the query (and the cursor) already: follow it verbatim.
        url, params = reply.response.links.get("next", {}).get("url"), []
        empty = 0 if page else empty + 1
        if empty >= MAX_EMPTY_PAGES and url is not None:
            raise RepoFailure("bad-reply", f"the Hub returned {empty} empty pages in a row for "
                              f"{what}", "retry later, or check --endpoint")
        yield page


def _listing_page(items: Any, repo_type: RepoType, what: str) -> ListingPage:
    """``(repo_id, info)`` per item; info is None for an item that is not whole and valid.

    Such an item (no sha or no file list: one the Hub shortened) gets its own info call, which
    reports what is wrong with it, rather than be judged as a repo without files.
    """
    if not isinstance(items, list):
        raise BadReply(f"the Hub returned a listing that is not a JSON array for {what}",
                       "check --endpoint")
    page: ListingPage = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            try:
                info: dict[str, Any] | None = _parsed_info(item, repo_type, what)
            except BadReply:
                info = None
            page.append((item["id"], info))
    return page


def _check_next_page(url: str, endpoint: str, seen: set[str], what: str) -> None:
    """Follow a ``Link: next`` only to a new page of the same host, and only so many times.

    A page already read means the listing loops; another scheme, host or port would receive
    the token. Both are replies a Hub does not send: the listing fails, it is never cut short
    in silence.
    """
    from urllib.parse import urlsplit

    here, there = urlsplit(endpoint), urlsplit(url)
    if (there.scheme, there.netloc.lower()) != (here.scheme, here.netloc.lower()):
        raise RepoFailure("bad-reply", f"{what}: the next page is on another host "
                          f"({there.scheme}://{there.netloc}); not followed, so the token is "
                          "not sent there", "check --endpoint")
    if url in seen:
        raise RepoFailure("bad-reply", f"{what}: the Hub sent a page already read as the next "
                          "one (the listing loops)", "retry later, or check --endpoint")
    if len(seen) >= MAX_LISTING_PAGES:
        raise RepoFailure("bad-reply", f"{what}: more than {MAX_LISTING_PAGES:,} pages",
                          "narrow the listing with --search, or use --limit")
    seen.add(url)


def fetch_batch_snapshot(repo_id: str, repo_type: RepoType, info: dict[str, Any] | None,
                         options: HubOptions, gate: RequestGate, deadline: float) -> RepoSnapshot:
    """One repo of a batch: its info (unless a listing gave it), then one GET per file.

    Raises RepoFailure. A gated file is an unreadable FileText ("not tested"), as in single audits.
    """
    if info is None:
        info = fetch_batch_info(repo_id, repo_type, options, gate, deadline)
    what = f"{repo_type.value} '{repo_id}'"
    with _batch_errors(what, repo_id, options, repo_type):
        sha = str(info["sha"])
        return _snapshot(repo_id, repo_type, None, info, lambda path: _read_file_once(
            repo_id, repo_type, sha, path, options, gate, deadline))


def fetch_batch_info(repo_id: str, repo_type: RepoType, options: HubOptions, gate: RequestGate,
                     deadline: float) -> dict[str, Any]:
    """The info call for a repo no listing covered (a "straggler"), retried. Raises RepoFailure."""
    with _batch_errors(f"{repo_type.value} '{repo_id}'", repo_id, options, repo_type):
        return _fetch_info(repo_id, repo_type, None, options, gate, deadline)


def _read_file_once(repo_id: str, repo_type: RepoType, sha: str, path: str,
                    options: HubOptions, gate: RequestGate, deadline: float) -> FileText:
    """One GET pinned to the commit; the 1 MB cap is enforced while reading."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError

    what = f"{repo_type.value} '{repo_id}'"
    url = hf_hub_url(repo_id, hubio.check_filename(path, what), repo_type=repo_type.value,
                     revision=hubio.check_sha(sha, what), endpoint=options.endpoint)
    try:
        reply = gate.call(lambda timeout: hubio.get(
            url, (), _headers(options), timeout, MAX_FILE_BYTES, gate.observe),
            options.timeout, deadline)
    except GatedRepoError:
        return FileText(path, None, GATED_FILE)
    except EntryNotFoundError:  # listed in the file list, gone at the commit: never a pass
        return FileText(path, None, f"listed by the Hub but not found at commit {sha[:12]}")
    if reply.body is None:
        size = reply.response.headers.get("Content-Length", "")
        return too_large(path, int(size)) if size.isdigit() and int(size) > MAX_FILE_BYTES else (
            FileText(path, None, f"too large to read (over {MAX_FILE_BYTES:,} bytes; the cap "
                     f"is {MAX_FILE_BYTES:,})"))
    text, errors = decode_capped(reply.body, MAX_FILE_BYTES)
    return FileText(path, text, None, errors, False)


@contextmanager
def _batch_errors(what: str, repo_id: str | None, options: HubOptions,
                  repo_type: RepoType = RepoType.MODEL) -> Iterator[None]:
    """Translate any failure into a RepoFailure whose ``kind`` names the cause."""
    try:
        yield
    except RepoFailure:
        raise
    except BadReply as exc:
        raise RepoFailure("bad-reply", exc.message, exc.hint) from None
    except _OutOfTime as exc:
        raise RepoFailure(exc.kind, f"{what}: {exc}", "raise --timeout, or retry later with "
                          "--resume") from None
    except Exception as exc:
        kind = _failure_kind(exc)
        if repo_id is not None:
            # No "did you mean" search per missing repo: a batch must not spend requests on it.
            quiet = replace(options, offline=True)
            try:
                with _translated_errors(repo_id, repo_type, None, quiet):
                    raise exc
            except FetchError as err:
                raise RepoFailure(kind, err.message, err.hint) from None
            except Exception:  # not a Hub error: described below
                pass
        if kind == "bad-reply":
            raise RepoFailure(kind, f"the Hub returned an unexpected reply for {what}: "
                              f"{_one_line(exc)}", "check --endpoint") from None
        raise RepoFailure(kind, f"could not read {what}: {_one_line(exc)}",
                          "retry later with --resume") from None


def _failure_kind(exc: Exception) -> str:
    from huggingface_hub.errors import (
        DisabledRepoError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import httpx  # type: ignore[attr-defined]

    if isinstance(exc, GatedRepoError):
        return "gated"
    if isinstance(exc, RepositoryNotFoundError | RevisionNotFoundError):
        return "not-found"
    if isinstance(exc, DisabledRepoError):
        return "access-denied"
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc) or 0
        return ("rate-limited" if status == 429 else "access-denied" if status in (401, 403)
                else "server-error" if status >= 500 else "http-error")
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.HTTPError | OSError):
        return "network"
    return "bad-reply"
