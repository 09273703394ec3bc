"""`openaudit batch --config`: a project policy (rules, fail_on, waivers) over a whole batch.

End to end against the loopback fake Hub serving the golden fixture repos: orbitx/orbit-1 and
mistwind/mistwind-8x7b both fail CODE-001, DATA-002 and DATA-003 (non-compliant); the policy
waives them for orbitx only, through a case-insensitive target glob.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub

IDS = ("orbitx/orbit-1", "mistwind/mistwind-8x7b")
WAIVED = ("CODE-001", "DATA-002", "DATA-003")
POLICY = """\
schema_version: 1
fail_on: potentially-compliant
waivers:
  - {rule: CODE-001, reason: code published elsewhere, target: "orbitx/*"}
  - {rule: DATA-002, reason: sources listed on request, target: "orbitx/*"}
  - {rule: DATA-003, reason: described in the paper, target: "ORBITX/orbit-?"}
"""


@pytest.fixture
def ids(tmp_path: Path, hub_env: dict[str, str]) -> str:
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(IDS) + "\n", encoding="utf-8")
    return str(path)


def _policy(tmp_path: Path, text: str = POLICY, name: str = "policy.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _by_id(stdout: str) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return {r["repo_id"]: r for r in records}


def _fails(record: dict[str, Any]) -> dict[str, str | None]:
    return {f["rule_id"]: f.get("waiver") for f in record["findings"] if f["outcome"] == "fail"}


def test_waivers_apply_to_the_repos_their_target_matches(
        ids: str, tmp_path: Path, fake_hub: FakeHub, run_cli: Any) -> None:
    plain = _by_id(run_cli("batch", ids, "--format", "jsonl").stdout)
    assert {r["verdict"] for r in plain.values()} == {"non-compliant"}
    assert all(set(WAIVED) <= set(_fails(r)) for r in plain.values())

    result = run_cli("batch", ids, "--format", "jsonl", "--config", _policy(tmp_path))
    records = _by_id(result.stdout)
    orbit, mistwind = records["orbitx/orbit-1"], records["mistwind/mistwind-8x7b"]
    assert orbit["verdict"] == "potentially-compliant"  # the waived gaps no longer count
    assert "waived by policy: CODE-001, DATA-002, DATA-003" in orbit["verdict_reason"]
    assert _fails(orbit)["DATA-003"] == "described in the paper"  # kept, with the reason
    assert mistwind == plain["mistwind/mistwind-8x7b"]  # the glob does not match it
    assert result.code == 1  # the policy's fail_on: potentially-compliant fails it
    waived_only = run_cli("batch", ids, "--config", _policy(tmp_path), "--fail-on",
                          "non-compliant")
    assert waived_only.code == 1  # mistwind is still non-compliant
    assert run_cli("batch", ids, "--config", _policy(tmp_path), "--fail-on", "never").code == 0


def test_every_report_format_shows_the_waived_verdicts(
        ids: str, tmp_path: Path, fake_hub: FakeHub, run_cli: Any) -> None:
    out = tmp_path / "batch.csv"
    result = run_cli("batch", ids, "--format", "csv", "--output", str(out), "--config",
                     _policy(tmp_path), "--fail-on", "never")
    assert result.code == 0
    rows = {line.split(",")[1]: line for line in out.read_text(encoding="utf-8").splitlines()}
    assert ",potentially-compliant," in rows["orbitx/orbit-1"]
    assert ",non-compliant," in rows["mistwind/mistwind-8x7b"]
    assert "1 potentially-compliant, 1 non-compliant" in result.stderr


def test_cached_records_are_keyed_by_the_policy(
        ids: str, tmp_path: Path, fake_hub: FakeHub, run_cli: Any) -> None:
    policy = _policy(tmp_path)
    plain = _by_id(run_cli("batch", ids, "--format", "jsonl").stdout)
    fake_hub.clear_log()
    waived = _by_id(run_cli("batch", ids, "--format", "jsonl", "--config", policy).stdout)
    # Same commits: the cached evidence is re-judged under the policy, no file is fetched.
    assert not [r.path for r in fake_hub.requests if "/resolve/" in r.path]
    assert waived["orbitx/orbit-1"]["verdict"] == "potentially-compliant"

    fake_hub.clear_log()
    offline_plain = _by_id(run_cli("batch", ids, "--offline", "--format", "jsonl").stdout)
    offline_waived = _by_id(run_cli("batch", ids, "--offline", "--format", "jsonl",
                                    "--config", policy).stdout)
    assert fake_hub.requests == []
    assert offline_plain == plain  # a policy run never overwrote the plain cache entry
    assert offline_waived == waived

    changed = _policy(tmp_path, POLICY.replace("described in the paper", "see the paper"),
                      "changed.yaml")
    rejudged = _by_id(run_cli("batch", ids, "--offline", "--format", "jsonl", "--config",
                              changed).stdout)
    assert _fails(rejudged["orbitx/orbit-1"])["DATA-003"] == "see the paper"


@pytest.mark.parametrize(("text", "message"), [
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-999, reason: x}\n", "no rule 'CODE-999'"),
    ("schema_version: 1\nwaivers:\n  - {rule: CODE-001, reason: x, expires: 2020-01-01}\n",
     "expired on 2020-01-01"),
    ("schema_version: 1\nfail_on: sometimes\n", "fail_on"),
    ("schema_version: 2\n", "schema_version"),
    ("rules: [nowhere.yaml]\nschema_version: 1\n", "no such file or directory"),
])
def test_a_bad_policy_is_a_usage_error_before_any_request(
        ids: str, tmp_path: Path, fake_hub: FakeHub, run_cli: Any, text: str,
        message: str) -> None:
    result = run_cli("batch", ids, "--config", _policy(tmp_path, text))
    assert result.code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert fake_hub.requests == []
    missing = run_cli("batch", ids, "--config", str(tmp_path / "absent.yaml"))
    assert missing.code == 2 and "no such file" in missing.stderr


def _dump(tmp_path: Path, *repo_ids: str) -> Path:
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps({"id": repo_id, "siblings": ["README.md"],
                                        "cardData": {"license": "apache-2.0"},
                                        "readme": "---\nlicense: apache-2.0\n---\n# m\n"}) + "\n"
                            for repo_id in repo_ids), encoding="utf-8")
    return dump


def test_from_dump_takes_the_policy_rules_and_fail_on(tmp_path: Path, run_cli: Any) -> None:
    dump = _dump(tmp_path, "acme/m")
    plain = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--format", "jsonl")
    verdict = json.loads(plain.stdout)["verdict"]
    assert verdict == "non-compliant" and plain.code == 1
    never = _policy(tmp_path, "schema_version: 1\nfail_on: never\n", "never.yaml")
    assert run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--config",
                   never).code == 0


# Every error-severity failure of a README-only apache-2.0 record, waived for acme/* only, and
# one waiver for a rule that passes everywhere (USE-001: a licence is stated).
DUMP_POLICY = """\
schema_version: 1
fail_on: non-compliant
waivers:
  - {rule: CODE-001, reason: code elsewhere, target: "acme/*"}
  - {rule: CODE-002, reason: inference code elsewhere, target: "acme/*"}
  - {rule: DATA-001, reason: data card elsewhere, target: "ACME/*"}
  - {rule: DATA-002, reason: sources on request, target: "acme/*"}
  - {rule: DATA-003, reason: described in the paper, target: "acme/*"}
  - {rule: PARAM-001, reason: weights in another repo, target: "acme/*"}
  - {rule: USE-001, reason: not needed}
