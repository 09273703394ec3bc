"""Reading untrusted Hub replies: one capped, deadline-bound GET, and checks of reply shapes.

Every byte from an endpoint is untrusted. A reply may lie about its size, compress a bomb,
trickle a byte a second, redirect with a huge body, or hold JSON of any shape. So a GET here
has a total deadline (httpx only times single reads), its body a cap enforced while streaming
(after decompressing, one layer only), redirects are followed without reading their bodies,
and an info reply is checked field by field before anything reads it. Nothing a server says
ever chooses a local path: the sha and every file name are checked, and callers name cache
files themselves.
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from openaudit.errors import FetchError

T = TypeVar("T")

MAX_INFO_BYTES = 20_000_000  # an info reply (the file list of a 100,000-file repo is ~10 MB)
MAX_PAGE_BYTES = 50_000_000  # a listing page of 1,000 repos with their file lists
MAX_ERROR_BYTES = 65_536  # an error reply: only its message is read
MAX_JSON_DEPTH = 100  # real cards nest < 10 deep; deeper JSON would exhaust the stack later
MAX_REDIRECTS = 5
GATED_VALUES = ("auto", "manual")  # or False: the only values the Hub documents
_SHA = re.compile(r"[0-9a-f]{40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")

Params = Sequence[tuple[str, str]]


class BadReply(FetchError):
    """The Hub sent a reply no Hub sends (shape, size, encoding): kind ``bad-reply``."""


@dataclass(frozen=True)
class Reply:
    """A finished GET: the response (closed; status, headers, links) and its capped body."""

    response: Any  # httpx.Response
    body: bytes | None  # None: over the cap (nothing past the cap was kept)


def get(url: str, params: Params, headers: Mapping[str, str], seconds: float, cap: int,
        observe: Callable[[Mapping[str, str]], None] = lambda _headers: None) -> Reply:
    """GET ``url`` with everything (connect, redirects, body) done within ``seconds``.

    An HTTP error status raises huggingface_hub's error for it, as ``hf_raise_for_status`` maps
    it; ``observe`` sees the headers of every reply (rate-limit pacing).
    """
    return _within(seconds, lambda stop: _get(url, params, headers, seconds, cap, observe, stop))


def get_json(url: str, params: Params, headers: Mapping[str, str], seconds: float, cap: int,
             what: str, observe: Callable[[Mapping[str, str]], None] = lambda _h: None,
             ) -> tuple[Any, Reply]:
    """``get`` and parse the body as JSON; too large, invalid or too deep is a BadReply."""
    reply = get(url, params, headers, seconds, cap, observe)
    if reply.body is None:
        raise BadReply(f"the Hub returned a reply over {cap:,} bytes for {what}",
                       "check --endpoint")
    return parse_json(reply.body, what), reply


def parse_json(body: bytes, what: str) -> Any:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadReply(f"the Hub returned invalid JSON for {what}", "check --endpoint") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadReply(f"the Hub returned JSON nested over {MAX_JSON_DEPTH} deep for {what}",
                       "check --endpoint")
    return data


def _depth(data: Any) -> int:
    """Nesting depth, without recursion (the data came from a server)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            return level
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else ()
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest


