"""`openaudit batch` as a user sees it: the progress bar on a real pseudo-terminal only, and a
token that never shows up in any output, even when requests fail around it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub, RepoFactory
from openaudit import hub
from openaudit.hub import RetryPolicy

README = "---\nlicense: apache-2.0\n---\n# m\n"
TOKEN = "hf_SuperSecretBatchToken0123456789"


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    return tmp_hub_root


@pytest.fixture
def ids(make_repo: RepoFactory, hub_env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(hub, "DEFAULT_RETRY", RetryPolicy(attempts=2, backoff=0.01))
    for name in ("a", "b", "c"):
        make_repo(f"models/org/{name}", files={"README.md": README, "LICENSE": "Apache-2.0\n"})
    path = tmp_path / "ids.txt"
    path.write_text("org/a\norg/b\norg/c\norg/missing\n", encoding="utf-8")
    return path


def _run_with_stderr_on_a_pty(cmd: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` with stderr on a pseudo-terminal (stdout a file); returns code, out, err."""
    leader, follower = pty.openpty()
    # stdout goes to a file: a pipe nobody drains while the terminal is read fills at 64 KiB
    # and blocks the child.
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=follower)
        os.close(follower)
        err = b""
        while True:  # drain the terminal until the child closes it; the bound only stops a hang
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child exited and closed the terminal
                break
            if not chunk:
                break
            err += chunk
        os.close(leader)
        code = proc.wait(timeout=60)
        stdout.seek(0)
        return code, stdout.read(), err


def test_progress_bar_on_a_terminal_and_quiet_in_a_pipe(
        ids: Path, hub_env: dict[str, str]) -> None:
    env = {**hub_env, "TERM": "xterm", "COLUMNS": "120"}
    for name in ("NO_COLOR", "CI", "FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "openaudit", "batch", str(ids), "--format", "jsonl"]
    code, out, err = _run_with_stderr_on_a_pty(cmd, env)
    assert code == 3
    assert b"auditing" in err and b"failed" in err  # the bar: done/total, rate, failures
    assert b"/4" in err  # every id of the file counted in the total
    assert b"openaudit batch: 4 repo(s)" in err  # the summary follows the bar
    assert out.count(b"\n") == 4 and b"auditing" not in out  # records untouched on stdout

    # A pipe stays quiet even when CI forces colours; a CI job stays quiet even on a pty.
    piped = subprocess.run(cmd, env={**env, "FORCE_COLOR": "1"}, capture_output=True,
                           timeout=60)
    assert piped.returncode == 3
    assert b"auditing" not in piped.stderr and b"\x1b[" not in piped.stderr
    assert piped.stderr.startswith(b"openaudit batch: 4 repo(s)")
    code, out, err = _run_with_stderr_on_a_pty(cmd, {**env, "CI": "true"})
    assert code == 3 and b"auditing" not in err and b"openaudit batch: 4 repo(s)" in err


def test_the_token_never_appears_in_any_output(
        ids: Path, fake_hub: FakeHub, run_cli: Any, tmp_path: Path) -> None:
    fake_hub.inject(r"/org/a/resolve/", status=401, times=-1)
    fake_hub.inject(r"/org/b/resolve/.*/LICENSE", status=500, times=-1)
    fake_hub.inject(r"/api/models/org/missing", status=0, drop=True, times=-1)
    fake_hub.inject(r"GET /api/models$", status=403, times=-1)  # the namespace listing too
    out = tmp_path / "report.html"
    results = [run_cli("batch", str(ids), "--token", TOKEN, "--format", fmt, "--timeout", "2")
               for fmt in ("jsonl", "table", "csv", "markdown", "json")]
    results.append(run_cli("batch", str(ids), "--token", TOKEN, "--format", "html", "--output",
                           str(out), "--timeout", "2"))
    assert all(r.code == 3 for r in results)
    assert any("org/a" in r.stderr for r in results)  # the failures were reported...
    for result in results:
        assert TOKEN not in result.stdout and TOKEN not in result.stderr  # ...without the token
        assert TOKEN[3:12] not in result.stdout + result.stderr
    for path in (out, tmp_path / "report.html.jsonl"):
        assert TOKEN not in path.read_text(encoding="utf-8")
    assert any(r.authorized for r in fake_hub.requests)  # the token was really sent