"""
DUMP_WAIVED = ("CODE-001", "CODE-002", "DATA-001", "DATA-002", "DATA-003", "PARAM-001")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_from_dump_applies_the_policy_waivers(tmp_path: Path, run_cli: Any,
                                              workers: str) -> None:
    dump = _dump(tmp_path, "acme/m", "other/m", "acme/n")
    policy = _policy(tmp_path, DUMP_POLICY)
    result = run_cli("batch", "--from-dump", str(dump), "--workers", workers, "--config",
                     policy, "--format", "jsonl")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["repo_id"] for r in records] == ["acme/m", "other/m", "acme/n"]  # input order
    by_id = {r["repo_id"]: r for r in records}
    for repo_id in ("acme/m", "acme/n"):
        waived = {f["rule_id"]: f["waiver"] for f in by_id[repo_id]["findings"]
                  if f.get("waiver")}
        assert sorted(waived) == sorted(DUMP_WAIVED), repo_id
        assert waived["DATA-003"] == "described in the paper"
        assert by_id[repo_id]["verdict"] != "non-compliant"
        assert by_id[repo_id]["verdict_reason"].endswith(
            "waived by policy: " + ", ".join(sorted(DUMP_WAIVED)))
    other = by_id["other/m"]
    assert other["verdict"] == "non-compliant"
    assert not any(f.get("waiver") for f in other["findings"])
    assert result.code == 1  # other/m is still non-compliant, the policy's fail_on
    assert "waivers[6] waives USE-001, which passes on every repo it covers" in result.stderr
    assert "waivers[0]" not in result.stderr and "Traceback" not in result.stderr
    # the same records as a run of the same policy through every worker count
    single = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--config", policy,
                     "--format", "jsonl")
    assert single.stdout == result.stdout


def test_the_audit_key_changes_with_rules_version_and_waivers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from openaudit.batch import cache
    from openaudit.waivers import Waiver

    waiver = Waiver("CODE-001", "elsewhere", date(2030, 1, 1), "org/*", where="waivers[0]")
    base = cache.audit_key("rules-a")
    assert base == cache.audit_key("rules-a", ())  # stable: the same inputs, the same key
    assert cache.audit_key("rules-b") != base
    assert cache.audit_key("rules-a", [waiver]) != base
    moved = Waiver("CODE-001", "elsewhere", date(2030, 1, 1), "org/*", where="waivers[3]")
    assert cache.audit_key("rules-a", [moved]) == cache.audit_key("rules-a", [waiver])
    for changed in (Waiver("CODE-001", "other reason", date(2030, 1, 1), "org/*"),
                    Waiver("CODE-001", "elsewhere", None, "org/*"),
                    Waiver("CODE-001", "elsewhere", date(2030, 1, 1), None)):
        assert cache.audit_key("rules-a", [changed]) != cache.audit_key("rules-a", [waiver])
    monkeypatch.setattr(cache, "__version__", "999.0.0")  # an upgraded judge
    assert cache.audit_key("rules-a") != base


def test_a_waiver_no_repo_needed_gets_a_note(ids: str, tmp_path: Path, fake_hub: FakeHub,
                                             run_cli: Any) -> None:
    policy = _policy(tmp_path, POLICY + "  - {rule: PARAM-001, reason: weights elsewhere, "
                     "target: \"orbitx/*\"}\n  - {rule: DATA-001, reason: x, target: "
                     "\"other/*\"}\n")
    result = run_cli("batch", ids, "--config", policy, "--fail-on", "never")
    notes = [line for line in result.stderr.splitlines() if "note:" in line]
    assert notes == [f"openaudit: note: {policy}: waivers[3] waives PARAM-001, which passes on "
                     "every repo it covers; the waiver can go"]  # waivers[4] covers no repo
    assert result.code == 0


def test_a_waiver_never_accepts_unread_evidence_in_a_batch(tmp_path: Path, run_cli: Any) -> None:
    # Broken card YAML: the licence (USE-001) cannot be checked on acme/*; zed/ok states one.
    broken = {"siblings": ["README.md"], "readme": "---\nlicense: [apache\n---\n# m\n"}
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in (
        {"id": "acme/b", **broken}, {"id": "acme/a", **broken},
        {"id": "zed/ok", "siblings": ["README.md"], "cardData": {"license": "apache-2.0"},
         "readme": "---\nlicense: apache-2.0\n---\n# m\n"})), encoding="utf-8")
    policy = _policy(tmp_path, "schema_version: 1\nfail_on: never\nwaivers:\n"
                     "  - {rule: USE-001, reason: licence in the paper, target: \"acme/*\"}\n"
                     "  - {rule: USE-001, reason: everywhere}\n")
    result = run_cli("batch", "--from-dump", str(dump), "--workers", "1", "--config", policy,
                     "--format", "jsonl")
    use = {r["repo_id"]: next(f for f in r["findings"] if f["rule_id"] == "USE-001")
           for r in map(json.loads, result.stdout.splitlines())}
    assert {k: (f["outcome"], f["waiver"]) for k, f in use.items()} == {
        "acme/a": ("not-tested", None), "acme/b": ("not-tested", None), "zed/ok": ("pass", None)}
    notes = [line for line in result.stderr.splitlines() if "note:" in line]
    assert notes == [f"openaudit: note: {policy}: waivers[0] waives USE-001, but it was not "
                     "tested on 2 repo(s) (first: acme/a) and still counts there: waivers never "
                     "cover evidence that could not be read"]  # the first matching waiver speaks
    assert result.code == 0
