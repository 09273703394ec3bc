"""`--from-dump`: judging exported Hub metadata gives the same records as the Hub path.

Dump records are built from the golden fixture repos the way an exporter would: the Hub API
item (fetched from the loopback fake Hub) plus the README and licence texts it was allowed to
read. The Hub path audits the same repos through the real huggingface_hub client.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakehub import FakeHub
from openaudit.dump import (
    BAD_RECORD,
    NOT_IN_DUMP,
    BadRecord,
    evaluate_record,
    iter_dump,
    record_from_line,
    run_dump,
    snapshot_from_record,
)
from openaudit.errors import UsageError
from openaudit.facts import is_licence_file
from openaudit.hub import MAX_FILE_BYTES, MAX_LICENCE_FILES, HubOptions
from openaudit.models import RepoType
from openaudit.packs import Ruleset, load_ruleset
from openaudit.pipeline import audit_hub
from openaudit.records import audit_record

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
EXPECTED = {c["repo"]: c for c in yaml.safe_load(
    (FIXTURES / "EXPECTED.yaml").read_text(encoding="utf-8"))}
FIXTURE_REPOS = sorted("/".join(d.parts[-3:]) for d in FIXTURES.glob("*/*/*") if d.is_dir())
_EXPAND = {"models": "cardData gated tags sha siblings lastModified library_name pipeline_tag "
                     "baseModels", "datasets": "cardData gated tags sha siblings lastModified"}
_GATED_REASON = ("gated: this account has not been granted access (log in or pass --token with "
                 "an approved account)")


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return load_ruleset(())


def _local_item(repo: str) -> dict[str, Any]:
    """The Hub API item of a fixture repo, as the fake Hub computes it (no server needed)."""
    kind, ns, name = repo.split("/")
    found = FakeHub(FIXTURES).repo(kind, ns, name)
    assert found is not None
    return found.info()


def _with_texts(item: dict[str, Any], folder: Path, readable: Any = None) -> dict[str, Any]:
    """Add the README and licence texts an exporter could read (decoded as the Hub path does)."""
    files = {}
    for sibling in item["siblings"]:
        path = sibling["rfilename"]
        if (path == "README.md" or is_licence_file(path)) and (readable is None
                                                               or readable(path)):
            files[path] = (folder / path).read_bytes().decode("utf-8", "replace")
    return {**item, "files": files}


def _record(repo: str) -> dict[str, Any]:
    return _with_texts(_local_item(repo), FIXTURES / repo)


def _outcomes(record: Mapping[str, Any]) -> dict[str, str]:
    return {f["rule_id"]: f["outcome"] for f in record["findings"]}


def _unread_reasons_as_one(record: dict[str, Any]) -> Any:
    """The only wording that differs: why a gated file was not read ("gated" vs "not in the
    dump"). Everything else in the record must be identical."""
    text = json.dumps(record, sort_keys=True)
    return json.loads(text.replace(_GATED_REASON, "UNREAD").replace(NOT_IN_DUMP, "UNREAD"))


# ---------------------------------------------------------------------------------------------
# Same facts as the Hub path
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("repo", FIXTURE_REPOS)
def test_dump_record_equals_the_hub_audit(repo: str, fake_hub: FakeHub, hub_env: dict[str, str],
                                          ruleset: Ruleset) -> None:
    kind, ns, name = repo.split("/")
    query = "&".join(f"expand={e}" for e in _EXPAND[kind].split())
    with urllib.request.urlopen(f"{fake_hub.url}/api/{kind}/{ns}/{name}?{query}") as reply:
        item = json.load(reply)
    meta = json.loads((FIXTURES / repo / "_hub.json").read_text(encoding="utf-8"))
    public = meta.get("public_files", ["README.md", ".gitattributes"])
    # An anonymous exporter reads what the Hub path reads: gated files stay out of the dump.
    record = _with_texts(item, FIXTURES / repo,
                         lambda path: not meta.get("gated") or path in public)
    repo_type = RepoType(kind.removesuffix("s"))

    from_dump = evaluate_record(record, ruleset, repo_type)
    from_hub = audit_record(audit_hub(f"{ns}/{name}", repo_type, None,
                                      HubOptions(endpoint=fake_hub.url), ruleset).report)

    assert _unread_reasons_as_one(from_dump) == _unread_reasons_as_one(from_hub)
    if repo in EXPECTED:
        case = EXPECTED[repo]
        assert from_dump["verdict"] == case["verdict"]
        assert sorted(r for r, o in _outcomes(from_dump).items()
                      if o in ("fail", "not-tested")) == sorted(case["reasons"])


def test_every_expected_case_is_covered() -> None:
    assert set(EXPECTED) <= set(FIXTURE_REPOS)
    assert len(FIXTURE_REPOS) >= 20


# ---------------------------------------------------------------------------------------------
# Honesty: evidence the dump does not carry is never a pass
# ---------------------------------------------------------------------------------------------

COMPLIANT = "models/lanternworks/lumen-1.4b"


def test_readme_listed_but_not_in_the_dump_is_not_tested(ruleset: Ruleset) -> None:
    record = _record(COMPLIANT)
    del record["files"]["README.md"]
    result = evaluate_record(record, ruleset)
    outcomes = _outcomes(result)
    assert result["verdict"] != "compliant"
    # README-fed rules (the DATA rules also credit `datasets:` from the Hub's cardData)
    for rule in ("CODE-001", "USE-003"):
        assert outcomes[rule] == "not-tested", rule
    code = next(f for f in result["findings"] if f["rule_id"] == "CODE-001")
    assert "README.md could not be read: not in the dump" in code["message"]
    snapshot = snapshot_from_record(record)
    assert snapshot.readme is not None and snapshot.readme.text is None


def test_readme_text_without_readme_in_siblings_means_no_readme(ruleset: Ruleset) -> None:
    record = _record(COMPLIANT)
    record["siblings"] = [s for s in record["siblings"] if s["rfilename"] != "README.md"]
    assert "README.md" in record["files"]
    assert snapshot_from_record(record).readme is None
    outcomes = _outcomes(evaluate_record(record, ruleset))
    assert outcomes["CODE-001"] == "fail"  # no README: no training code is linked


def test_licence_listed_but_not_in_the_dump_leaves_the_terms_not_tested(
        ruleset: Ruleset) -> None:
    record = _record(COMPLIANT)
    del record["files"]["LICENSE"]
    outcomes = _outcomes(evaluate_record(record, ruleset))
    assert outcomes["USE-003"] == "not-tested"
    assert outcomes["STUDY-002"] == "warn"
    with_text = _outcomes(evaluate_record(_record(COMPLIANT), ruleset))
    assert with_text["USE-003"] == "pass"


def test_the_readme_key_is_read_like_files_readme(ruleset: Ruleset) -> None:
    record = _record(COMPLIANT)
    record["readme"] = record["files"].pop("README.md")
    assert evaluate_record(record, ruleset) == evaluate_record(_record(COMPLIANT), ruleset)


def test_licence_files_beyond_the_cap_and_oversized_texts_are_unread() -> None:
    record = _record(COMPLIANT)
    extra = [f"NOTICE-{i:02d}.txt" for i in range(MAX_LICENCE_FILES + 2)]
    record["siblings"] = [*record["siblings"], *({"rfilename": p} for p in extra)]
    record["files"] = {**record["files"], **dict.fromkeys(extra, "Notice."),
                       "LICENSE": "x" * (MAX_FILE_BYTES + 1)}
    licences = {f.path: f for f in snapshot_from_record(record).license_files}
    assert len(licences) == MAX_LICENCE_FILES + 3
    unread = sorted(p for p, f in licences.items() if f.text is None)
    # Sorted, LICENSE comes first: it and NOTICE-00..18 are the 20 read; the rest are over.
    assert unread == ["LICENSE", "NOTICE-19.txt", "NOTICE-20.txt", "NOTICE-21.txt"]
    assert "too large" in str(licences["LICENSE"].error)
    assert "only the first 20" in str(licences["NOTICE-21.txt"].error)
    # Multi-byte text: the cap counts UTF-8 bytes, as on the Hub path.
    record["files"]["LICENSE"] = "é" * (MAX_FILE_BYTES // 2 + 1)
    licence = next(f for f in snapshot_from_record(record).license_files if f.path == "LICENSE")
    assert licence.text is None and "too large" in str(licence.error)


def test_replacement_characters_and_bom_mirror_the_hub_decoding() -> None:
    record = _record(COMPLIANT)
    record["files"]["README.md"] = "\ufeff" + record["files"]["README.md"] + "\n\ufffd\n"
    readme = snapshot_from_record(record).readme
    assert readme is not None and readme.text is not None
    assert not readme.text.startswith("\ufeff") and readme.decode_errors


def test_snapshot_normalises_like_the_hub_path() -> None:
    record = {"id": "acme/x", "siblings": ["b.py", "LICENSE", "a/config.json", "b.py"],
              "tags": ["z", "a"], "gated": True, "cardData": {"license": "mit", "datasets": None},
              "lastModified": "2025-01-01T00:00:00.000Z", "files": {"LICENSE": "MIT License"}}
    snapshot = snapshot_from_record(record)
    assert snapshot.files == ("LICENSE", "a/config.json", "b.py")
    assert snapshot.tags == ("a", "z")
    assert snapshot.gated == "true"  # the facts read legacy `true` as automatic gating
    assert snapshot.card_data == {"license": "mit"}  # as CardData.to_dict() drops nulls
    assert snapshot.source == "hub" and snapshot.repo_type is RepoType.MODEL
    assert [f.path for f in snapshot.license_files] == ["LICENSE"]
    assert snapshot_from_record({**record, "gated": "Manual"}).gated == "manual"
    assert snapshot_from_record({**record, "gated": None}).gated == "false"


def test_repo_type_comes_from_the_record_else_the_argument() -> None:
    base = {"id": "acme/x", "siblings": []}
    assert snapshot_from_record(base).repo_type is RepoType.MODEL
    assert snapshot_from_record(base, RepoType.DATASET).repo_type is RepoType.DATASET
    assert snapshot_from_record({**base, "type": "dataset"}).repo_type is RepoType.DATASET
    assert snapshot_from_record({**base, "repo_type": "datasets"},
                                RepoType.MODEL).repo_type is RepoType.DATASET


# ---------------------------------------------------------------------------------------------
# Bad records never stop a run
# ---------------------------------------------------------------------------------------------

BAD = {
    "no id": {"siblings": []},
    "empty id": {"id": "", "siblings": []},
    "invalid id": {"id": "a//b", "siblings": []},
    "cardData not a mapping": {"id": "acme/x", "siblings": [], "cardData": ["mit"]},
    "siblings not a list": {"id": "acme/x", "siblings": "README.md"},
    "no siblings": {"id": "acme/x"},
    "sibling without a path": {"id": "acme/x", "siblings": [{"size": 3}]},
    "tags not strings": {"id": "acme/x", "siblings": [], "tags": [1, 2]},
    "unknown gating": {"id": "acme/x", "siblings": [], "gated": "sometimes"},
    "readme not text": {"id": "acme/x", "siblings": ["README.md"], "readme": 7},
    "files not a mapping": {"id": "acme/x", "siblings": [], "files": 3},
    "sha not text": {"id": "acme/x", "siblings": [], "sha": 12},
    "a space": {"id": "acme/x", "siblings": [], "type": "space"},
    "cardData broken JSON": {"id": "acme/x", "siblings": [], "cardData": "{license: mit"},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_malformed_record_becomes_a_bad_record(name: str, ruleset: Ruleset) -> None:
    with pytest.raises(BadRecord):
        snapshot_from_record(BAD[name])
    result = evaluate_record(BAD[name], ruleset)
    assert result["error"]["kind"] == BAD_RECORD
    assert result["error"]["message"]
    assert "verdict" not in result
    assert result["repo_id"] == (BAD[name].get("id") if isinstance(BAD[name].get("id"), str)
                                 else "")


def test_a_record_that_is_not_an_object_is_a_bad_record(ruleset: Ruleset) -> None:
    result = evaluate_record(["acme/x"], ruleset)  # type: ignore[arg-type]
    assert result["error"]["kind"] == BAD_RECORD


def test_record_from_line_never_raises(ruleset: Ruleset) -> None:
    assert record_from_line('{"id": "acme/x"}') == {"id": "acme/x"}
    for garbage in ("{", "[1, 2]", b"\xff\xfe", "null"):
        result = evaluate_record(record_from_line(garbage, 7), ruleset)
        assert result["error"] == {"kind": BAD_RECORD, "message": "line 7: not a JSON object"}


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_bad_lines_are_reported_and_the_rest_is_evaluated(tmp_path: Path) -> None:
    good = json.dumps(_record(COMPLIANT))
    lines = [good, '{"id": "acme/broken", "siblings": ', "", json.dumps(BAD["no id"]),
             json.dumps(["not", "an", "object"]), json.dumps(BAD["siblings not a list"]),
             good.replace("lumen-1.4b", "lumen-copy")]
    dump = _write_jsonl(tmp_path / "dump.jsonl", lines)
    with dump.open("ab") as handle:
        handle.write(b'{"id": "acme/\xff"}\n')  # bytes that are not UTF-8
    results = list(run_dump(dump, (), workers=1))
    assert [r.get("verdict") or r["error"]["kind"] for r in results] == [
        "compliant", BAD_RECORD, BAD_RECORD, BAD_RECORD, BAD_RECORD, "compliant", BAD_RECORD]
    assert "line 2" in results[1]["error"]["message"]  # the line number, blank lines counted
    assert "line 5" in results[3]["error"]["message"]
    assert "line 8" in results[6]["error"]["message"]
    assert results[5]["repo_id"] == "lanternworks/lumen-copy"


# ---------------------------------------------------------------------------------------------
# Formats and workers give identical records
# ---------------------------------------------------------------------------------------------

FORMAT_REPOS = ["models/lanternworks/lumen-1.4b", "models/polyglot-commons/chorus-7b1",
                "models/bramble-labs/bramble-2-7b", "models/edge-cases/no-readme",
                "datasets/quillhouse/commons-prose", "datasets/grayfile/webtext-dump"]


def _format_records() -> list[dict[str, Any]]:
    records = []
    for repo in FORMAT_REPOS:
        record = _record(repo)
        record["type"] = repo.split("/")[0].removesuffix("s")
        keep = ("id", "type", "sha", "gated", "tags", "siblings", "cardData", "files",
                "lastModified", "library_name", "pipeline_tag")
        records.append({k: record.get(k) for k in keep})
    return records


def _as_jsonl(tmp_path: Path) -> Path:
    return _write_jsonl(tmp_path / "dump.jsonl", [json.dumps(r) for r in _format_records()])


def _as_gzip(tmp_path: Path) -> Path:
    path = tmp_path / "dump.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in _format_records())
    return path


def _as_parquet_structs(tmp_path: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "structs.parquet"
    records = _format_records()
    for record in records:  # a map column for the texts; cardData and siblings as structs
        record["files"] = list(record["files"].items())
        record["gated"] = str(record["gated"]).lower()  # one column, one type
    schema_files = pa.map_(pa.string(), pa.string())
    table = pa.Table.from_pylist(records)
    table = table.set_column(table.schema.get_field_index("files"), "files",
                             pa.array([r["files"] for r in records], type=schema_files))
    pq.write_table(table, path, row_group_size=2)
    return path


def _as_parquet_json_strings(tmp_path: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "strings.parquet"
    nested = ("cardData", "siblings", "tags", "files")
    rows = [{k: json.dumps(v) if k in nested else str(v).lower() if k == "gated" else v
             for k, v in r.items()} for r in _format_records()]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    return path


def test_jsonl_gzip_and_parquet_give_identical_records(tmp_path: Path) -> None:
    expected = list(run_dump(_as_jsonl(tmp_path), (), workers=1))
    assert [r["verdict"] for r in expected] == [
        "compliant", "potentially-compliant", "non-compliant", "non-compliant", "compliant",
        "non-compliant"]
    for make in (_as_gzip, _as_parquet_structs, _as_parquet_json_strings):
        assert list(run_dump(make(tmp_path), (), workers=1)) == expected, make.__name__


def test_parquet_struct_columns_read_back_as_records(tmp_path: Path) -> None:
    rows = list(iter_dump(_as_parquet_structs(tmp_path)))
    assert [r["id"] for r in rows] == [r.split("/", 1)[1] for r in FORMAT_REPOS]
    assert isinstance(rows[0]["siblings"][0], dict)  # a list of structs
    # A struct column holds every key of every row; the missing ones read back as null.
    assert any(v is None for v in rows[0]["cardData"].values())


def test_parquet_timestamps_become_iso_text(tmp_path: Path, ruleset: Ruleset) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from datetime import UTC, datetime

    path = tmp_path / "ts.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "acme/x", "siblings": ["model.safetensors"],
                                          "lastModified": datetime(2025, 1, 2, tzinfo=UTC)}]),
                   path)
    [row] = list(iter_dump(path))
    assert snapshot_from_record(row).last_modified == "2025-01-02T00:00:00+00:00"


def test_one_and_two_workers_give_identical_output(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import openaudit.dump as dump

    monkeypatch.setattr(dump, "CHUNK_SIZE", 4)  # several chunks, some in flight at once
    records = [{**r, "id": f"acme/repo-{i:03d}"}
               for i, r in enumerate(_format_records() * 5)]
    path = _write_jsonl(tmp_path / "many.jsonl", [json.dumps(r) for r in records]
                        + ['{"broken'])
    one = list(run_dump(path, (), workers=1))
    two = list(run_dump(path, (), workers=2))
    assert len(one) == len(records) + 1
    assert one == two
    assert [r["repo_id"] for r in one[:-1]] == [r["id"] for r in records]  # input order


def _org_rule(tmp_path: Path) -> Path:
    """An extra rule file (`extends: osaid-1.0`) with one rule."""
    rule = tmp_path / "org.yaml"
    rule.write_text(yaml.safe_dump({
        "schema_version": 1, "extends": "osaid-1.0", "rules": [{
            "id": "ORG-001", "name": "has-evaluation", "title": "Evaluation is documented",
            "pillar": "data-information", "clause": "Org policy", "severity": "error",
            "check": {"fact": "readme.sections", "op": "contains", "value": "evaluation"},
            "message": {"pass": "Evaluation documented.", "fail": "No evaluation section."},
            "fix": "Add an evaluation section.", "rationale": "Reproducibility.",
            "references": ["https://example.org/policy"],
            "examples": {"pass": [{"readme.sections": ["evaluation"]}],
                         "fail": [{"readme.sections": []}]}}]}), encoding="utf-8")
    return rule


def test_extra_rules_apply_in_every_worker(tmp_path: Path) -> None:
    rule = _org_rule(tmp_path)
    path = _as_jsonl(tmp_path)
    for workers in (1, 2):
        results = list(run_dump(path, (rule,), workers=workers))
        models = [r for r in results if r["repo_type"] == "model"]
        assert all("ORG-001" in _outcomes(r) for r in models), workers


# ---------------------------------------------------------------------------------------------
# A file that cannot be read is a usage error (exit 2), before anything is judged
# ---------------------------------------------------------------------------------------------


def test_a_missing_dump_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the dump"):
        run_dump(tmp_path / "nope.jsonl", ())


def test_a_file_that_is_not_a_dump_is_a_usage_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "dump.csv", ["id,license", "acme/x,mit"])
    with pytest.raises(UsageError, match="not a JSONL dump: line 1"):
        run_dump(path, ())


def test_a_corrupt_gzip_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": "acme/x", "siblings": []}\n' * 50)[:40])
    with pytest.raises(UsageError, match="cannot read the dump"):
        list(run_dump(path, ()))


def test_a_corrupt_parquet_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "dump.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(UsageError, match="cannot read the Parquet dump"):
        run_dump(path, ())


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    path = tmp_path / "dump.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 64)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import now fails
    with pytest.raises(UsageError) as caught:
        run_dump(path, ())
    assert "pyarrow is not installed" in caught.value.message
    assert "openaudit[parquet]" in caught.value.hint


def test_an_empty_dump_yields_nothing(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "empty.jsonl", [])
    assert list(run_dump(path, (), workers=2)) == []


def test_workers_below_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        run_dump(_as_jsonl(tmp_path), (), workers=0)


# ---------------------------------------------------------------------------------------------
# End to end: `openaudit batch --from-dump`
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_batch_from_dump_writes_the_records_run_dump_yields(tmp_path: Path,
                                                           run_cli: Any) -> None:
    dump = _as_gzip(tmp_path)
    out = tmp_path / "audit.jsonl"
    result = run_cli("batch", "--from-dump", str(dump), "--workers", "2", "--format", "jsonl",
                     "--output", str(out), "--fail-on", "never")
    assert result.code == 0, result.stderr
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == list(run_dump(dump, (), workers=1))
    assert "6 repo(s)" in result.stderr  # the summary counts every record


@pytest.mark.e2e
def test_batch_from_dump_exit_codes(tmp_path: Path, run_cli: Any) -> None:
    dump = _as_jsonl(tmp_path)
    failing = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", "jsonl")
    assert failing.code == 1  # non-compliant records fail the default --fail-on
    with dump.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "acme/broken", "siblings": 3}\n')
    partial = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", "jsonl",
                      "--fail-on", "never")
    assert partial.code == 3  # a record could not be judged: said so, never a silent pass
    assert "acme/broken" in partial.stderr and "'siblings' must be a list" in partial.stderr
    missing = run_cli("batch", "--from-dump", str(tmp_path / "nope.jsonl"))
    assert missing.code == 2
    assert "cannot read the dump" in missing.stderr