def _within(seconds: float, func: Callable[[threading.Event], T]) -> T:
    """``func(stop)`` in a daemon thread, given up after ``seconds`` (``stop`` is then set).

    httpx has per-read timeouts only: a reply trickling one byte a second would never end.
    """
    from huggingface_hub.utils import httpx  # type: ignore[attr-defined]

    stop, done = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, func(stop)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="openaudit-get", daemon=True).start()
    if not done.wait(max(0.0, seconds)):
        stop.set()  # the thread drops the reply at its next chunk
        raise httpx.ReadTimeout(f"no complete reply within {seconds:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


def _get(url: str, params: Params, headers: Mapping[str, str], seconds: float, cap: int,
         observe: Callable[[Mapping[str, str]], None], stop: threading.Event) -> Reply:
    from huggingface_hub import get_session

    client = get_session()
    # No br/zstd: only encodings decoded here under the cap are asked for.
    request = client.build_request("GET", url, params=list(params) or None,
                                   headers={**headers, "Accept-Encoding": "gzip, deflate"},
                                   timeout=seconds)
    for _ in range(MAX_REDIRECTS + 1):
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            observe(response.headers)
            if response.has_redirect_location and response.next_request is not None:
                request = response.next_request  # httpx drops the token on another origin
                continue  # the redirect's body is never read
            if response.status_code >= 400:
                _raise_for_status(response, stop)
            return Reply(response, _read_capped(response, cap, stop))
        finally:
            response.close()
    raise BadReply(f"the Hub redirected more than {MAX_REDIRECTS} times for {url}",
                   "check --endpoint")


def _raise_for_status(response: Any, stop: threading.Event) -> None:
    """huggingface_hub's error for the status, from at most MAX_ERROR_BYTES of the body."""
    from huggingface_hub.utils import hf_raise_for_status, httpx  # type: ignore[attr-defined]

    body = _read_capped(response, MAX_ERROR_BYTES, stop) or b""
    drop = ("content-encoding", "content-length", "transfer-encoding")
    copy = httpx.Response(response.status_code, content=body, request=response.request,
                          headers=[(k, v) for k, v in response.headers.multi_items()
                                   if k.lower() not in drop])
    hf_raise_for_status(copy)


def _read_capped(response: Any, cap: int, stop: threading.Event) -> bytes | None:
    """The decoded body, or None as soon as it exceeds ``cap`` bytes (whatever it claimed)."""
    from huggingface_hub.utils import httpx  # type: ignore[attr-defined]

    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    size = response.headers.get("Content-Length", "")
    inflate: Any = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflate = zlib.decompressobj(wbits=47)  # 32 + 15: a gzip or a zlib header
    elif encoding not in ("", "identity"):  # e.g. "gzip, gzip": a bomb of bombs
        raise BadReply(f"the Hub returned a reply with Content-Encoding '{encoding[:40]}', "
                       "which was not asked for", "check --endpoint")
    elif size.isdigit() and int(size) > cap:
        return None
    data = bytearray()
    for chunk in response.iter_raw():
        if stop.is_set():
            raise httpx.ReadTimeout("given up")
        try:
            # max_length: never inflate more than one byte past the cap.
            data += inflate.decompress(chunk, cap + 1 - len(data)) if inflate else chunk
        except zlib.error:
            raise BadReply("the Hub returned a corrupt compressed reply",
                           "check --endpoint") from None
        if len(data) > cap:
            return None
    return bytes(data)


# ---- shapes ---------------------------------------------------------------------------------


def check_sha(sha: Any, what: str) -> str:
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise BadReply(f"the Hub returned an invalid commit sha ({_show(sha)}) for {what}",
                       "check --endpoint points at a Hugging Face Hub")
    return sha


def check_filename(name: Any, what: str) -> str:
    """A repo file name that is safe in a URL path and could never name a local path."""
    parts = name.split("/") if isinstance(name, str) else []
    if (not parts or len(name) > 1000 or _CONTROL.search(name)
            or any(p in ("", ".", "..") for p in parts)):
        raise BadReply(f"the Hub returned an invalid file name ({_show(name)}) for {what}",
                       "check --endpoint")
    return str(name)


def check_info_reply(item: Any, what: str) -> dict[str, Any]:
    """The raw info reply (or listing item) with every field openaudit reads well typed."""
    if not isinstance(item, dict):
        raise BadReply(f"the Hub returned a reply that is not a JSON object for {what}",
                       "check --endpoint")
    siblings = item.get("siblings")
    if not isinstance(siblings, list) or not all(isinstance(s, dict) for s in siblings):
        raise BadReply(f"the Hub returned no valid file list (siblings: {_show(siblings)}) "
                       f"for {what}", "check --endpoint")
    check_fields({**item, "siblings": [s.get("rfilename") for s in siblings]}, what)
    return item


def check_fields(info: Mapping[str, Any], what: str) -> None:
    """The fields of an info dict (siblings as names), as ``_info_dict`` and the cache hold."""
    check_sha(info.get("sha"), what)
    if not isinstance(info.get("siblings"), list):
        raise BadReply(f"the Hub returned no file list for {what}", "check --endpoint")
    for name in info["siblings"]:
        check_filename(name, what)
    gated = info.get("gated")
    if gated is not False and gated not in GATED_VALUES:  # `is`: 0 == False
        raise BadReply(f"the Hub returned an undocumented gated value ({_show(gated)}) for "
                       f"{what}", "expected false, \"auto\" or \"manual\"; check --endpoint")
    expected: dict[str, type | tuple[type, ...]] = {
        "cardData": dict, "tags": list, "library_name": str, "pipeline_tag": str,
        "lastModified": str, "baseModels": (dict, list)}
    for key, kind in expected.items():
        if info.get(key) is not None and not isinstance(info[key], kind):
            raise BadReply(f"the Hub returned an invalid '{key}' ({_show(info[key])}) for "
                           f"{what}", "check --endpoint")
    if not all(isinstance(t, str) for t in info.get("tags") or ()):
        raise BadReply(f"the Hub returned tags that are not strings for {what}",
                       "check --endpoint")


def _show(value: Any) -> str:
    """A short, printable rendering of a value a server sent."""
    text = json.dumps(value, default=str)[:60] if not isinstance(value, dict | list) else (
        f"a JSON {'object' if isinstance(value, dict) else 'array'}")
    return text.encode("ascii", "backslashreplace").decode()
