"""Interrupted batches lose nothing: the real CLI killed mid-run, then `--resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub, RepoFactory
from openaudit.batch.journal import Journal, read_journal

README = "---\nlicense: apache-2.0\n---\n# m\n"
NAMES = [f"m{i:02d}" for i in range(12)]


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    return tmp_hub_root


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n") if path.exists() else []


def _wait_for_records(path: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    # Polls the journal; the bound only stops a broken run from hanging the suite.
    for _ in range(600):
        if len(read_journal(path)) >= count or proc.poll() is not None:
            return
        time.sleep(0.05)


def _assert_whole_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    whole = data[:data.rfind(b"\n") + 1]
    records = [json.loads(line) for line in whole.splitlines()]  # every whole line parses
    assert read_journal(path) == records  # a torn tail, if any, is ignored
    return records


def test_killed_batches_resume_without_redoing_finished_repos(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str],
        tmp_path: Path) -> None:
    for name in NAMES:
        make_repo(f"models/acme/{name}", files={"README.md": README, "LICENSE": "Apache-2.0\n"})
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "openaudit", "batch", "--author", "acme", "--format", "jsonl",
           "--output", str(out), "--concurrency", "2", "--fail-on", "never"]
    fake_hub.latency = 0.15  # slow enough to interrupt mid-batch

    first = subprocess.Popen(cmd, env=hub_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_records(out, 2, first)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert b"--resume" in err and b"Traceback" not in err
    after_int = _assert_whole_lines(out)
    assert 2 <= len(after_int) < len(NAMES)

    second = subprocess.Popen([*cmd, "--resume"], env=hub_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    _wait_for_records(out, len(after_int) + 2, second)
    os.kill(second.pid, signal.SIGKILL)
    second.communicate(timeout=60)
    after_kill = _assert_whole_lines(out)
    assert after_kill[:len(after_int)] == after_int  # nothing written is ever lost

    fake_hub.latency = 0.0
    fake_hub.clear_log()
    done = {r["repo_id"] for r in after_kill}
    third = subprocess.run([*cmd, "--resume"], env=hub_env, capture_output=True, timeout=120)
    assert third.returncode == 0, third.stderr
    final = _assert_whole_lines(out)
    assert sorted(r["repo_id"] for r in final) == sorted(f"acme/{n}" for n in NAMES)
    assert len(final) == len(NAMES)  # finished repos were not audited again
    fetched = {r.path.split("/resolve/")[0].lstrip("/") for r in fake_hub.requests
               if "/resolve/" in r.path}
    assert not fetched & done
    assert f"{len(NAMES)} repo(s)".encode() in third.stderr


def test_resume_retries_error_records(make_repo: RepoFactory, fake_hub: FakeHub,
                                      hub_env: dict[str, str], run_cli: Any,
                                      tmp_path: Path) -> None:
    make_repo("models/acme/here", files={"README.md": README})
    ids = tmp_path / "ids.txt"
    ids.write_text("acme/here\nacme/later\n", encoding="utf-8")
    out = tmp_path / "report.md"
    first = run_cli("batch", str(ids), "--format", "markdown", "--output", str(out),
                    "--fail-on", "never")
    assert first.code == 3
    make_repo("models/acme/later", files={"README.md": README})
    fake_hub.clear_log()
    second = run_cli("batch", str(ids), "--format", "markdown", "--output", str(out),
                     "--fail-on", "never", "--resume")
    assert second.code == 0, second.stderr
    assert not any("acme/here" in r.path for r in fake_hub.requests)
    journal = read_journal(tmp_path / "report.md.jsonl")
    pairs = [(r["repo_id"], "error" in r) for r in journal]
    assert sorted(pairs[:2]) == [("acme/here", False), ("acme/later", True)]  # completion order
    assert pairs[2:] == [("acme/later", False)]  # the retry is appended and wins
    assert "acme/later" in out.read_text()


def _record(repo_id: str) -> dict[str, Any]:
    return {"repo_id": repo_id, "repo_type": "model", "revision": None,
            "verdict": "compliant", "reason_families": []}


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(json.dumps(_record("a/b")).encode() + b'\n{"repo_id": "c/')
    assert [r["repo_id"] for r in read_journal(path)] == ["a/b"]
    journal = Journal.open(path, resume=True)
    journal.write(_record("c/d"))
    journal.close()
    assert [r["repo_id"] for r in read_journal(path)] == ["a/b", "c/d"]
    assert path.read_bytes().count(b"\n") == 2


@pytest.mark.parametrize(("content", "problem"), [
    (b"hello from another tool\n", "line 1 is not an openaudit batch record (not JSON)"),
    (b'{"a": 1}\n', "no 'repo_id' string"),
    (b'{"repo_id": "a/b", "repo_type": "space", "verdict": "compliant"}\n', "'repo_type'"),
    (b'{"repo_id": "a/b", "repo_type": "model", "verdict": "bogus"}\n', "neither 'error'"),
    (b'{"repo_id": "a/b", "repo_type": "model", "error": "boom"}\n', "'error' is not"),
    (json.dumps(_record("a/b")).encode() + b'\n{"repo_id": "a/b", "repo_type": "model", '
     b'"verdict": "compliant", "reason_families": 7}\n', "line 2 is not"),
    (b"\xff\xfe\n", "not JSON"),
])
def test_resume_refuses_a_file_that_is_not_a_batch_journal(
        tmp_path: Path, fake_hub: FakeHub, hub_env: dict[str, str], run_cli: Any,
        content: bytes, problem: str) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("acme/m\n", encoding="utf-8")
    for fmt, out in (("jsonl", tmp_path / "out.jsonl"), ("csv", tmp_path / "out.csv")):
        journal = out if fmt == "jsonl" else tmp_path / "out.csv.jsonl"
        journal.write_bytes(content)
        result = run_cli("batch", str(ids), "--format", fmt, "--output", str(out), "--resume")
        assert result.code == 2, result.stderr
        assert problem in result.stderr and "Traceback" not in result.stderr
        assert journal.read_bytes() == content  # never appended to, never cut
    assert fake_hub.requests == []


def test_ctrl_c_does_not_wait_for_requests_in_flight(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str],
        tmp_path: Path) -> None:
    for name in NAMES[:4]:
        make_repo(f"models/acme/{name}", files={"README.md": README})
    fake_hub.inject(r"/resolve/", status=0, delay=30.0, times=-1)  # every file read stalls
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "openaudit", "batch", "--author", "acme", "--format", "jsonl",
         "--output", str(out), "--timeout", "60"],
        env=hub_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(600):  # until a worker is stuck in a file read
        if any("/resolve/" in r.path for r in fake_hub.requests) or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)  # far below the 30 s stall: nothing was waited out
    assert proc.returncode == 130, err
    assert out.read_bytes() == b""  # nothing finished, nothing half-written


def test_ctrl_c_without_output_says_what_was_kept(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    make_repo("models/acme/m00", files={"README.md": README})
    fake_hub.inject(r"/resolve/", status=0, delay=30.0, times=-1)
    for fmt, said in (("markdown", b"no report written"), ("jsonl", b"written to stdout")):
        fake_hub.clear_log()
        proc = subprocess.Popen(
            [sys.executable, "-m", "openaudit", "batch", "--author", "acme", "--format", fmt],
            env=hub_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(600):  # until the file read is stuck
            if any("/resolve/" in r.path for r in fake_hub.requests) or proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 130, err
        assert said in err and b"Traceback" not in err