@pytest.mark.e2e
def test_bad_records_without_an_id_are_each_counted(tmp_path: Path, run_cli: Any) -> None:
    dump = _write_jsonl(tmp_path / "bad.jsonl", [
        json.dumps({"id": "acme/ok", "siblings": ["README.md"], "readme": "# ok\n"}),
        "not json", json.dumps({"no_id": 1}), "[1, 2]"])
    out = tmp_path / "audit.csv"
    result = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", "csv",
                     "--output", str(out), "--fail-on", "never")
    assert result.code == 3
    assert "4 repo(s)" in result.stderr and ", 3 not audited" in result.stderr
    assert out.read_text(encoding="utf-8").count(",bad-record,") == 3  # none merged into one


def test_closing_the_stream_early_stops_the_workers(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import itertools
    import multiprocessing

    import openaudit.dump as dump

    monkeypatch.setattr(dump, "CHUNK_SIZE", 2)
    records = [{**r, "id": f"acme/repo-{i:03d}"} for i, r in enumerate(_format_records() * 6)]
    path = _write_jsonl(tmp_path / "many.jsonl", [json.dumps(r) for r in records])
    stream = run_dump(path, (), workers=2)
    first = list(itertools.islice(stream, 3))
    stream.close()  # what Ctrl-C in the CLI does to the generator
    assert [r["repo_id"] for r in first] == ["acme/repo-000", "acme/repo-001", "acme/repo-002"]
    # The pool has been shut down; on a loaded machine the OS may take a moment to reap the
    # exited workers, so poll (bounded) rather than sample once.
    for _ in range(100):
        if not multiprocessing.active_children():
            break
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    from openaudit.errors import OpenAuditError

    rule = _org_rule(tmp_path)
    stream = run_dump(_as_jsonl(tmp_path), (rule,), workers=2)  # the parent loads the rules...
    rule.unlink()  # ...then each worker process cannot: the pool breaks
    with pytest.raises(OpenAuditError, match="worker process stopped") as caught:
        list(stream)
    assert not isinstance(caught.value, UsageError)  # exit 3: the dump was not judged


def test_evaluate_record_and_run_dump_apply_waivers(tmp_path: Path, ruleset: Ruleset) -> None:
    from openaudit.waivers import Waiver

    record = {"id": "acme/m", "siblings": ["README.md"], "cardData": {"license": "mit"},
              "readme": "---\nlicense: mit\n---\n# m\n"}
    waivers = (Waiver("CODE-001", "code elsewhere", target="acme/*", where="waivers[0]"),
               Waiver("CODE-001", "never used", target="other/*", where="waivers[1]"))
    plain = evaluate_record(record, ruleset)
    waived = evaluate_record(record, ruleset, waivers=waivers)
    code1 = next(f for f in waived["findings"] if f["rule_id"] == "CODE-001")
    assert code1["outcome"] == "fail" and code1["waiver"] == "code elsewhere"
    assert waived["verdict_reason"] == plain["verdict_reason"] + "; waived by policy: CODE-001"
    other = {**record, "id": "other/x"}
    assert evaluate_record(other, ruleset, waivers=waivers[:1]) == evaluate_record(
        other, ruleset)  # the target does not match
    dump = tmp_path / "d.jsonl"
    dump.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert list(run_dump(dump, (), workers=1, waivers=waivers)) == [waived]
    assert list(run_dump(dump, (), workers=1)) == [plain]  # keyword-only, default: none


# ---------------------------------------------------------------------------------------------
# Review fixes: usage errors keep --output, Ctrl-C with workers, --resume and bad lines
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_dump_that_cannot_be_read_leaves_the_output_alone(tmp_path: Path, run_cli: Any,
                                                           fmt: str) -> None:
    out = tmp_path / f"keep.{fmt}"
    good = run_cli("batch", "--from-dump", str(_as_jsonl(tmp_path)), "--workers", "1",
                   "--format", fmt, "--output", str(out), "--fail-on", "never")
    assert good.code == 0, good.stderr
    kept = {p.name: p.read_bytes() for p in tmp_path.glob("keep.*")}
    not_a_dump = _write_jsonl(tmp_path / "notes.txt", ["hello"])
    for dump in (tmp_path / "missing.jsonl", not_a_dump):
        for workers in ("1", "2"):
            result = run_cli("batch", "--from-dump", str(dump), "--workers", workers,
                             "--format", fmt, "--output", str(out))
            assert result.code == 2, result.stderr
            assert {p.name: p.read_bytes() for p in tmp_path.glob("keep.*")} == kept


@pytest.mark.e2e
def test_a_failed_csv_run_leaves_no_sidecar(tmp_path: Path, run_cli: Any) -> None:
    out = tmp_path / "new.csv"
    result = run_cli("batch", "--from-dump", str(tmp_path / "missing.jsonl"), "--format", "csv",
                     "--output", str(out))
    assert result.code == 2
    assert list(tmp_path.glob("new.*")) == []


def test_workers_leave_ctrl_c_to_the_parent() -> None:
    """Ctrl-C reaches the whole process group; a worker that ignores it prints no traceback.

    Checked on the initializer every pool worker runs, in this process (handler restored):
    an end-to-end version needs a worker caught idle at the moment of the signal, which
    cannot be arranged without timing.
    """
    import signal

    import openaudit.dump as dump

    saved = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        dump._init_worker((), None)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, saved)


