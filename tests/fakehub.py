"""Loopback fake of the Hugging Face Hub HTTP API for the real huggingface_hub client.

Repos live in ``ROOT/{models,datasets}/<ns>/<name>/``; every file there is a repo file except
``_hub.json``, which holds what only the Hub knows (sha, gated, refs, approved tokens, ...).

``FakeHub(root, infer=True)`` also derives what huggingface.co infers from the card and the
files (library and format tags, ``library_name``, languages, legacy ``licenses:``, the base-model
relation, ``region:us``); without it the tags are the small card-derived subset of ``_tags``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, parse_qsl, unquote, urlencode, urlsplit

import yaml

if TYPE_CHECKING:
    from socketserver import _RequestType

Reply = tuple[int, dict[str, str], bytes]
RepoFactory = Callable[..., Path]  # type of conftest's make_repo fixture

DISABLED_MESSAGE = "Access to this resource is disabled."  # the client matches it verbatim
DEFAULT_PUBLIC_FILES = ("README.md", ".gitattributes")
_COMMON_EXPAND = ("author cardData createdAt disabled downloads downloadsAllTime gated "
                  "lastModified likes private resourceGroup sha siblings tags trendingScore "
                  "usedStorage ")
_EXPAND = {  # valid expand values; anything else is a 400, like on the Hub
    "models": frozenset((_COMMON_EXPAND + "baseModels childrenModelCount config evalResults gguf "
                         "inference inferenceProviderMapping library_name mask_token model-index "
                         "pipeline_tag safetensors spaces transformersInfo widgetData").split()),
    "datasets": frozenset((_COMMON_EXPAND + "citation description mainSize "
                           "paperswithcode_id").split())}
_EXPAND_ONLY = ("baseModels", "downloadsAllTime", "trendingScore", "childrenModelCount",
                "evalResults", "resourceGroup", "inferenceProviderMapping")  # not by default
_LIST_KEYS = {  # default item shape of /api/models and /api/datasets (no expand)
    "models": "_id id likes private downloads tags pipeline_tag library_name createdAt modelId",
    "datasets": "_id id author sha lastModified private gated disabled downloads likes tags"}
_CONTROL_KEYS = ("sha", "refs", "public_files", "approved_tokens")  # never sent as-is
_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.S | re.M)
_ARXIV = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5})", re.I)
_ARXIV_ANY = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.I)  # with infer=True
# Library the Hub infers from root files when the card names none, first match wins; a repo
# with none of these but a .gguf file anywhere is "gguf".
_LIBRARY_FILES = (("model_index.json", "diffusers"), ("adapter_config.json", "peft"),
                  ("sentence_bert_config.json", "sentence-transformers"),
                  ("config.json", "transformers"))
_FORMAT_SUFFIXES = ((".bin", "pytorch"), (".pt", "pytorch"), (".safetensors", "safetensors"),
                    (".msgpack", "jax"), (".h5", "tf"), (".gguf", "gguf"))
_R_LIST = re.compile(r"^/api/(models|datasets)$")
_R_REPO = re.compile(  # repo info (at a revision), tree and auth-check
    r"^/api/(?P<kind>models|datasets)/(?P<ns>[^/]+)/(?P<name>[^/]+)"
    r"(?:/revision/(?P<rev>[^/]+)|/tree/(?P<tree>[^/]+)(?P<prefix>/.*)?|/(?P<auth>auth-check))?$")
_R_FILE = re.compile(
    r"^/(?:(?P<kind>datasets)/)?(?P<ns>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def git_oid(data: bytes) -> str:
    """Git blob SHA-1: what the Hub uses as ETag and tree ``oid`` of non-LFS files."""
    return _sha1(b"blob %d\0" % len(data) + data)


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _json(obj: Any) -> bytes:
    return json.dumps(obj, default=str).encode()  # default=str: YAML may yield dates


class _HubError(Exception):
    """Raised while routing; becomes an error reply shaped like the Hub's."""

    def __init__(self, status: int, code: str | None, message: str, **headers: str) -> None:
        super().__init__(message)
        extra = {"X-Error-Code": code} if code else {}
        self.reply = (status, {**extra, "X-Error-Message": message, **headers},
                      _json({"error": message}))


