"""`openaudit batch` against the loopback fake Hub: bulk path, request budget, cache, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakehub import FakeHub, LoggedRequest, RepoFactory
from openaudit.batch.ids import RepoRef, parse_ids
from openaudit.models import RepoType

GOLDEN = Path(__file__).parent / "fixtures" / "hub"
COMPLIANT = GOLDEN / "models" / "lanternworks" / "lumen-1.4b"  # a compliant golden repo
RAIL_LICENSE = "You agree not to use the Model for any of the following use restrictions.\n"


def _files(license_text: str | None = None) -> dict[str, str]:
    """A compliant model's files (the golden fixture's card and licence)."""
    return {"README.md": (COMPLIANT / "README.md").read_text(encoding="utf-8"),
            "LICENSE": license_text or (COMPLIANT / "LICENSE").read_text(encoding="utf-8"),
            "model.safetensors": "weights"}


@pytest.fixture
def fixtures_root(tmp_hub_root: Path) -> Path:
    return tmp_hub_root  # the fake Hub serves the repos each test makes


@pytest.fixture
def acme(make_repo: RepoFactory, hub_env: dict[str, str]) -> None:
    """Three models of one organisation, one of another, and a dataset."""
    for name in ("alpha", "beta", "gamma"):
        make_repo(f"models/acme/{name}", files=_files())
    make_repo("models/solo/one", files=_files())
    make_repo("datasets/acme/corpus", files={"README.md": "---\nlicense: cc-by-4.0\n---\n"})


def _ids(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / f"ids-{len(list(tmp_path.glob('ids-*.txt')))}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["repo_id"]: r for r in records}


def _routes(requests: list[LoggedRequest]) -> list[str]:
    return sorted(f"{r.method} {r.path}" for r in requests)


# ---- id lists -------------------------------------------------------------------------------


def test_parse_ids_comments_prefixes_and_duplicates() -> None:
    lines = ["# my batch", "", "  acme/alpha  ", "dataset:acme/corpus", "model:acme/beta # note",
             "acme/alpha", "dataset: acme/corpus", "\t"]
    assert parse_ids(lines, RepoType.MODEL) == [
        RepoRef(RepoType.MODEL, "acme/alpha"), RepoRef(RepoType.DATASET, "acme/corpus"),
        RepoRef(RepoType.MODEL, "acme/beta")]
    assert parse_ids(["acme/x"], RepoType.DATASET) == [RepoRef(RepoType.DATASET, "acme/x")]


def test_id_files_and_stdin_are_strict_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    import io

    from openaudit.batch.ids import read_ids_file
    from openaudit.errors import UsageError

    windows = tmp_path / "windows.txt"
    windows.write_bytes(b"\xef\xbb\xbfacme/alpha\r\ndataset:acme/corpus\r\n")
    expected = [RepoRef(RepoType.MODEL, "acme/alpha"), RepoRef(RepoType.DATASET, "acme/corpus")]
    assert read_ids_file(str(windows), RepoType.MODEL, io.StringIO()) == expected
    piped = io.TextIOWrapper(io.BytesIO(windows.read_bytes()), encoding="utf-8")
    assert read_ids_file("-", RepoType.MODEL, piped) == expected
    binary = io.TextIOWrapper(io.BytesIO(b"acme/alpha\n\xff\xfe\n"), encoding="utf-8",
                              errors="replace")  # what a lenient stdin would turn into ids
    with pytest.raises(UsageError, match="stdin is not UTF-8 text"):
        read_ids_file("-", RepoType.MODEL, binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9/model\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"latin\.txt is not UTF-8 text"):
        read_ids_file(str(latin), RepoType.MODEL, io.StringIO())


def test_invalid_ids_are_invalid_offline_too(run_cli: Any, tmp_path: Path,
                                             hub_env: dict[str, str]) -> None:
    result = run_cli("batch", _ids(tmp_path, "../etc", "acme/alpha"), "--offline",
                     "--format", "jsonl")
    kinds = {r["repo_id"]: r["error"]["kind"] for r in _records(result.stdout)}
    assert kinds == {"../etc": "invalid-id", "acme/alpha": "not-in-cache"}
    assert result.code == 3


def test_id_list_uses_one_listing_per_namespace_and_one_get_per_file(
        acme: None, fake_hub: FakeHub, run_cli: Any, tmp_path: Path) -> None:
    fake_hub.page_size = 2  # the three acme models span two listing pages
    # Page 1 holds alpha and beta; one more page costs as much as gamma's own info call, so the
    # listing stops there and gamma is a straggler (listings are not sorted by id).
    ids = _ids(tmp_path, "acme/alpha", "acme/beta", "acme/gamma", "solo/one",
               "dataset:acme/corpus", "acme/alpha")
    result = run_cli("batch", ids, "--format", "jsonl", "--fail-on", "never")
    records = _records(result.stdout)
    assert result.code == 0, result.stderr
    assert sorted(r["repo_id"] for r in records) == [
        "acme/alpha", "acme/beta", "acme/corpus", "acme/gamma", "solo/one"]  # duplicate once
    assert {r["verdict"] for r in records if r["repo_type"] == "model"} == {"compliant"}
    listing = [r for r in fake_hub.requests if r.path == "/api/models"]
    assert len(listing) == 1 and listing[0].query["author"] == ["acme"]
    assert set(listing[0].query["expand"]) >= {"cardData", "gated", "tags", "sha", "siblings"}
    shas = {r["repo_id"]: r["sha"] for r in records}
    assert _routes(fake_hub.requests) == sorted([
        "GET /api/models", "GET /api/models/acme/gamma",
        "GET /api/models/solo/one", "GET /api/datasets/acme/corpus",  # alone in their namespace
        *(f"GET /acme/{n}/resolve/{shas['acme/' + n]}/{f}"
          for n in ("alpha", "beta", "gamma") for f in ("LICENSE", "README.md")),
        f"GET /solo/one/resolve/{shas['solo/one']}/LICENSE",
        f"GET /solo/one/resolve/{shas['solo/one']}/README.md",
        f"GET /datasets/acme/corpus/resolve/{shas['acme/corpus']}/README.md"])


def test_batch_verdicts_match_the_golden_fixtures(fake_hub: FakeHub, hub_env: dict[str, str],
                                                  run_cli: Any, tmp_path: Path) -> None:
    root = fake_hub.root = GOLDEN
    expected = {e["repo"]: e for e in yaml.safe_load((root / "EXPECTED.yaml").read_text())}
    lines = [("dataset:" if repo.startswith("datasets/") else "") + repo.split("/", 1)[1]
             for repo in expected]
    result = run_cli("batch", _ids(tmp_path, *lines), "--format", "jsonl", "--fail-on", "never")
    assert result.code == 0, result.stderr
    got = {f"{r['repo_type']}s/{r['repo_id']}": r for r in _records(result.stdout)}
    assert sorted(got) == sorted(expected)
    for repo, want in expected.items():
        assert got[repo]["verdict"] == want["verdict"], repo
        failing = {f["rule_id"] for f in got[repo]["findings"]
                   if f["outcome"] in ("fail", "not-tested")}
        assert failing == set(want["reasons"]), repo
    single = run_cli("model", "lanternworks/lumen-1.4b", "--format", "json").json()
    batch = got["models/lanternworks/lumen-1.4b"]
    assert batch["findings"] == single["findings"] and batch["sha"] == single["target"]["sha"]


def test_author_listing_pages_and_limit(acme: None, fake_hub: FakeHub, run_cli: Any) -> None:
    fake_hub.page_size = 1
    result = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert result.code == 0, result.stderr
    assert sorted(r["repo_id"] for r in _records(result.stdout)) == [
        "acme/alpha", "acme/beta", "acme/gamma"]
    listing = [r for r in fake_hub.requests if r.path == "/api/models"]
    assert len(listing) == 3 and all("cursor" in r.query for r in listing[1:])  # Link followed
    assert not any(r.path.startswith("/api/models/") for r in fake_hub.requests)
    fake_hub.clear_log()
    limited = run_cli("batch", "--author", "acme", "--search", "a", "--limit", "2",
                      "--format", "jsonl")
    assert [r["repo_id"] for r in _records(limited.stdout)] != []
    assert len(_records(limited.stdout)) == 2
    assert all(r.query.get("search") == ["a"] for r in fake_hub.requests
               if r.path == "/api/models")
    datasets = run_cli("batch", "--author", "acme", "--type", "dataset", "--format", "jsonl")
    assert [r["repo_id"] for r in _records(datasets.stdout)] == ["acme/corpus"]


def test_warm_cache_costs_only_the_listing_and_offline_costs_nothing(
        acme: None, fake_hub: FakeHub, run_cli: Any, tmp_path: Path) -> None:
    cold = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert cold.code == 0
    fake_hub.clear_log()
    warm = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert _routes(fake_hub.requests) == ["GET /api/models"]
    assert sorted(map(json.dumps, _records(warm.stdout))) == sorted(
        map(json.dumps, _records(cold.stdout)))
    fake_hub.clear_log()
    ids = _ids(tmp_path, "acme/alpha", "solo/never-seen")
    offline = run_cli("batch", ids, "--offline", "--format", "jsonl")
    by_author = run_cli("batch", "--author", "acme", "--offline", "--format", "jsonl")
    assert fake_hub.requests == []  # zero requests, whatever the selection
    records = _by_id(_records(offline.stdout))
    assert records["acme/alpha"] == _by_id(_records(cold.stdout))["acme/alpha"]
    assert records["solo/never-seen"]["error"]["kind"] == "not-in-cache"
    assert offline.code == 3 and "solo/never-seen" in offline.stderr
    assert sorted(r["repo_id"] for r in _records(by_author.stdout)) == [
        "acme/alpha", "acme/beta", "acme/gamma"]
    assert by_author.code == 0


def test_a_damaged_cache_entry_is_a_miss(acme: None, fake_hub: FakeHub, run_cli: Any,
                                        hub_env: dict[str, str]) -> None:
    cold = _by_id(_records(run_cli("batch", "--author", "acme", "--format", "jsonl").stdout))
    (folder,) = (Path(hub_env["HF_HOME"]) / "openaudit" / "audits").glob("models--acme--alpha--*")
    entries = [p for p in folder.glob("*.json")
               if p.name != "last.json" and not p.name.endswith(".evidence.json")]
    assert len(entries) == 1
    entries[0].write_text(json.dumps({"repo_id": "acme/alpha", "repo_type": "model",
                                      "verdict": "bogus"}), encoding="utf-8")
    (folder / f"{cold['acme/alpha']['sha']}.evidence.json").write_text("{", encoding="utf-8")
    fake_hub.clear_log()
    warm = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert warm.code == 0 and "Traceback" not in warm.stderr
    assert _by_id(_records(warm.stdout))["acme/alpha"] == cold["acme/alpha"]
    assert [r for r in _routes(fake_hub.requests) if "/acme/alpha/" in r]  # read again


def test_a_listing_item_without_a_file_list_gets_its_own_info_call(
        acme: None, fake_hub: FakeHub, run_cli: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _by_id(_records(run_cli("batch", _ids(tmp_path, "acme/alpha"), "--format",
                                       "jsonl").stdout))["acme/alpha"]
    monkeypatch.setenv("OPENAUDIT_CACHE", str(tmp_path / "cold-cache"))  # no cache hit below
    shortened = [{"id": "acme/alpha", "sha": expected["sha"], "tags": [], "gated": False}]
    fake_hub.inject(r"GET /api/models$", status=200, body=json.dumps(shortened).encode())
    fake_hub.clear_log()
    result = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert _records(result.stdout) == [expected]  # never judged as a repo without files
    assert "GET /api/models/acme/alpha" in _routes(fake_hub.requests)


def test_offline_listing_never_drops_a_gated_repo(acme: None, make_repo: RepoFactory,
                                                  fake_hub: FakeHub, run_cli: Any) -> None:
    make_repo("models/acme/locked", files=_files(), hub={"gated": "manual"})
    online = _by_id(_records(run_cli("batch", "--author", "acme", "--format", "jsonl").stdout))
    assert "verdict" in online["acme/locked"]  # audited, its files not tested
    fake_hub.clear_log()
    offline = run_cli("batch", "--author", "acme", "--offline", "--format", "jsonl")
    assert fake_hub.requests == []
    records = _by_id(_records(offline.stdout))
    assert sorted(records) == sorted(online)  # the gated repo is there, not silently gone
    assert records["acme/locked"]["error"]["kind"] == "not-in-cache"
    assert "not cached" in records["acme/locked"]["error"]["message"]
    assert offline.code == 3


def test_changed_repo_is_audited_again(acme: None, make_repo: RepoFactory, fake_hub: FakeHub,
                                       run_cli: Any) -> None:
    run_cli("batch", "--author", "acme", "--format", "jsonl")
    make_repo("models/acme/beta", files=_files(RAIL_LICENSE), hub={"sha": "b" * 40})
    fake_hub.clear_log()
    result = run_cli("batch", "--author", "acme", "--format", "jsonl")
    assert _routes(fake_hub.requests) == sorted([
        "GET /api/models", f"GET /acme/beta/resolve/{'b' * 40}/LICENSE",
        f"GET /acme/beta/resolve/{'b' * 40}/README.md"])
    assert _by_id(_records(result.stdout))["acme/beta"]["sha"] == "b" * 40


def test_gated_and_missing_repos_do_not_stop_the_batch(
        acme: None, make_repo: RepoFactory, fake_hub: FakeHub, run_cli: Any,
        tmp_path: Path) -> None:
    make_repo("models/acme/locked", files=_files(), hub={"gated": "manual"})
    ids = _ids(tmp_path, "acme/alpha", "acme/locked", "acme/missing", "solo/one", "bad//id")
    result = run_cli("batch", ids, "--format", "jsonl")
    records = _by_id(_records(result.stdout))
    assert result.code == 3
    assert records["acme/missing"]["error"]["kind"] == "not-found"
    assert records["bad//id"]["error"]["kind"] == "invalid-id"
    locked = records["acme/locked"]
    assert "verdict" in locked  # gating is evidence: audited, unreadable files not tested
    assert any(f["outcome"] == "not-tested" for f in locked["findings"])
    assert records["acme/alpha"]["verdict"] and records["solo/one"]["verdict"]
    assert "acme/missing" in result.stderr and "not audited" in result.stderr
    assert not any(r.path.startswith("/api/models/bad") for r in fake_hub.requests)


def test_exit_codes(acme: None, make_repo: RepoFactory, fake_hub: FakeHub, run_cli: Any,
                    tmp_path: Path) -> None:
    make_repo("models/rail/m", files={"README.md": "---\nlicense: openrail\n---\n# m\n"})
    assert run_cli("batch", _ids(tmp_path, "acme/alpha")).code == 0
    bad = run_cli("batch", _ids(tmp_path, "rail/m"), "--format", "jsonl")
    assert bad.code == 1 and _records(bad.stdout)[0]["verdict"] == "non-compliant"
    assert run_cli("batch", _ids(tmp_path, "rail/m"), "--fail-on", "never").code == 0
    assert run_cli("batch", _ids(tmp_path, "acme/nope")).code == 3
    fake_hub.clear_log()
    for args in ([], [_ids(tmp_path, "# only a comment")], [str(tmp_path / "absent.txt")],
                 [_ids(tmp_path, "acme/alpha"), "--format", "yaml"],
                 [_ids(tmp_path, "acme/alpha"), "--resume"],
                 [_ids(tmp_path, "acme/alpha"), "--concurrency", "0"],
                 [_ids(tmp_path, "acme/alpha"), "--concurrency", "65"],
                 [_ids(tmp_path, "acme/alpha"), "--type", "space"],
                 [_ids(tmp_path, "acme/alpha"), "--endpoint", "not a url"],
                 [_ids(tmp_path, "acme/alpha"), "--workers", "2"],
                 ["--from-dump", _ids(tmp_path, "x"), "--limit", "2"],
                 [_ids(tmp_path, "acme/alpha"), "--endpoint", "ftp://hub.example"],
                 ["--author", "a/b"]):
        result = run_cli("batch", *args)
        assert result.code == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert fake_hub.requests == []  # usage errors are found before any request


def test_output_never_overwrites_an_input(acme: None, fake_hub: FakeHub, run_cli: Any,
                                          tmp_path: Path) -> None:
    ids = _ids(tmp_path, "acme/alpha")
    policy = tmp_path / "policy.yaml"
    policy.write_text("schema_version: 1\n", encoding="utf-8")
    dump = tmp_path / "dump.jsonl"
    dump.write_text('{"id": "acme/alpha", "siblings": []}\n', encoding="utf-8")
    before = {p: p.read_bytes() for p in (Path(ids), policy, dump)}
    for args in ([ids, "--output", ids, "--format", "jsonl"],
                 [ids, "--output", str(tmp_path / "." / Path(ids).name), "--format", "jsonl"],
                 [ids, "--config", str(policy), "--output", str(policy)],
                 ["--from-dump", str(dump), "--output", str(dump), "--format", "jsonl"],
                 # the journal of a csv report is FILE.jsonl: that is the dump here
                 ["--from-dump", str(dump), "--output", str(dump)[:-len(".jsonl")],
                  "--format", "csv"]):
        result = run_cli("batch", *args)
        assert result.code == 2, (args, result.stderr)
        assert "would overwrite the input" in result.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert fake_hub.requests == []
    dash = run_cli("batch", ids, "--output", "-", "--format", "jsonl")
    assert dash.code == 0 and _records(dash.stdout)[0]["repo_id"] == "acme/alpha"
    assert not Path("-").exists()


def test_a_report_that_cannot_be_written_keeps_the_journal(
        acme: None, fake_hub: FakeHub, run_cli: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from openaudit.batch import output

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    ids = _ids(tmp_path, "acme/alpha", "acme/beta")
    report = tmp_path / "batch.html"
    with monkeypatch.context() as patch:
        patch.setattr(output.tempfile, "mkstemp", full_disk)
        failed = run_cli("batch", ids, "--format", "html", "--output", str(report))
    assert failed.code == 2 and "Traceback" not in failed.stderr
    assert "No space left on device" in failed.stderr and "--resume" in failed.stderr
    assert not report.exists()
    assert len(_records((tmp_path / "batch.html.jsonl").read_text(encoding="utf-8"))) == 2
    fake_hub.clear_log()
    again = run_cli("batch", ids, "--format", "html", "--output", str(report), "--resume")
    assert again.code == 0 and report.exists()
    assert not [r for r in fake_hub.requests if "/resolve/" in r.path]  # nothing re-fetched


def test_reports_are_sorted_and_journaled_in_a_sidecar(acme: None, fake_hub: FakeHub,
                                                       run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run_cli("batch", "--author", "acme", "--format", "json", "--output", str(out),
                     "--concurrency", "3")
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    journal = _records((tmp_path / "report.json.jsonl").read_text())
    assert sorted(r["repo_id"] for r in journal) == ["acme/alpha", "acme/beta", "acme/gamma"]
    first = out.read_text()
    again = run_cli("batch", "--author", "acme", "--format", "json", "--output", str(out),
                    "--concurrency", "1")
    assert again.code == 0 and out.read_text() == first  # deterministic whatever the order
    assert "3 repo(s)" in result.stderr


def test_from_dump_goes_through_the_same_output_and_exit_codes(
        fake_hub: FakeHub, hub_env: dict[str, str], run_cli: Any, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    readme = (COMPLIANT / "README.md").read_text(encoding="utf-8")
    lines = [{"id": "acme/good", "sha": "a" * 40, "siblings": [{"rfilename": "README.md"}],
              "readme": readme}, {"id": "bad//id"}]
    dump.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", "jsonl",
                     "--output", str(out), "--fail-on", "never")
    records = _by_id(_records(out.read_text()))
    assert result.code == 3 and sorted(records) == ["acme/good", "bad//id"]
    assert "verdict" in records["acme/good"] and "error" in records["bad//id"]
    assert fake_hub.requests == []
    assert run_cli("batch", "--from-dump", str(dump), "--author", "x").code == 2


def test_summary_is_sorted_and_names_at_most_100_failed_repos() -> None:
    import random

    from openaudit.batch.progress import summary_text
    from openaudit.records import error_record, summarize

    records = [error_record(f"org/m{i:03d}", RepoType.MODEL, None, "network", "reset")
               for i in range(150)]
    shuffled = random.Random(7).sample(records, len(records))
    text = summary_text(summarize(shuffled), ["empty: b", "empty: a"])
    assert text == summary_text(summarize(records), ["empty: a", "empty: b"])
    lines = text.splitlines()
    assert lines[0].endswith("150 not audited")
    named = [line for line in lines if line.startswith("    model org/")]
    assert named == [f"    model org/m{i:03d}: network: reset" for i in range(100)]
    assert "    ... and 50 more (every one has an error record in the output)" in lines
    assert lines[-2:] == ["    empty: a", "    empty: b"]


def test_progress_bar_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from openaudit.batch.progress import BatchProgress

    quiet_stream = io.StringIO()
    quiet = BatchProgress(Console(file=quiet_stream, force_terminal=True))  # FORCE_COLOR
    quiet.queued()
    quiet.done({"repo_id": "a/b", "error": {"kind": "network", "message": "x"}})
    quiet.close()
    assert quiet_stream.getvalue() == ""
    tty_stream = io.StringIO()
    bar = BatchProgress(Console(file=tty_stream, force_terminal=True, width=100), show=True)
    for _ in range(2):
        bar.queued()
    bar.done({"repo_id": "a/b", "verdict": "compliant"})
    bar.done({"repo_id": "c/d", "error": {"kind": "network", "message": "x"}})
    bar._bar.refresh()  # type: ignore[union-attr]
    text = tty_stream.getvalue()
    bar.close()
    assert "2/2" in text and "1 failed" in text


EXTRA_RULE = """schema_version: 1
extends: osaid-1.0
rules:
  - id: ORG-001
    name: evaluation-documented
    title: The card documents the evaluation
    pillar: data-information
    clause: "Our release policy"
    severity: error
    check:
      any:
        - {fact: readme.sections, op: contains, value: evaluation}
        - {fact: code.evaluation, op: exists}
    message:
      pass: "Evaluation is documented."
      fail: "No evaluation section or code."
    fix: Add an Evaluation section.
    rationale: Reviewers need to reproduce the reported numbers.
    references: [https://example.org/release-policy]
    examples:
      pass: [{readme.sections: [evaluation]}]
      fail: [{readme.sections: [], code.evaluation: []}]
"""


def test_new_rules_rejudge_cached_evidence_without_file_requests(
        acme: None, fake_hub: FakeHub, run_cli: Any, tmp_path: Path) -> None:
    rule = tmp_path / "org.yaml"
    rule.write_text(EXTRA_RULE, encoding="utf-8")
    run_cli("batch", "--author", "acme", "--format", "jsonl")
    fake_hub.clear_log()
    online = run_cli("batch", "--author", "acme", "--format", "jsonl", "--rules", str(rule))
    assert _routes(fake_hub.requests) == ["GET /api/models"]
    offline = run_cli("batch", _ids(tmp_path, "acme/alpha"), "--offline", "--format", "jsonl",
                      "--rules", str(rule))
    assert fake_hub.requests[1:] == []
    for result in (online, offline):
        alpha = _by_id(_records(result.stdout))["acme/alpha"]
        assert "ORG-001" in {f["rule_id"] for f in alpha["findings"]}
    fresh = run_cli("model", "acme/alpha", "--format", "json", "--rules", str(rule)).json()
    assert _by_id(_records(online.stdout))["acme/alpha"]["findings"] == fresh["findings"]


def test_an_empty_listing_is_not_a_pass(acme: None, fake_hub: FakeHub, run_cli: Any) -> None:
    online = run_cli("batch", "--author", "acmee", "--format", "jsonl")
    assert online.code == 3 and online.stdout == ""
    assert "no model repos of 'acmee' on the Hub" in online.stderr
    offline = run_cli("batch", "--author", "acme", "--offline")
    assert offline.code == 3 and "in the openaudit cache" in offline.stderr


@pytest.mark.parametrize(("types", "packs"), [
    (["model"], "the osaid-1.0 rules"),
    (["dataset"], "the dataset-openness rules"),
    (["model", "dataset"], "the dataset-openness, osaid-1.0 rules"),
])
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_batch_footers_name_the_packs_that_judged_the_batch(
        run_cli: Any, tmp_path: Path, types: list[str], packs: str, fmt: str) -> None:
    dump = tmp_path / "dump.jsonl"
    readme = "---\nlicense: cc-by-4.0\n---\n# Card\n"
    lines = [{"id": f"acme/{kind}", "type": kind, "sha": "a" * 40,
              "siblings": [{"rfilename": "README.md"}], "readme": readme} for kind in types]
    dump.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", fmt,
                  "--fail-on", "never").stdout
    assert f"evidence-based reading by {packs}, not a certification" in out
    assert "OSAID 1.0, not an OSI" not in out