@pytest.mark.e2e
@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_resume_replaces_bad_lines_instead_of_adding_copies(tmp_path: Path, run_cli: Any,
                                                            fmt: str, workers: str) -> None:
    dump = _write_jsonl(tmp_path / "bad.jsonl", [
        json.dumps({"id": "acme/ok", "siblings": ["README.md"], "readme": "# ok\n"}),
        "not json", json.dumps({"no_id": 1}), "[1, 2]"])
    out = tmp_path / f"audit.{fmt}"
    args = ("batch", "--from-dump", str(dump), "--workers", workers, "--format", fmt,
            "--output", str(out), "--fail-on", "never")
    first = run_cli(*args)
    again = run_cli(*args, "--resume")
    for result in (first, again):
        assert result.code == 3
        assert "4 repo(s)" in result.stderr and ", 3 not audited" in result.stderr
    if fmt == "csv":
        assert out.read_text(encoding="utf-8").count(",bad-record,") == 3
    records = [json.loads(line) for line in
               (out if fmt == "jsonl" else tmp_path / "audit.csv.jsonl").read_text(
                   encoding="utf-8").splitlines()]
    assert sorted(r["dump_record"] for r in records if "dump_record" in r) == [2, 2, 3, 3, 4, 4]


def test_records_without_an_id_carry_their_place_in_the_dump(tmp_path: Path) -> None:
    dump = _write_jsonl(tmp_path / "d.jsonl", [
        json.dumps({"id": "acme/ok", "siblings": []}), "", "oops", json.dumps({"x": 1})])
    for workers in (1, 2):
        results = list(run_dump(dump, (), workers=workers))
        assert [r.get("dump_record") for r in results] == [None, 2, 3]


