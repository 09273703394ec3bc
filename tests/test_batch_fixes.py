"""Review fixes in `openaudit batch` against the fake Hub: gating changes without a commit, cache
folder names, listing pagination guards, and leaving at once when stdout's reader is gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub, RepoFactory
from openaudit import hub
from openaudit.batch.cache import AuditCache, live_facets
from openaudit.batch.ids import RepoRef
from openaudit.models import RepoType

COMPLIANT = Path(__file__).parent / "fixtures" / "hub" / "models" / "lanternworks" / "lumen-1.4b"
SHA = "a" * 40


def _files() -> dict[str, str]:
    return {"README.md": (COMPLIANT / "README.md").read_text(encoding="utf-8"),
            "LICENSE": (COMPLIANT / "LICENSE").read_text(encoding="utf-8"),
            "model.safetensors": "weights"}


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    return tmp_hub_root  # the fake Hub serves the repos each test makes


def _one(text: str) -> dict[str, Any]:
    (line,) = [line for line in text.splitlines() if line.strip()]
    record: dict[str, Any] = json.loads(line)
    return record


def _audits(hub_env: dict[str, str]) -> Path:
    return Path(hub_env["HF_HOME"]) / "openaudit" / "audits"


# ---- gating changes without a commit -----------------------------------------------------------


@pytest.mark.parametrize("cached", ["record", "evidence"])
def test_a_gating_change_at_the_same_sha_gives_the_single_audit_verdict(
        cached: str, make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str],
        run_cli: Any, tmp_path: Path) -> None:
    make_repo("models/acme/alpha", files=_files(), hub={"sha": SHA})
    ids = tmp_path / "ids.txt"
    ids.write_text("acme/alpha\n", encoding="utf-8")
    cold = _one(run_cli("batch", str(ids), "--format", "jsonl").stdout)
    assert cold["verdict"] == "compliant"
    # The owner turns gating on: a repo setting, no commit (same sha), files still public.
    make_repo("models/acme/alpha", hub={"sha": SHA, "gated": "manual",
                                        "public_files": ["README.md", "LICENSE"]})
    if cached == "evidence":  # only the evidence is cached (as after a rules change)
        for entry in _audits(hub_env).glob("models--acme--alpha--*/*-*.json"):
            entry.unlink()
    single = run_cli("model", "acme/alpha", "--format", "json").json()
    fake_hub.clear_log()
    warm = _one(run_cli("batch", str(ids), "--format", "jsonl").stdout)
    assert single["verdict"] != "compliant"
    assert warm["verdict"] == single["verdict"]
    assert warm["sha"] == SHA
    assert not any("/resolve/" in r.path for r in fake_hub.requests)  # files still from cache
    # Offline, the gating last seen online is what the audit has.
    offline = _one(run_cli("batch", str(ids), "--format", "jsonl", "--offline").stdout)
    assert offline["verdict"] == single["verdict"]


# ---- cache folders -------------------------------------------------------------------------------


def test_ids_that_read_alike_in_a_folder_name_keep_their_own_cache(tmp_path: Path) -> None:
    # huggingface_hub refuses "--" in ids, so no Hub run can make these: the cache alone.
    cache = AuditCache(tmp_path)
    one, two = RepoRef(RepoType.MODEL, "a/b--c"), RepoRef(RepoType.MODEL, "a--b/c")
    facets = live_facets("false", [])
    for ref, sha in ((one, "1" * 40), (two, "2" * 40)):
        record = {"record_version": "1.0", "repo_id": ref.repo_id, "repo_type": "model",
                  "revision": None, "sha": sha, "verdict": "compliant"}
        cache.put(ref, record, "k", facets)
    assert [(last or {}).get("sha") for last in map(cache.last_seen, (one, two))] == [
        "1" * 40, "2" * 40]
    assert sorted(r.repo_id for r in cache.refs(RepoType.MODEL)) == ["a--b/c", "a/b--c"]
    assert cache.get(one, "1" * 40, "k") is not None and cache.get(two, "2" * 40, "k") is not None


def test_an_old_style_cache_folder_is_a_miss(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str], run_cli: Any,
        tmp_path: Path) -> None:
    make_repo("models/acme/alpha", files=_files())
    assert run_cli("batch", "--author", "acme", "--format", "jsonl").code == 0
    (new,) = _audits(hub_env).iterdir()
    new.rename(_audits(hub_env) / "models--acme--alpha")  # the layout before the hash suffix
    offline = run_cli("batch", "--author", "acme", "--format", "jsonl", "--offline")
    assert offline.code == 3  # nothing listed from the cache: said so, never a guess
    assert offline.stdout == ""


# ---- listing pagination --------------------------------------------------------------------------


def _looping_listing(fake_hub: FakeHub, next_url: str, times: int) -> None:
    """The listing answers with one id-only item and a Link to ``next_url``, ``times`` times."""
    fake_hub.inject(r"^GET /api/models$", status=200, times=times,
                    headers={"Link": f'<{next_url}>; rel="next"'},
                    body=json.dumps([{"id": "acme/alpha"}]).encode())


def test_a_listing_that_links_to_a_page_already_read_stops(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str],
        run_cli: Any) -> None:
    make_repo("models/acme/alpha", files=_files())
    # Without the guard the loop would end only when the fault runs out (50 pages).
    _looping_listing(fake_hub, f"{fake_hub.url}/api/models?author=acme&cursor=1", times=50)
    result = run_cli("batch", "--author", "acme", "--format", "jsonl")
    pages = [r for r in fake_hub.requests if r.path == "/api/models"]
    assert len(pages) == 2
    assert result.code == 3
    assert "the listing loops" in result.stderr


def test_a_listing_stops_at_the_page_cap(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str], run_cli: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("alpha", "beta", "gamma"):
        make_repo(f"models/acme/{name}", files=_files())
    fake_hub.page_size = 1
    monkeypatch.setattr(hub, "MAX_LISTING_PAGES", 2)
    result = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert len([r for r in fake_hub.requests if r.path == "/api/models"]) == 2
    assert result.code == 3
    assert "more than 2 pages" in result.stderr


def test_a_next_page_on_another_host_never_gets_the_token(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str], run_cli: Any,
        tmp_hub_root: Path) -> None:
    make_repo("models/acme/alpha", files=_files())
    with FakeHub(tmp_hub_root) as elsewhere:  # another port: another host:port
        _looping_listing(fake_hub, f"{elsewhere.url}/api/models?author=acme&cursor=1", times=1)
        result = run_cli("batch", "--author", "acme", "--format", "jsonl",
                         "--token", "hf_secretsecret")
        assert elsewhere.requests == []
    assert result.code == 3
    assert "another host" in result.stderr
    assert "hf_secretsecret" not in result.stderr + result.stdout


# ---- leaving when stdout's reader is gone --------------------------------------------------------


@pytest.mark.e2e
def test_a_reader_gone_does_not_wait_for_requests_in_flight(
        make_repo: RepoFactory, fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    for name in ("a", "b", "c"):
        make_repo(f"models/acme/{name}", files={"README.md": "---\nlicense: mit\n---\n# x\n"})
    fake_hub.inject(r"/acme/[bc]/resolve/", status=0, delay=300.0, times=-1)  # reads stall
    proc = subprocess.Popen(
        [sys.executable, "-m", "openaudit", "batch", "--author", "acme", "-f", "jsonl",
         "--timeout", "120"], env=hub_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves at once (like `| head -0`)
    # A guard against a hang, not a speed test: waiting the stall out takes 120 s or more.
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert b"Traceback" not in err
