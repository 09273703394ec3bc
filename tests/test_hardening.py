"""Inputs found in review that once gave a pass on unread evidence, a leak, a hang or a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from openaudit.card import parse_card
from openaudit.hub import MAX_FILE_BYTES, MAX_LICENCE_FILES
from openaudit.readme import split_sections
from treeutil import write_tree

APACHE = "Apache License, Version 2.0\n"
AUP = ("Use of the model must comply with the Acceptable Use Policy, which is incorporated by "
       "reference into this agreement.\n")


def _findings(run_cli: Any, folder: Path) -> dict[str, dict[str, Any]]:
    result = run_cli("check", str(folder), "--format", "json")
    assert "Traceback" not in result.stderr
    return {f["rule_id"]: f for f in result.json()["findings"]}


def test_licence_files_beyond_the_cap_make_the_terms_not_tested(tmp_path: Path,
                                                                 run_cli: Any) -> None:
    files: dict[str, str | bytes] = {"README.md": "---\nlicense: apache-2.0\n---\n",
                                     "LICENSE": APACHE}
    files.update({f"LICENSE-{i:02d}": APACHE for i in range(MAX_LICENCE_FILES)})
    files["USE_POLICY.md"] = AUP  # sorts after the cap
    f = _findings(run_cli, write_tree(tmp_path, files))
    assert f["USE-003"]["outcome"] == "not-tested"
    assert "only the first" in f["USE-003"]["message"]


def test_an_unreadable_licence_text_never_passes_the_weights_terms(tmp_path: Path,
                                                                   run_cli: Any) -> None:
    big = APACHE + "x" * (MAX_FILE_BYTES + 10)
    f = _findings(run_cli, write_tree(tmp_path, {"README.md": "---\nlicense: apache-2.0\n---\n",
                                             "LICENSE": big, "model.safetensors": "x"}))
    assert f["PARAM-002"]["outcome"] == "not-tested"
    assert "too large" in f["PARAM-002"]["message"]


def test_unfilled_card_template_is_not_documentation(tmp_path: Path, run_cli: Any) -> None:
    readme = ("---\nlicense: mit\n---\n## Training Details\n\n### Training Data\n\n"
              "<!-- Describe the data; link the dataset card, pre-processing or additional "
              "filtering. -->\n\n[More Information Needed]\n")
    f = _findings(run_cli, write_tree(tmp_path, {"README.md": readme}))
    assert f["DATA-001"]["outcome"] == "fail"
    assert f["DATA-003"]["outcome"] == "fail"


def test_a_paper_link_does_not_locate_training_data(tmp_path: Path, run_cli: Any) -> None:
    readme = ("---\nlicense: mit\n---\n## Training Data\n\nA new mix of publicly available data. "
              "Paper: https://arxiv.org/abs/2307.09288\n")
    f = _findings(run_cli, write_tree(tmp_path, {"README.md": readme}))
    assert f["DATA-002"]["outcome"] == "fail"


def test_yaml_alias_bomb_is_refused_without_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        cur = chr(ord("a") + level)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    lines.append("license: *i")
    card = parse_card("---\n" + "\n".join(lines) + "\n---\n# Card\n")
    assert card.status == "malformed"
    assert "aliases" in card.error


def test_pathological_heading_is_parsed_in_linear_time() -> None:
    # ~30 s per line with the old backtracking pattern; instant now. No timing assertion: a
    # regression shows as a hung test.
    line = "## a" + "#" * 20_000 + " " * 20_000 + "b"
    assert split_sections(line + "\n## Training Data\ntext\n")[-1].name == "training_data"


def test_token_with_a_line_break_is_a_usage_error_and_never_echoed(run_cli: Any) -> None:
    result = run_cli("model", "acme/x", "--token", "hf_SECRETSECRET\nX",
                     "--endpoint", "http://127.0.0.1:9")
    assert result.code == 2
    assert "SECRETSECRET" not in result.stdout + result.stderr


def test_output_survives_a_narrow_terminal_encoding(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, {"README.md": "---\nlicense: mit\n---\n# Café ✅\n",
                               "LICENSE": "MIT License\n"})
    proc = subprocess.run([sys.executable, "-m", "openaudit", "check", str(folder),
                           "--format", "markdown"], capture_output=True, timeout=60,
                          env={"PYTHONIOENCODING": "ascii", "PATH": "/usr/bin:/bin"},
                          check=False)
    assert b"Traceback" not in proc.stderr
    assert proc.returncode in (0, 1)
    assert proc.stdout.startswith(b"## openaudit:")


def test_legacy_gated_true_counts_as_click_through(tmp_path: Path, run_cli: Any) -> None:
    folder = write_tree(tmp_path, {"README.md": "---\nlicense: mit\ngated: true\n---\n"})
    f = _findings(run_cli, folder)
    assert f["USE-008"]["outcome"] == "warn"