@dataclass
class Repo:
    kind: str  # "models" | "datasets"
    id: str
    dir: Path
    meta: dict[str, Any]  # the parsed _hub.json
    infer: bool = False  # derive the Hub's file- and card-inferred tags (see the module doc)

    @property
    def sha(self) -> str:
        return str(self.meta.get("sha") or _sha1(f"{self.kind}/{self.id}".encode()))

    def approved(self, token: str | None) -> bool:
        return token is not None and token in self.meta.get("approved_tokens", [])

    def files(self) -> list[str]:
        rel = (p.relative_to(self.dir).as_posix() for p in self.dir.rglob("*") if p.is_file())
        return sorted(r for r in rel if r != "_hub.json")

    def read(self, path: str) -> bytes | None:
        return (self.dir / path).read_bytes() if path in self.files() else None  # no "../"

    def commit(self, rev: str) -> str | None:
        refs: dict[str, str] = self.meta.get("refs", {})
        if rev in ("main", self.sha):
            return self.sha
        return refs.get(rev) or (rev if rev in refs.values() else None)

    def card(self) -> tuple[dict[str, Any], str]:
        """(YAML front matter, body) of README.md; like the Hub, bad YAML means no card."""
        text = (self.read("README.md") or b"").decode("utf-8", "replace")
        if not (match := _FRONT_MATTER.match(text)):
            return {}, text
        try:
            data = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            data = None
        return (data if isinstance(data, dict) else {}), text[match.end():]

    def info(self, commit: str | None = None) -> dict[str, Any]:
        """Every field the repo can report; the caller picks the default or expanded subset."""
        parsed, body = self.card()
        card = self.meta.get("cardData", parsed) or {}
        d: dict[str, Any] = {
            "_id": _sha1(self.id.encode())[:24], "id": self.id, "author": self.id.split("/")[0],
            "sha": commit or self.sha, "lastModified": "2025-01-01T00:00:00.000Z",
            "createdAt": "2024-01-01T00:00:00.000Z", "private": False, "gated": False,
            "disabled": False, "downloads": 0, "likes": 0,
            "siblings": [{"rfilename": f} for f in self.files()]}
        d.update({"cardData": card} if card else {})
        if self.kind == "models":
            d["modelId"] = self.id
            d.update({k: card[k] for k in ("library_name", "pipeline_tag") if k in card})
            if self.infer and not d.get("library_name") and (library := self._library()):
                d["library_name"] = library
        d.update({k: v for k, v in self.meta.items() if k not in _CONTROL_KEYS})
        d.setdefault("tags", self._tags(card, body))
        for key in ("lastModified", "createdAt"):  # ModelInfo only parses dates ending in Z
            if isinstance(d[key], str) and d[key].endswith("+00:00"):
                d[key] = d[key][:-6] + "Z"
        return d

    def _tags(self, card: dict[str, Any], body: str) -> list[str]:
        # The tags the Hub derives from the card and the README body (a useful subset, or with
        # ``infer`` the fuller set: library and formats first, languages and region:us last).
        tags = [str(t) for t in _as_list(card.get("tags"))]
        if self.kind == "models":
            tags += [f"dataset:{ds}" for ds in _as_list(card.get("datasets"))]
            bases = [str(b) for b in _as_list(card.get("base_model"))]
            rel = card.get("base_model_relation") or (self._relation(bases) if self.infer
                                                      else None)
            for base in bases:
                tags += [f"base_model:{base}"] + ([f"base_model:{rel}:{base}"] if rel else [])
        tags += [f"arxiv:{a}" for a in (_ARXIV_ANY if self.infer else _ARXIV).findall(body)]
        licences = _as_list(card.get("license"))
        licences += _as_list(card.get("licenses")) if self.infer else []
        tags += [f"license:{lic}" for lic in licences]
        if self.infer:
            tags = self._file_tags(card) + tags + self._language_tags(card) + ["region:us"]
        return list(dict.fromkeys(tags))

    def _library(self) -> str | None:
        """The library the Hub infers from the files (root marker files, else any .gguf)."""
        files = self.files()
        found = (lib for name, lib in _LIBRARY_FILES if name in files)
        gguf = "gguf" if any(f.endswith(".gguf") for f in files) else None
        return next(found, gguf)

    def _file_tags(self, card: dict[str, Any]) -> list[str]:
        """Library tag (the card's ``library_name``, else inferred) and weight-format tags."""
        if self.kind != "models":
            return []
        files = self.files()
        library = str(card.get("library_name") or "") or self._library()
        formats = [tag for suffix, tag in _FORMAT_SUFFIXES if any(f.endswith(suffix)
                                                                  for f in files)]
        if any("tfevents" in f.rsplit("/", 1)[-1] for f in files):
            formats.append("tensorboard")
        return ([library] if library else []) + formats

    def _language_tags(self, card: dict[str, Any]) -> list[str]:
        """Languages as the Hub tags them: bare codes on models, ``language:xx`` on datasets."""
        langs = [str(x) for x in _as_list(card.get("language") or card.get("languages"))]
        return langs if self.kind == "models" else [f"language:{x}" for x in langs]

    def _relation(self, bases: list[str]) -> str | None:
        """The base-model relation the Hub infers when the card sets no base_model_relation."""
        if not bases:
            return None
        files = self.files()
        if "adapter_config.json" in files:
            return "adapter"
        if len(bases) > 1:
            return "merge"
        config = self.read("config.json") or b""
        if any(f.endswith(".gguf") for f in files) or b"quantization" in config:
            return "quantized"
        return "finetune"


