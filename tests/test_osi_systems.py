"""Golden end-to-end tests: the real CLI and huggingface_hub against the loopback fake Hub.

The fixture repos are modelled on the twelve systems OSI reviewed when validating OSAID 1.0
(under invented names) plus four datasets; EXPECTED.yaml holds the verdicts to reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

EXPECTED = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "hub" / "EXPECTED.yaml").read_text(encoding="utf-8")
)
EXIT_FOR = {"compliant": 0, "potentially-compliant": 0, "non-compliant": 1}


@pytest.mark.e2e
@pytest.mark.parametrize("case", EXPECTED, ids=[c["repo"] for c in EXPECTED])
def test_verdict_matches_osi_validation(case: dict[str, Any], hub_env: dict[str, str],
                                        run_cli: Any) -> None:
    kind, repo_id = case["repo"].split("/", 1)
    command = "model" if kind == "models" else "dataset"
    result = run_cli(command, repo_id, "--endpoint", hub_env["HF_ENDPOINT"], "--format", "json")
    report = result.json()
    assert report["verdict"] == case["verdict"], report["verdict_reason"]
    assert sorted(report["gaps"]) == sorted(case["failing"])
    reasons = [f["rule_id"] for f in report["findings"] if f["outcome"] in ("fail", "not-tested")]
    assert sorted(reasons) == sorted(case["reasons"])
    assert result.code == EXIT_FOR[case["verdict"]]
    assert report["target"]["sha"] and len(report["target"]["sha"]) == 40


def test_the_validation_covers_every_osi_outcome() -> None:
    verdicts = [c["verdict"] for c in EXPECTED if c["repo"].startswith("models/")]
    assert verdicts.count("compliant") == 5
    assert verdicts.count("potentially-compliant") == 3
    assert verdicts.count("non-compliant") == 4
