"""All Hugging Face Hub access: one info call, then README and licence files pinned to the commit.

huggingface_hub is imported lazily inside these functions so `--help` and `--version` stay fast,
and its errors are translated here, and only here, into openaudit's own errors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openaudit import __version__
from openaudit.errors import AccessDenied, FetchError, HubUnavailable, TargetNotFound, UsageError
from openaudit.facts import is_licence_file
from openaudit.models import FileText, RepoSnapshot, RepoType
from openaudit.textio import decode_capped

if TYPE_CHECKING:
    from huggingface_hub import HfApi

MAX_FILE_BYTES = 1_000_000  # licence texts and cards are small; anything larger is not read
MAX_LICENCE_FILES = 20
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
    with _translated_errors(repo_id, repo_type, revision, options):
        info = (_cached_info(repo_id, repo_type, revision) if options.offline
                else _fetch_info(repo_id, repo_type, revision, options))
        siblings = sorted(str(s) for s in info.get("siblings") or [])
        readme = (_read_file(repo_id, repo_type, info["sha"], "README.md", options)
                  if "README.md" in siblings else None)
        licence_paths = [p for p in siblings if is_licence_file(p)]
        licences = tuple(_read_file(repo_id, repo_type, info["sha"], p, options)
                         for p in licence_paths[:MAX_LICENCE_FILES])
        licences += tuple(over_cap(p) for p in licence_paths[MAX_LICENCE_FILES:])
    return RepoSnapshot(
        repo_id=repo_id, repo_type=repo_type, source="hub", revision=revision, sha=info["sha"],
        card_data=info.get("cardData"), gated=str(info.get("gated") or "false").lower(),
        tags=tuple(sorted(info.get("tags") or [])), files=tuple(siblings),
        library_name=info.get("library_name"), pipeline_tag=info.get("pipeline_tag"),
        base_models=info.get("baseModels"), last_modified=info.get("lastModified"),
        readme=readme, license_files=licences,
    )


def _api(options: HubOptions) -> HfApi:
    from huggingface_hub import HfApi

    return HfApi(endpoint=options.endpoint, token=options.token, library_name="openaudit",
                 library_version=__version__)


def _fetch_info(repo_id: str, repo_type: RepoType, revision: str | None,
                options: HubOptions) -> dict[str, Any]:
    api = _api(options)
    raw: Any
    if repo_type is RepoType.MODEL:
        raw = api.model_info(repo_id, revision=revision, timeout=options.timeout,
                             expand=_MODEL_EXPAND)  # type: ignore[arg-type]
    else:
        raw = api.dataset_info(repo_id, revision=revision, timeout=options.timeout,
                               expand=_DATASET_EXPAND)  # type: ignore[arg-type]
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
    if not info["sha"]:
        raise HubUnavailable(f"the Hub returned no commit sha for {repo_id}",
                             "check --endpoint points at a Hugging Face Hub")
    _store_info(repo_id, repo_type, revision, info)
    return info


def _read_file(repo_id: str, repo_type: RepoType, sha: str, path: str,
               options: HubOptions) -> FileText:
    """Download one small text file pinned to the commit.

    A gated file becomes an unreadable FileText (so "not tested"), never an error or a pass.
    """
    from huggingface_hub import constants, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError
    from huggingface_hub.file_download import get_hf_file_metadata

    kwargs: dict[str, Any] = {"repo_id": repo_id, "filename": path, "revision": sha,
                              "repo_type": repo_type.value, "endpoint": options.endpoint,
                              "token": options.token}
    try:
        return _decode(path, hf_hub_download(**kwargs, local_files_only=True))
    except LocalEntryNotFoundError:
        if options.offline:
            return FileText(path, None, "not in the local Hub cache (--offline)")
    # hf_hub_download reads its GET timeout from this module constant, not from an argument.
    constants.HF_HUB_DOWNLOAD_TIMEOUT = max(1, round(options.timeout))
    try:
        url = hf_hub_url(repo_id, path, repo_type=repo_type.value, revision=sha,
                         endpoint=options.endpoint)
        meta = get_hf_file_metadata(url, token=options.token, timeout=options.timeout,
                                    endpoint=options.endpoint)
        if meta.size is not None and meta.size > MAX_FILE_BYTES:
            return too_large(path, meta.size)
        return _decode(path, hf_hub_download(**kwargs, etag_timeout=options.timeout))
    except GatedRepoError:
        return FileText(path, None, "gated: this account has not been granted access "
                        "(log in or pass --token with an approved account)")


def over_cap(path: str) -> FileText:
    """A licence-like file beyond the per-repo cap: listed, unread, and said so."""
    return FileText(path, None, f"not read: only the first {MAX_LICENCE_FILES} licence-like "
                    "files of a repository are read")


def too_large(path: str, size: int) -> FileText:
    """A file over the size cap: never judged on a prefix, always reported as unread."""
    return FileText(path, None, f"too large to read ({size:,} bytes; the cap is "
                    f"{MAX_FILE_BYTES:,})")


def _decode(path: str, local_path: str) -> FileText:
    with open(local_path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # e.g. found in the cache, where no size check ran
        return too_large(path, os.path.getsize(local_path))
    text, errors = decode_capped(data, MAX_FILE_BYTES)
    return FileText(path, text, None, errors, False)


def _cache_path(repo_id: str, repo_type: RepoType, revision: str | None) -> Path:
    from huggingface_hub import constants

    root = Path(os.environ.get("OPENAUDIT_CACHE") or Path(constants.HF_HOME) / "openaudit")
    name = f"{repo_type.value}s--{repo_id.replace('/', '--')}"
    rev = re.sub(r"[^\w.-]", "_", revision or "main")
    return root / "info" / name / f"{rev}.json"


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
    except (OSError, ValueError):
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

    The search goes through huggingface_hub's own session and headers but with our timeout:
    ``list_models`` has no timeout parameter and retries for ~20 s, too long for a courtesy.
    """
    from huggingface_hub import constants, get_session
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    endpoint = (options.endpoint or constants.ENDPOINT).rstrip("/")
    name = repo_id.split("/")[-1]
    try:
        response = get_session().get(
            f"{endpoint}/api/{repo_type.value}s", params={"search": name, "limit": limit},
            headers=build_hf_headers(token=options.token, library_name="openaudit",
                                     library_version=__version__),
            timeout=options.timeout)
        items = response.json() if response.status_code == 200 else []
        found = [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]
    except Exception:  # suggestions are a courtesy; never let them mask the real error
        return ()
    return tuple(sorted(found)[:limit])