@dataclass
class LoggedRequest:
    method: str
    path: str  # as sent (percent-encoded), without the query string
    query: dict[str, list[str]]
    authorized: bool  # an Authorization header was sent; its value is never kept


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    times: int  # requests still to spoil; -1 = forever
    delay: float
    drop: bool
    reply: Reply | None  # None: serve normally after the delay


@dataclass
class FakeHub:
    """Fake Hub over ``root``: a context manager, or call ``start()`` and ``stop()``."""

    root: Path
    page_size: int = 1000  # the server's maximum page size for list/tree replies
    latency: float = 0.0  # seconds added to every request, for benchmarks
    infer: bool = False  # serve the Hub's inferred tags and library_name (see the module doc)
    _log: list[LoggedRequest] = field(default_factory=list, init=False, repr=False)
    _faults: list[_Fault] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _count: int = field(default=0, init=False, repr=False)
    _server: _Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> FakeHub:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name="fakehub", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None and thread is not None:
            server.shutdown()
            for sock in list(server.live):  # wake handler threads waiting on idle keep-alives
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            server.server_close()
            thread.join()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeHub is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def inject(self, pattern: str, *, status: int, headers: dict[str, str] | None = None,
               body: bytes | None = None, times: int = 1, delay: float = 0.0,
               drop: bool = False) -> None:
        """Misbehave on the next ``times`` (-1: every) request whose "METHOD path" matches.

        Sleep ``delay`` first; then hang up (``drop``), serve normally (``status=0``) or reply
        with ``status``/``headers``/``body`` (default body: a JSON error for status >= 400).
        """
        default = _json({"error": f"injected {status}"}) if status >= 400 else b""
        reply = (status, dict(headers or {}), default if body is None else body)
        fault = _Fault(re.compile(pattern), times, delay, drop, reply if status else None)
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _begin(self, entry: LoggedRequest) -> tuple[str, _Fault | None]:
        """Log a request, allot its request id and consume a matching fault, atomically."""
        with self._lock:
            self._log.append(entry)
            self._count += 1
            for fault in self._faults:
                if fault.times != 0 and fault.pattern.search(f"{entry.method} {entry.path}"):
                    fault.times -= fault.times > 0
                    return f"fake-{self._count}", fault
            return f"fake-{self._count}", None

    def repo(self, kind: str, ns: str, name: str) -> Repo | None:
        """The repo at ROOT/kind/ns/name, re-read on every call so tests may edit it live."""
        folder = self.root / kind / ns / name
        if ".." in (ns, name) or "/" in ns + name or not folder.is_dir():
            return None
        meta_file = folder / "_hub.json"
        meta = json.loads(meta_file.read_text("utf-8")) if meta_file.is_file() else {}
        return Repo(kind, f"{ns}/{name}", folder, meta, self.infer)

