"""Bad input and Hub failures: a clear finding or error and a documented exit code, never a
traceback, never a silent pass. Everything runs the real CLI against the loopback fake Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakehub import FakeHub

pytestmark = pytest.mark.e2e


def audit(run_cli: Any, hub: FakeHub, repo: str, *extra: str, kind: str = "model") -> Any:
    result = run_cli(kind, repo, "--endpoint", hub.url, "--format", "json", *extra)
    assert "Traceback" not in result.stderr
    return result


def findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["rule_id"]: f for f in report["findings"]}


def test_malformed_yaml_makes_metadata_unknown_not_empty(hub_env: Any, fake_hub: FakeHub,
                                                         run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "edge-cases/malformed-yaml")
    f = findings(result.json())
    assert f["USE-010"]["outcome"] == "warn"
    assert "malformed" in f["USE-010"]["message"]
    # the licence is unknowable, which is "not tested", never a pass or "no licence"
    assert f["USE-001"]["outcome"] == "not-tested"
    assert "front matter is malformed" in f["USE-001"]["message"]


def test_front_matter_that_is_a_list(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/yaml-list").json())
    assert "not-a-mapping" in f["USE-010"]["message"]
    assert f["USE-002"]["outcome"] == "not-tested"


def test_missing_readme(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "edge-cases/no-readme")
    f = findings(result.json())
    assert f["DATA-001"]["outcome"] == "fail"
    assert f["USE-010"]["outcome"] == "warn" and "missing" in f["USE-010"]["message"]
    assert result.code == 1


def test_non_utf8_readme_is_read_and_reported(hub_env: Any, fake_hub: FakeHub,
                                              run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/non-utf8-readme").json())
    assert f["STUDY-002"]["outcome"] == "warn"
    assert any(e["source"] == "README.md" for e in f["STUDY-002"]["evidence"])
    assert f["DATA-001"]["outcome"] == "pass"  # the sections were still read


def test_licence_given_as_a_list(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/license-list").json())
    assert f["USE-002"]["outcome"] == "pass"
    assert "apache-2.0" in f["USE-002"]["message"] and "mit" in f["USE-002"]["message"]


def test_licence_given_as_a_number(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/license-number").json())
    assert f["USE-002"]["outcome"] == "fail"
    assert "42" in f["USE-002"]["message"]
    assert any("not a string" in (e["excerpt"] or "") for e in f["USE-002"]["evidence"])


@pytest.mark.parametrize("repo", ["edge-cases/unknown-license-id",
                                  "edge-cases/license-other-unknown"])
def test_unknown_licences_fail_identification(repo: str, hub_env: Any, fake_hub: FakeHub,
                                              run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, repo)
    report = result.json()
    assert findings(report)["USE-002"]["outcome"] == "fail"
    assert "terms" in report["gaps"]
    assert report["verdict"] != "compliant"


def test_empty_repo(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "edge-cases/empty-repo")
    report = result.json()
    assert report["verdict"] == "non-compliant"
    assert findings(report)["PARAM-001"]["outcome"] == "fail"
    assert result.code == 1


def test_licence_text_wins_over_metadata(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/apache-card-rail-text").json())
    assert f["USE-009"]["outcome"] == "warn"
    assert "apache-2.0" in f["USE-009"]["message"]
    assert f["USE-003"]["outcome"] == "fail"
    assert any(e["source"] == "LICENSE" and e["line"] for e in f["USE-003"]["evidence"])


def test_gated_files_are_not_tested_with_the_reason(hub_env: Any, fake_hub: FakeHub,
                                                    run_cli: Any) -> None:
    report = audit(run_cli, fake_hub, "edge-cases/gated-click-through").json()
    f = findings(report)
    assert f["USE-008"]["outcome"] == "warn"
    assert f["USE-003"]["outcome"] == "not-tested"
    assert "gated" in f["USE-003"]["message"]
    assert report["verdict"] == "potentially-compliant"


def test_manual_gating_blocks_the_freedom_to_use(hub_env: Any, fake_hub: FakeHub,
                                                 run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "bramble-labs/bramble-2-7b").json())
    assert f["USE-007"]["outcome"] == "fail"
    assert f["USE-007"]["evidence"][0]["excerpt"] == "manual"


def test_eu_exclusion(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    f = findings(audit(run_cli, fake_hub, "edge-cases/eu-blocked").json())
    assert f["USE-006"]["outcome"] == "fail"


def test_approved_token_reads_gated_files_and_never_leaks(
    hub_env: Any, make_repo: Any, tmp_hub_root: Path, run_cli: Any
) -> None:
    token = "hf_secret_approved_token_123"
    make_repo("models/acme/gated", files={
        "README.md": "---\nlicense: apache-2.0\n---\n# Gated\n",
        "LICENSE": "Apache License, Version 2.0\n", "model.safetensors": "x"},
        hub={"gated": "auto", "approved_tokens": [token]})
    with FakeHub(tmp_hub_root) as hub:
        without = audit(run_cli, hub, "acme/gated")
        with_token = audit(run_cli, hub, "acme/gated", "--token", token)
        assert any(r.authorized for r in hub.requests)
    assert findings(without.json())["USE-003"]["outcome"] == "not-tested"
    assert findings(with_token.json())["USE-003"]["outcome"] == "pass"
    for result in (without, with_token):
        assert token not in result.stdout + result.stderr


def test_unknown_repo_id_suggests_real_ones(hub_env: Any, make_repo: Any, tmp_hub_root: Path,
                                            run_cli: Any) -> None:
    for name in ("Meta-Llama-3-8B", "Meta-Llama-3-70B"):
        make_repo(f"models/meta-llama/{name}", files={"README.md": "# x\n"})
    with FakeHub(tmp_hub_root) as hub:
        result = audit(run_cli, hub, "meta-llama/Llama-3")
    assert result.code == 3
    assert "was not found" in result.stderr
    assert "did you mean" in result.stderr
    assert "meta-llama/Meta-Llama-3-8B" in result.stderr
    assert result.stdout == ""


def test_unknown_revision(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "lanternworks/lumen-1.4b", "--revision", "v9")
    assert result.code == 3
    assert "revision 'v9' does not exist" in result.stderr


def test_invalid_repo_id_is_a_usage_error_without_requests(hub_env: Any, fake_hub: FakeHub,
                                                           run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "not//valid")
    assert result.code == 2
    assert not [r for r in fake_hub.requests if "/api/models" in r.path]


@pytest.mark.parametrize("endpoint", ["localhost:8080", "ftp://hub.example", "https://"])
def test_malformed_endpoint_is_a_usage_error_without_requests(hub_env: Any, fake_hub: FakeHub,
                                                              run_cli: Any,
                                                              endpoint: str) -> None:
    result = run_cli("model", "lanternworks/lumen-1.4b", "--endpoint", endpoint)
    assert result.code == 2
    assert f"'{endpoint}' is not an http(s) URL" in result.stderr
    assert fake_hub.requests == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 429, "headers": {"Retry-After": "37"}}, "rate-limited"),
        ({"status": 0, "drop": True}, "could not reach the Hub"),
        ({"status": 0, "delay": 3.0}, "could not reach the Hub"),
    ],
    ids=["server-error", "rate-limit", "dropped-connection", "timeout"],
)
def test_hub_failures_are_exit_3_with_a_next_step(fault: dict[str, Any], message: str,
                                                  hub_env: Any, fake_hub: FakeHub,
                                                  run_cli: Any) -> None:
    fake_hub.inject("GET /api/models/lanternworks/lumen-1.4b", times=-1, **fault)
    result = audit(run_cli, fake_hub, "lanternworks/lumen-1.4b", "--timeout", "1")
    assert result.code == 3
    assert message in result.stderr
    assert "hint:" in result.stderr
    assert result.stdout == ""


def test_huge_licence_file_is_reported_not_read(hub_env: Any, make_repo: Any,
                                                tmp_hub_root: Path, run_cli: Any) -> None:
    make_repo("models/acme/huge", files={
        "README.md": "---\nlicense: mit\n---\n# Huge\n", "model.safetensors": "x",
        "LICENSE": "MIT License\n" + "padding line\n" * 200_000})
    with FakeHub(tmp_hub_root) as hub:
        report = audit(run_cli, hub, "acme/huge").json()
        requests = [r.method for r in hub.requests if "LICENSE" in r.path]
    f = findings(report)
    assert f["USE-003"]["outcome"] == "not-tested"
    assert "too large" in f["USE-003"]["message"]
    assert "2,600,012 bytes" in f["USE-003"]["message"]  # the claimed size, no body read
    assert requests == ["GET"]  # one GET, no HEAD: its Content-Length was checked first


def test_offline_uses_the_cache_and_makes_no_request(hub_env: Any, fake_hub: FakeHub,
                                                     run_cli: Any) -> None:
    online = audit(run_cli, fake_hub, "lanternworks/lumen-1.4b")
    fake_hub.clear_log()
    offline = audit(run_cli, fake_hub, "lanternworks/lumen-1.4b", "--offline")
    assert fake_hub.requests == []
    assert offline.json() == online.json()


def test_offline_without_cache_is_exit_3(hub_env: Any, fake_hub: FakeHub, run_cli: Any) -> None:
    result = audit(run_cli, fake_hub, "lanternworks/lumen-1.4b", "--offline")
    assert result.code == 3
    assert "not in the local cache" in result.stderr
    assert fake_hub.requests == []


def test_unreadable_readme_uses_hub_card_data_and_marks_the_rest_not_tested(
    hub_env: Any, make_repo: Any, tmp_hub_root: Path, run_cli: Any
) -> None:
    make_repo("models/acme/closed-card", files={
        "README.md": "---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n"
                     "## Training Data\nhttps://example.org/corpus\n",
        "model.safetensors": "x"},
        hub={"gated": "auto", "public_files": [".gitattributes"]})
    with FakeHub(tmp_hub_root) as hub:
        report = audit(run_cli, hub, "acme/closed-card").json()
    f = findings(report)
    assert f["USE-002"]["outcome"] == "pass"  # the licence id comes from the Hub's cardData
    assert f["CODE-002"]["outcome"] == "pass"  # library_name from cardData
    for rule in ("DATA-001", "DATA-002", "CODE-001"):
        assert f[rule]["outcome"] == "not-tested", rule
        assert "README.md could not be read" in f[rule]["message"]
    assert report["verdict"] == "potentially-compliant"
