"""A malicious loopback Hub: every route's reply is chosen by the test, down to the raw bytes.

It serves one healthy model, ``evil/m`` (info, README.md, LICENSE, a listing of ``evil``), and
``on(pattern, action)`` replaces the reply of any "METHOD path" matching ``pattern`` (latest
first). Actions write whatever they like: lies about sizes, bombs, trickles, traversal names.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SHA = "a" * 40
README = b"---\nlicense: mit\nlibrary_name: transformers\n---\n# M\n\n## Training Data\nnone\n"
LICENSE = b"MIT License\n\nPermission is hereby granted, free of charge...\n"

Action = Callable[["_Handler"], None]


def info(**override: Any) -> dict[str, Any]:
    """The healthy info reply of ``evil/m``, with ``override`` applied (None removes a key)."""
    data: dict[str, Any] = {
        "_id": "0" * 24, "id": "evil/m", "sha": SHA, "gated": False, "private": False,
        "lastModified": "2025-01-01T00:00:00.000Z", "tags": ["license:mit"],
        "cardData": {"license": "mit", "library_name": "transformers"},
        "library_name": "transformers", "pipeline_tag": "text-generation",
        "siblings": [{"rfilename": n} for n in ("LICENSE", "README.md", "model.safetensors")]}
    data.update(override)
    return {k: v for k, v in data.items() if v is not None}


def send(status: int = 200, body: bytes = b"", **headers: str) -> Action:
    """A plain reply; a ``Content_Length`` keyword overrides the true length (a lie)."""
    def act(h: _Handler) -> None:
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body)),
                  **{k.replace("_", "-"): v for k, v in headers.items()}}
        h.head(status, fields)
        h.write(body)
    return act


def send_json(obj: Any, **headers: str) -> Action:
    return send(200, json.dumps(obj).encode(), **headers)


def trickle(body: bytes = b"x" * 10_000, every: float = 0.5, **headers: str) -> Action:
    """Headers at once (claiming the whole body), then one byte each ``every`` seconds."""
    def act(h: _Handler) -> None:
        h.head(200, {"Content-Length": str(len(body)), **headers})
        for i in range(len(body)):
            h.write(body[i:i + 1])
            time.sleep(every)
    return act


def trickle_headers(every: float = 0.5) -> Action:
    """The status line and headers themselves, one byte each ``every`` seconds, forever."""
    def act(h: _Handler) -> None:
        line = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 100_000
        for i in range(len(line)):
            h.write(line[i:i + 1])
            time.sleep(every)
    return act


def endless(chunk: bytes = b"x" * 65_536, **headers: str) -> Action:
    """A chunked body that never ends (a claimed size, if any, is a lie)."""
    def act(h: _Handler) -> None:
        h.head(200, {"Transfer-Encoding": "chunked", **headers})
        while True:
            h.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    return act


def gzip_bomb(size: int = 200_000_000, layers: int = 1) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times (200 MB -> ~200 KB for one layer)."""
    data = gzip.compress(b"\0" * size, compresslevel=9)
    for _ in range(layers - 1):
        data = gzip.compress(data, compresslevel=9)
    return data


class HostileHub:
    """``with HostileHub() as hub: ...``; ``hub.url``, ``hub.on(...)``, ``hub.log``."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self._routes: list[tuple[re.Pattern[str], Action]] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        resolve = rf"GET /evil/m/resolve/{SHA}/"
        self.on(r"^GET /api/models/evil/m(/revision/[^/]+)?$", send_json(info()))
        self.on(resolve + "README.md$", send(200, README, ETag=f'"{"b" * 40}"',
                                             X_Repo_Commit=SHA))
        self.on(resolve + "LICENSE$", send(200, LICENSE, ETag=f'"{"c" * 40}"',
                                           X_Repo_Commit=SHA))
        self.on(r"^GET /api/models$", send_json([info()]))

    def on(self, pattern: str, action: Action) -> None:
        self._routes.insert(0, (re.compile(pattern), action))

    def action(self, request: str) -> Action:
        for pattern, action in self._routes:
            if pattern.search(request):
                return action
        return send(404, b'{"error": "not found"}', X_Error_Code="EntryNotFound")

    def __enter__(self) -> HostileHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        for sock in list(self._server.live):  # wake handlers still trickling or streaming
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: HostileHub) -> None:
        self.hub, self.live = hub, set[socket.socket]()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on a bomb or a trickle is the expected outcome


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.live.add(self.connection)

    def finish(self) -> None:
        self.server.live.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.query = self.path.partition("?")[2]
        self.server.hub.log.append(f"{self.command} {path}")
        try:
            self.server.hub.action(f"GET {path}")(self)  # a HEAD gets the GET's headers
        except OSError:
            self.close_connection = True  # the client hung up: expected

    do_HEAD = do_GET

    _headers_sent = False

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self._headers_sent = True

    def write(self, data: bytes) -> None:
        if self.command == "HEAD" and self._headers_sent:
            raise OSError("no body for a HEAD")
        self.wfile.write(data)
        self.wfile.flush()


def pages(count: int, items: Callable[[int], list[Any]]) -> Action:
    """A listing of ``count`` pages (``items(n)`` on page n), each linking to the next."""
    def act(h: _Handler) -> None:
        match = re.search(r"(?:^|&)cursor=(\d+)", h.query)
        n = int(match[1]) if match else 0
        headers = {"Content-Type": "application/json"}
        if n + 1 < count:
            host = h.headers.get("Host")
            headers["Link"] = f'<http://{host}/api/models?cursor={n + 1}>; rel="next"'
        send(200, json.dumps(items(n)).encode(), **headers)(h)
    return act


def walk(root: Any) -> Iterator[str]:
    """Every file under ``root``, relative, as posix paths."""
    for path in root.rglob("*"):
        if path.is_file() or path.is_symlink():
            yield path.relative_to(root).as_posix()