class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck handler must never block the test run

    def __init__(self, hub: FakeHub) -> None:
        self.hub, self.live = hub, set[socket.socket]()  # live: open client connections
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: _RequestType, client_address: Any) -> None:
        pass  # clients hanging up (timeouts, drops, shutdown) are expected, not failures


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, hence Content-Length on every reply
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; FakeHub.requests is the log

    def setup(self) -> None:
        super().setup()
        self.server.live.add(self.connection)

    def finish(self) -> None:
        self.server.live.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.hub = hub = self.server.hub
        url = urlsplit(self.path)
        auth = self.headers.get("Authorization")
        self.token = auth[7:] if auth and auth.startswith("Bearer ") else None
        self.authorized = auth is not None
        self.query = parse_qs(url.query, keep_blank_values=True)
        request_id, fault = hub._begin(
            LoggedRequest(self.command, url.path, self.query, self.authorized))
        time.sleep(hub.latency + (fault.delay if fault else 0.0))
        if fault and fault.drop:
            self.close_connection = True  # hang up without any reply
            return
        try:
            status, headers, body = fault.reply if fault and fault.reply else self._route(url)
        except _HubError as err:
            status, headers, body = err.reply
        except Exception as exc:  # a fixture bug should be a visible 500, not a hang
            status, headers, body = _HubError(500, None, f"fake hub error: {exc!r}").reply
        self.send_response(status)
        headers = {"Content-Type": "application/json; charset=utf-8", **headers,
                   "X-Request-Id": request_id, "Content-Length": str(len(body))}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def _route(self, url: SplitResult) -> Reply:
        if url.path == "/api/agent-harnesses":
            return 200, {}, _json({"standardEnvVars": [], "harnesses": {}})
        if m := _R_LIST.match(url.path):
            return self._list(m[1], url)
        if not (m := _R_FILE.match(url.path) or _R_REPO.match(url.path)):
            raise _HubError(404, None, "Not Found")
        g = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
        repo = self._access(self.hub.repo(g.get("kind", "models"), g["ns"], g["name"]))
        if "auth" in g:
            self._access(repo, file="")
            return 200, {}, _json({})
        rev = g.get("rev") or g.get("tree") or "main"
        if (commit := repo.commit(rev)) is None:
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        if "file" in g:
            return self._resolve(repo, commit, g["file"])
        if "tree" in g:
            prefix = g.get("prefix", "").strip("/")
            data = {f: (repo.dir / f).read_bytes() for f in repo.files()
                    if not prefix or f.startswith(prefix + "/")}  # always recursive, files only
            if prefix and not data:
                raise _HubError(404, "EntryNotFound", f"{prefix} does not exist")
            return self._page([{"type": "file", "path": f, "oid": git_oid(b), "size": len(b)}
                               for f, b in data.items()], url)
        info = repo.info(commit)
        return 200, {}, _json(self._shape(repo.kind, info, self._expand(repo.kind), full=True))

    def _access(self, repo: Repo | None, file: str | None = None) -> Repo:
        """Hub rules: private = not found, disabled = 403, gated files need an approved token."""
        if repo is None or (repo.meta.get("private") and not repo.approved(self.token)):
            raise _HubError(404 if self.authorized else 401, "RepoNotFound", "Repository not found")
        if repo.meta.get("disabled"):
            raise _HubError(403, None, DISABLED_MESSAGE)
        public = repo.meta.get("public_files", DEFAULT_PUBLIC_FILES)
        if file is None or file in public or not repo.meta.get("gated"):
            return repo
        if repo.approved(self.token):
            return repo
        what = f"Access to {repo.kind[:-1]} {repo.id} is restricted"
        if not self.authorized:
            raise _HubError(401, "GatedRepo", f"{what}; log in with an approved token.")
        raise _HubError(403, "GatedRepo", f"{what} and this token is not approved for it.")

    def _expand(self, kind: str) -> list[str]:
        expand = self.query.get("expand", []) + self.query.get("expand[]", [])
        if unknown := sorted(set(expand) - _EXPAND[kind]):
            raise _HubError(400, None, f"Invalid expand value(s): {unknown}")
        return expand

    @staticmethod
    def _shape(kind: str, info: dict[str, Any], expand: list[str], full: bool) -> dict[str, Any]:
        if expand:
            return {k: info[k] for k in ("_id", "id", *expand) if k in info}
        keys = [k for k in info if k not in _EXPAND_ONLY] if full else _LIST_KEYS[kind].split()
        return {k: info[k] for k in keys if k in info}

    def _page(self, items: list[Any], url: SplitResult) -> Reply:
        """One page of ``items``, plus an absolute ``Link`` to the next one while more remain."""
        limit = int(self.query.get("limit", ["0"])[0] or 0)
        size = max(1, min(limit, self.hub.page_size) if limit > 0 else self.hub.page_size)
        start = int(self.query.get("cursor", ["0"])[0] or 0)
        headers: dict[str, str] = {}
        if start + size < len(items):
            pairs = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True)
                     if k != "cursor"] + [("cursor", str(start + size))]
            headers["Link"] = f'<{self.hub.url}{url.path}?{urlencode(pairs)}>; rel="next"'
        return 200, headers, _json(items[start:start + size])

    def _list(self, kind: str, url: SplitResult) -> Reply:
        expand, author = self._expand(kind), self.query.get("author", [""])[0]
        terms = [s.lower() for s in self.query.get("search", [])]
        found = (self.hub.repo(kind, d.parent.name, d.name)
                 for d in sorted((self.hub.root / kind).glob("*/*")))  # sorted by id
        items = [self._shape(kind, r.info(), expand, full=False) for r in found
                 if r and (not r.meta.get("private") or r.approved(self.token))
                 and (not author or r.id.split("/")[0] == author)
                 and all(t in r.id.lower() for t in terms)]
        return self._page(items, url)

    def _resolve(self, repo: Repo, commit: str, name: str) -> Reply:
        self._access(repo, file=name)
        if (data := repo.read(name)) is None:  # X-Repo-Commit lets the client cache the miss
            raise _HubError(404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": commit})
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_oid(data)}"',
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        rng = re.fullmatch(r"bytes=(\d*)-(\d*)", (self.headers.get("Range") or "").strip())
        if rng is None or not (rng[1] or rng[2]):
            return 200, headers, data
        size = len(data)
        start = int(rng[1]) if rng[1] else max(size - int(rng[2]), 0)
        end = min(int(rng[2]), size - 1) if rng[1] and rng[2] else size - 1
        if start > end:
            raise _HubError(416, None, "Range not satisfiable")
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return 206, headers, data[start:end + 1]
