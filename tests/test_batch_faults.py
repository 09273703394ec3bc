"""`openaudit batch` under Hub faults: 429, 5xx, dropped connections, slow replies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub, RepoFactory
from openaudit import hub
from openaudit.hub import RequestGate, RetryPolicy

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, max_wait=5.0, jitter=0.1)
README = "---\nlicense: apache-2.0\n---\n# m\n"


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    return tmp_hub_root


@pytest.fixture
def repos(make_repo: RepoFactory, hub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> str:
    """Three repos in one namespace plus one alone; returns an id file naming them all."""
    monkeypatch.setattr(hub, "DEFAULT_RETRY", FAST)  # keep waits short; bounds stay the same
    for name in ("a", "b", "c"):
        make_repo(f"models/org/{name}", files={"README.md": README, "LICENSE": "Apache-2.0\n"})
    make_repo("models/lone/x", files={"README.md": README})
    ids = tmp_path / "ids.txt"
    ids.write_text("org/a\norg/b\norg/c\nlone/x\n", encoding="utf-8")
    return str(ids)


def _run(run_cli: Any, ids: str, *extra: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = run_cli("batch", ids, "--format", "jsonl", "--fail-on", "never", *extra)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.code, {r["repo_id"]: r for r in records}, result.stderr


def _count(fake_hub: FakeHub, fragment: str) -> int:
    return sum(fragment in r.path for r in fake_hub.requests)


def test_429_with_retry_after_is_waited_out(repos: str, fake_hub: FakeHub,
                                            run_cli: Any) -> None:
    fake_hub.inject(r"GET /api/models$", status=429, headers={"Retry-After": "0"})
    fake_hub.inject(r"/org/b/resolve/.*/README.md", status=429,
                    headers={"RateLimit": '"resolvers";r=0;t=0',
                             "RateLimit-Policy": '"fixed window";"resolvers";q=3000;w=300'})
    code, records, _ = _run(run_cli, repos)
    assert code == 0 and all("verdict" in r for r in records.values())
    assert _count(fake_hub, "/api/models") == 2 + 1  # listing retried once; lone/x info
    assert _count(fake_hub, "/org/b/resolve/") == 3  # README twice, LICENSE once


def test_permanent_429_becomes_an_error_record_and_the_batch_goes_on(
        repos: str, fake_hub: FakeHub, run_cli: Any) -> None:
    fake_hub.inject(r"/org/b/resolve/", status=429, headers={"Retry-After": "0"}, times=-1)
    fake_hub.inject(r"/api/models/lone/x", status=429, headers={"Retry-After": "3600"},
                    times=-1)
    code, records, stderr = _run(run_cli, repos)
    assert code == 3
    assert records["org/b"]["error"]["kind"] == "rate-limited"
    assert records["lone/x"]["error"]["kind"] == "rate-limited"
    assert "verdict" in records["org/a"] and "verdict" in records["org/c"]
    assert _count(fake_hub, "/org/b/resolve/") == FAST.attempts  # bounded retries
    assert _count(fake_hub, "/api/models/lone/x") == 1  # an hour-long wait is not waited
    assert "org/b: rate-limited" in stderr


def test_server_errors_are_retried_then_reported(repos: str, fake_hub: FakeHub,
                                                 run_cli: Any) -> None:
    fake_hub.inject(r"/api/models/lone/x", status=500, times=2)
    fake_hub.inject(r"/org/c/resolve/.*/LICENSE", status=503, times=-1)
    code, records, _ = _run(run_cli, repos)
    assert "verdict" in records["lone/x"]  # two 500s, then success
    assert records["org/c"]["error"]["kind"] == "server-error"
    assert _count(fake_hub, "/org/c/resolve/") == 1 + FAST.attempts
    assert code == 3


def test_dropped_connections_are_retried_then_reported(repos: str, fake_hub: FakeHub,
                                                       run_cli: Any) -> None:
    fake_hub.inject(r"/org/a/resolve/.*/README.md", status=0, drop=True, times=1)
    fake_hub.inject(r"/api/models/lone/x", status=0, drop=True, times=-1)
    code, records, _ = _run(run_cli, repos)
    assert "verdict" in records["org/a"]
    assert records["lone/x"]["error"]["kind"] == "network"
    assert _count(fake_hub, "/api/models/lone/x") == FAST.attempts
    assert code == 3


def test_slow_replies_beyond_the_timeout(repos: str, fake_hub: FakeHub, run_cli: Any) -> None:
    fake_hub.inject(r"/org/a/resolve/.*/LICENSE", status=0, delay=1.5, times=-1)
    code, records, _ = _run(run_cli, repos, "--timeout", "0.2")
    assert records["org/a"]["error"]["kind"] == "timeout"
    assert "verdict" in records["org/b"] and "verdict" in records["lone/x"]
    assert code == 3


def test_a_failed_listing_falls_back_to_info_calls(repos: str, fake_hub: FakeHub,
                                                   run_cli: Any) -> None:
    fake_hub.inject(r"GET /api/models$", status=503, times=-1)
    code, records, _ = _run(run_cli, repos)
    assert code == 0 and sorted(records) == ["lone/x", "org/a", "org/b", "org/c"]
    assert _count(fake_hub, "/api/models/org/") == 3


def test_a_failed_author_listing_exits_3(repos: str, fake_hub: FakeHub, run_cli: Any) -> None:
    fake_hub.inject(r"GET /api/models$", status=400, times=-1)
    result = run_cli("batch", "--author", "org", "--format", "jsonl")
    assert result.code == 3 and result.stdout == ""
    assert "listings that failed" in result.stderr and "Traceback" not in result.stderr


def test_one_429_holds_every_worker() -> None:
    gate = RequestGate(FAST)
    requested: list[float] = []

    def sleep(seconds: float) -> None:  # record instead of sleeping, then open the gate
        requested.append(seconds)
        gate._open_at = 0.0

    gate._sleep = sleep  # type: ignore[method-assign]
    gate.hold(30.0)  # as a worker does when told to wait
    assert gate.call(lambda timeout: "ok", 1.0, deadline=1e12) == "ok"
    assert len(requested) == 1 and 29.0 < requested[0] <= 30.0
    gate.hold(30.0)
    with pytest.raises(hub._OutOfTime):  # a wait beyond the repo's deadline is not started
        gate.call(lambda timeout: "ok", 1.0, deadline=0.0)


def test_retry_after_and_ratelimit_headers() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert hub._server_wait({"Retry-After": "7"}) == 7.0
    assert 100 < (hub._server_wait({"Retry-After": later}) or 0) <= 120
    assert hub._server_wait({"RateLimit": '"api";r=0;t=37'}) == 37.0
    assert hub._server_wait({"RateLimit": '"api";r=0',
                             "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}) == 300.0
    assert hub._server_wait({}) is None
    assert hub._rate_limit({"RateLimit": '"api";r=12;t=5'}) == (12, 5.0)
