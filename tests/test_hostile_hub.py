"""A malicious Hub: nothing it sends chooses a path, fills the disk or memory, hangs a run, or
ends in a traceback. Malformed replies are the same `bad-reply` error (exit 3, "the Hub
returned …") for `openaudit model` and `openaudit batch`; timeouts are exit 3 in bounded time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hostile_hub import (
    LICENSE,
    README,
    SHA,
    HostileHub,
    endless,
    gzip_bomb,
    info,
    pages,
    send,
    send_json,
    trickle,
    trickle_headers,
    walk,
)
from openaudit import hub as hub_module
from openaudit.hub import RetryPolicy

pytestmark = pytest.mark.e2e

INFO = r"^GET /api/models/evil/m$"
RESOLVE = rf"^GET /evil/m/resolve/{SHA}/"
ESCAPE = "../../../../escaped"


class _Hung(BaseException):
    """Raised by the wall-clock guard; a BaseException so the CLI's own handlers let it by."""


@pytest.fixture
def hostile(hub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Iterator[HostileHub]:
    monkeypatch.delenv("OPENAUDIT_CACHE", raising=False)
    monkeypatch.setattr(hub_module, "DEFAULT_RETRY",
                        RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05, jitter=0.1))

    def hung(*_: object) -> None:
        raise _Hung("the run did not end within 30 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)  # a regression shows as a failed test, not as a hung suite
    try:
        with HostileHub() as server:
            yield server
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _assert_contained(tmp_path)


def _assert_contained(tmp_path: Path) -> None:
    """Every file the run wrote is in the temporary HF home, small, and none escaped."""
    for rel in walk(tmp_path):
        assert rel.startswith("hf/") or rel == "ids.txt", rel
        assert (tmp_path / rel).is_file() and not (tmp_path / rel).is_symlink(), rel
        assert (tmp_path / rel).stat().st_size < 1_100_000, rel
    assert not [p for p in walk(tmp_path.parent) if "escaped" in p]


def model(run_cli: Any, server: HostileHub, *extra: str, limit: float = 10.0) -> Any:
    started = time.monotonic()
    result = run_cli("model", "evil/m", "--endpoint", server.url, "--format", "json",
                     "--timeout", "1", *extra)
    assert time.monotonic() - started < limit
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


def batch(run_cli: Any, server: HostileHub, tmp_path: Path, *extra: str,
          limit: float = 15.0) -> tuple[Any, list[dict[str, Any]]]:
    ids = tmp_path / "ids.txt"
    ids.write_text("evil/m\n", encoding="utf-8")
    args = [str(ids)] if not extra or extra[0] != "--author" else []
    started = time.monotonic()
    result = run_cli("batch", *args, *extra, "--endpoint", server.url, "--format", "jsonl",
                     "--timeout", "1")
    assert time.monotonic() - started < limit
    assert "Traceback" not in result.stderr and "internal" not in result.stdout + result.stderr
    return result, [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def assert_bad_reply(result: Any, records: list[dict[str, Any]] | None = None) -> None:
    assert result.code == 3, result.stderr
    if records is None:
        assert "the Hub returned" in result.stderr, result.stderr
        assert result.stdout == ""
    else:
        (record,) = records
        assert record["error"]["kind"] == "bad-reply", record
        assert record["error"]["message"].startswith("the Hub returned"), record


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": [value]}
    return value


BAD_INFO = {  # replies to the info call that no Hub sends
    "not-json": b"{not json",
    "not-utf8": b'{"sha": "\xff\xfe"}',
    "a-list": b"[]",
    "null": b"null",
    "cardData-list": info(cardData=["license", "mit"]),
    "cardData-string": info(cardData="mit"),
    "siblings-string": info(siblings="README.md"),
    "siblings-of-strings": info(siblings=["README.md"]),
    "siblings-missing": {k: v for k, v in info().items() if k != "siblings"},
    "rfilename-int": info(siblings=[{"rfilename": 7}]),
    "sha-123": info(sha=123),
    "sha-short": info(sha="abc"),
    "sha-missing": {k: v for k, v in info().items() if k != "sha"},
    "sha-traversal": info(sha=ESCAPE),
    "deep-json": b'{"cardData": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested-200": info(cardData=_deep(100)),
    "gated-7": info(gated=7),
    "gated-object": info(gated={}),
    "gated-true": info(gated=True),
    "gated-yes": info(gated="yes"),
    "tags-string": info(tags="license:mit"),
    "tags-ints": info(tags=[1, 2]),
    "lastModified-int": info(lastModified=5),
    "lastModified-garbage": info(lastModified="not a date"),
    "library_name-list": info(library_name=["transformers"]),
    "filename-traversal": info(siblings=[{"rfilename": "../../../../etc/passwd"},
                                         {"rfilename": "README.md"}]),
    "filename-absolute": info(siblings=[{"rfilename": "/etc/passwd"}]),
    "filename-backslash": info(siblings=[{"rfilename": "LICENSE\\..\\..\\x"}]),
    "filename-nul": info(siblings=[{"rfilename": "LICENSE\0.txt"}]),
    "filename-control": info(siblings=[{"rfilename": "LICENSE\n.txt"}]),
    "filename-dot-segment": info(siblings=[{"rfilename": "a/./LICENSE"}]),
}


def _body(shape: Any) -> bytes:
    return shape if isinstance(shape, bytes) else json.dumps(shape).encode()


@pytest.mark.parametrize("name", sorted(BAD_INFO))
def test_a_malformed_info_reply_is_a_bad_reply_for_model(name: str, hostile: HostileHub,
                                                          run_cli: Any) -> None:
    hostile.on(INFO, send(200, _body(BAD_INFO[name])))
    assert_bad_reply(model(run_cli, hostile))
    assert not [r for r in hostile.log if "/resolve/" in r]  # no file read on a bad reply


@pytest.mark.parametrize("name", sorted(BAD_INFO))
def test_a_malformed_info_reply_is_a_bad_reply_for_batch(name: str, hostile: HostileHub,
                                                          run_cli: Any, tmp_path: Path) -> None:
    hostile.on(INFO, send(200, _body(BAD_INFO[name])))
    assert_bad_reply(*batch(run_cli, hostile, tmp_path))


@pytest.mark.parametrize("name", ["gated-7", "gated-object", "sha-traversal",
                                  "filename-traversal", "siblings-string"])
def test_a_malformed_listing_item_gets_its_own_info_call(name: str, hostile: HostileHub,
                                                          run_cli: Any, tmp_path: Path) -> None:
    bad = BAD_INFO[name]
    hostile.on(r"^GET /api/models$", send_json([bad]))
    hostile.on(INFO, send_json(bad))
    result, records = batch(run_cli, hostile, tmp_path, "--author", "evil")
    assert_bad_reply(result, records)
    assert any(r.startswith("GET /api/models/evil/m") for r in hostile.log)


def test_the_healthy_hostile_hub_audits(hostile: HostileHub, run_cli: Any,
                                        tmp_path: Path) -> None:
    """The baseline the other tests spoil: one GET per file, no HEAD."""
    result = model(run_cli, hostile)
    assert result.code in (0, 1), result.stderr
    assert result.json()["target"]["sha"] == SHA
    assert sorted(r for r in hostile.log if "/resolve/" in r) == [
        f"GET /evil/m/resolve/{SHA}/LICENSE", f"GET /evil/m/resolve/{SHA}/README.md"]
    offline = model(run_cli, hostile, "--offline")
    assert offline.json() == result.json()


@pytest.mark.parametrize("etag", [f'"{ESCAPE}"', '"../../../../../../../../proc/self/mem"',
                                  '"/etc/passwd"'])
def test_etags_choose_no_path(etag: str, hostile: HostileHub, run_cli: Any) -> None:
    hostile.on(RESOLVE + "README.md$", send(200, README, ETag=etag, X_Linked_Etag=etag,
                                             X_Repo_Commit=ESCAPE))
    hostile.on(RESOLVE + "LICENSE$", send(200, LICENSE, ETag=etag, X_Linked_Etag=etag))
    result = model(run_cli, hostile)
    assert result.code in (0, 1), result.stderr
    assert {f["rule_id"]: f for f in result.json()["findings"]}["USE-003"]["outcome"] == "pass"


@pytest.mark.parametrize("kind", ["model", "batch"])
@pytest.mark.parametrize(("action", "over"), [
    (endless(), True), (endless(Content_Length="100"), True),
    (send(200, gzip_bomb(), Content_Encoding="gzip"), True),
    # Cut to the 100 bytes they claim: what the server says the file holds, judged, and small.
    (send(200, gzip_bomb(50_000_000), Content_Encoding="gzip", Content_Length="100"), False),
    (send(200, b"x" * 3_000_000, Content_Length="100"), False),
], ids=["endless", "endless-claims-100", "gzip-bomb", "gzip-bomb-claims-100",
        "claims-100-sends-3MB"])
def test_a_lying_or_bombing_file_reply_never_fills_the_disk(
        kind: str, action: Any, over: bool, hostile: HostileHub, run_cli: Any,
        tmp_path: Path) -> None:
    hostile.on(RESOLVE + "LICENSE$", action)
    if kind == "model":
        result = model(run_cli, hostile)
        assert result.code in (0, 1), result.stderr
        licence = {f["rule_id"]: f for f in result.json()["findings"]}["USE-003"]
    else:
        result, (record,) = batch(run_cli, hostile, tmp_path)
        licence = {f["rule_id"]: f for f in record["findings"]}["USE-003"]
    # Over the cap: "too large", never judged on a prefix (and nothing over the cap is kept).
    assert ("too large" in licence["message"]) is over, licence
    assert (licence["outcome"] == "not-tested") is over, licence


@pytest.mark.parametrize("encoding", ["gzip, gzip", "br", "zstd"])
def test_an_encoding_not_asked_for_is_a_bad_reply(encoding: str, hostile: HostileHub,
                                                  run_cli: Any, tmp_path: Path) -> None:
    hostile.on(INFO, send(200, gzip_bomb(layers=2), Content_Encoding=encoding))
    assert_bad_reply(model(run_cli, hostile))
    assert_bad_reply(*batch(run_cli, hostile, tmp_path))


@pytest.mark.parametrize("action", [
    endless(), send(200, gzip_bomb(), Content_Encoding="gzip"),
    send(200, b'{"sha": "' + b"a" * 25_000_000 + b'"}'),
], ids=["endless", "gzip-bomb", "25MB"])
def test_an_info_reply_over_its_cap_is_a_bad_reply(action: Any, hostile: HostileHub,
                                                   run_cli: Any, tmp_path: Path) -> None:
    hostile.on(INFO, action)
    result = model(run_cli, hostile)
    assert_bad_reply(result)
    assert "20,000,000 bytes" in result.stderr
    assert_bad_reply(*batch(run_cli, hostile, tmp_path))


@pytest.mark.parametrize("route", [INFO, RESOLVE + "README.md$"], ids=["info", "readme"])
@pytest.mark.parametrize("action", [trickle(), trickle_headers()], ids=["body", "headers"])
def test_a_trickling_reply_times_out_in_a_single_audit(route: str, action: Any,
                                                       hostile: HostileHub) -> None:
    """A real process, as a user runs it: exit 3 soon after --timeout, whatever the trickle."""
    hostile.on(route, action)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "openaudit", "model", "evil/m", "--endpoint",
                           hostile.url, "--timeout", "1", "--format", "json"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert time.monotonic() - started < 15
    assert proc.returncode == 3, proc.stderr
    assert "no complete reply within 1 s" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("route", [INFO, RESOLVE + "LICENSE$"], ids=["info", "licence"])
@pytest.mark.parametrize("action", [trickle(), trickle_headers()], ids=["body", "headers"])
def test_a_trickling_reply_times_out_in_a_batch(route: str, action: Any, hostile: HostileHub,
                                                run_cli: Any, tmp_path: Path) -> None:
    hostile.on(route, action)
    result, (record,) = batch(run_cli, hostile, tmp_path)
    assert result.code == 3
    assert record["error"]["kind"] == "timeout", record


def test_ten_thousand_empty_pages_stop_at_once(hostile: HostileHub, run_cli: Any,
                                               tmp_path: Path) -> None:
    hostile.on(r"^GET /api/models$", pages(10_000, lambda n: []))
    result, records = batch(run_cli, hostile, tmp_path, "--author", "evil", limit=10)
    assert result.code == 3 and records == []
    assert "the Hub returned 3 empty pages in a row" in result.stderr
    assert len(hostile.log) == 3


def test_a_listing_has_a_total_deadline(hostile: HostileHub, run_cli: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages that each come just in time, forever, still end the listing."""
    monkeypatch.setattr(hub_module, "LISTING_BUDGET", 2.0)

    def slow_page(n: int) -> list[Any]:
        time.sleep(0.4)
        return [info(id=f"evil/m{n}")]

    hostile.on(r"^GET /api/models$", pages(10_000, slow_page))
    result, records = batch(run_cli, hostile, tmp_path, "--author", "evil", limit=20)
    assert result.code == 3
    assert "timeout: " in result.stderr  # the last page gets only what is left of the budget
    assert 3 <= len(records) <= 8  # the repos listed before the deadline were audited


@pytest.mark.parametrize("action", [endless(), trickle(), send(200, b"[" * 100_000)],
                         ids=["endless", "trickle", "deep"])
def test_a_listing_page_is_capped_and_bounded(action: Any, hostile: HostileHub, run_cli: Any,
                                              tmp_path: Path) -> None:
    hostile.on(r"^GET /api/models$", action)
    result, records = batch(run_cli, hostile, tmp_path, "--author", "evil")
    assert result.code == 3 and records == []
    assert "bad-reply" in result.stderr or "timeout" in result.stderr
