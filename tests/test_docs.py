"""The README documents what the code does: facts, exit codes, commands, and CI runs them."""

from __future__ import annotations

import re
from pathlib import Path

from openaudit.exit_codes import ExitCode
from openaudit.fact_specs import FACT_SPECS
from openaudit.operators import OPERATORS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_fact_is_documented() -> None:
    missing = [name for name in FACT_SPECS if f"| `{name}` |" not in README]
    assert missing == []


def test_every_operator_is_documented() -> None:
    assert [op for op in OPERATORS if f"| `{op}` |" not in README] == []


def test_every_exit_code_is_documented() -> None:
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \| ", README, re.M), code


def test_ci_runs_the_readme_commands_verbatim() -> None:
    blocks = re.findall(r"```shell\n(.*?)```", README, re.S)
    install, tests = blocks[0].strip(), blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install in ci
    assert tests in ci
    assert "openaudit check" in install and "pytest" in tests