# ---------------------------------------------------------------------------------------------
# Third performance pass: inputs that used to stop a whole run
# ---------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("workers", ["1", "2"])
def test_lone_surrogates_are_bad_bytes_not_a_crash(tmp_path: Path, run_cli: Any,
                                                   workers: str) -> None:
    # A "\ud800" escape is valid JSON but encodes no character: it crashed the journal write.
    # In a file's text it counts as bytes that were not UTF-8; elsewhere it is written back as
    # the same escape, so the journal stays UTF-8 and reads back equal.
    dump = tmp_path / "s.jsonl"
    dump.write_text(
        '{"id": "acme/a", "siblings": ["README.md"], "cardData": {"pretty_name": "x\\udc80y"},'
        ' "files": {"README.md": "---\\nlicense: mit\\n---\\n# Model \\ud800\\n"}}\n',
        encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("batch", "--from-dump", str(dump), "--workers", workers, "--format",
                     "jsonl", "--output", str(out), "--fail-on", "never")
    assert result.code == 0, result.stderr
    text = out.read_bytes().decode("utf-8")  # strict: valid UTF-8
    record = json.loads(text)
    readable = {f["rule_id"]: f for f in record["findings"]}["STUDY-002"]
    assert readable["outcome"] == "warn" and "non-UTF-8: README.md" in readable["message"]


@pytest.mark.e2e
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_line_nested_too_deeply_is_a_bad_record_and_the_rest_is_judged(
        tmp_path: Path, run_cli: Any, workers: str) -> None:
    dump = _write_jsonl(tmp_path / "deep.jsonl", [
        json.dumps({"id": "acme/ok", "siblings": ["README.md"], "readme": "# ok\n"}),
        "[" * 100_000, json.dumps({"id": "acme/also", "siblings": []})])
    out = tmp_path / "out.jsonl"
    result = run_cli("batch", "--from-dump", str(dump), "--workers", workers, "--format",
                     "jsonl", "--output", str(out), "--fail-on", "never")
    assert result.code == 3, result.stderr  # one repo could not be audited
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("verdict") is not None for r in records] == [True, False, True]
    assert records[1]["error"] == {"kind": "bad-record",
                                   "message": "line 2: JSON nested too deeply to read"}
    assert records[1]["dump_record"] == 2
