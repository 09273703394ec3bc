"""Hostile local input: a pull request's checkout, config and dumps built to leak, hang or bloat.

Every case runs the real CLI in a subprocess with a timeout (a hang fails the test instead of
the suite) and, where memory is the attack, an address-space limit. Symlinks and FIFOs are
built in tmp_path: they cannot live in git.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from openaudit import dump
from openaudit.dump import iter_dump

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "open-model"
FORMATS = ("table", "json", "markdown", "sarif", "github", "junit")
TOKEN = "hf_FAKEtokenTHATmustNEVERshow0123456789"
MEMORY = 1_500 << 20  # bytes of address space for a child: far below what the attacks take

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks, FIFOs and /proc")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(*args: str | Path, timeout: float = 90, memory: bool = False,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"}
    env.pop("OPENAUDIT_DEBUG", None)
    preexec: Callable[[], None] | None = _limit_memory if memory else None
    done = subprocess.run([sys.executable, "-m", "openaudit", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          preexec_fn=preexec, check=False)
    both = done.stdout + done.stderr
    assert "Traceback" not in both, both[-3000:]
    assert "internal error" not in both, both[-3000:]
    return done


def _folder(tmp_path: Path, name: str = "model") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    return folder


# ---- containment: symlinks and special files in the audited folder -----------------------------


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_readme_symlinked_to_the_environment_leaks_nothing(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "README.md").unlink()
    (folder / "README.md").symlink_to("/proc/self/environ")
    facts = run("facts", folder)
    assert facts.returncode == 0
    assert TOKEN not in facts.stdout + facts.stderr
    assert "outside the audited folder" in facts.stdout
    for fmt in FORMATS:
        done = run("check", folder, "--format", fmt, "--fail-on", "never")
        assert done.returncode == 0, (fmt, done.stderr)
        assert TOKEN not in done.stdout + done.stderr, fmt
    report = json.loads(run("check", folder, "--format", "json").stdout)
    # Unread, so "could not check": never a pass for what the README would have shown.
    by_rule = {f["rule_id"]: f["outcome"] for f in report["findings"]}
    assert by_rule["DATA-001"] == "not-tested"
    assert report["verdict"] != "compliant"


def test_a_licence_symlinked_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for name in ("LICENSE", "LICENSE.md"):
        (folder / name).unlink(missing_ok=True)
    (folder / "LICENSE").symlink_to("/etc/passwd")
    outside = tmp_path / "secret.txt"
    outside.write_text("SECRET-CONTENT-42\n")
    (folder / "NOTICE").symlink_to(outside)
    texts = [run("facts", folder).stdout]
    texts += [run("check", folder, "--format", fmt, "--fail-on", "never").stdout
              for fmt in FORMATS]
    for text in texts:
        assert "root:" not in text and "SECRET-CONTENT-42" not in text


def test_a_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "docs").mkdir()
    (folder / "README.md").rename(folder / "docs" / "card.md")
    (folder / "README.md").symlink_to(Path("docs") / "card.md")
    facts = json.loads(run("facts", folder).stdout)["facts"]
    assert facts["card.present"] is True
    assert facts["card.metadata_status"] == "ok"
    assert facts["card.license"]


@pytest.mark.parametrize("name", ["README.md", "LICENSE"])
def test_a_fifo_in_the_folder_does_not_hang(tmp_path: Path, name: str) -> None:
    folder = _folder(tmp_path)
    (folder / name).unlink(missing_ok=True)
    os.mkfifo(folder / name)
    done = run("check", folder, "--format", "json", "--fail-on", "never", timeout=60)
    assert done.returncode == 0
    assert "FIFO" in done.stdout
    assert run("facts", folder, timeout=60).returncode == 0


def test_a_fifo_config_or_folder_policy_is_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    done = run("check", folder, "--config", fifo, timeout=60)
    assert done.returncode == 2 and "FIFO" in done.stderr
    os.mkfifo(folder / ".openaudit.yaml")
    done = run("check", folder, timeout=60)
    assert done.returncode == 2 and "FIFO" in done.stderr


def test_a_fifo_in_a_rules_directory_is_an_error(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "rules" / "osaid-1.0", pack)
    os.mkfifo(pack / "zz-extra.yaml")
    done = run("rules", "list", "--rules", pack, timeout=60)
    assert done.returncode == 2
    assert "zz-extra.yaml" in done.stderr and "FIFO" in done.stderr


def test_dev_zero_as_config_is_refused_unread(tmp_path: Path) -> None:
    done = run("check", _folder(tmp_path), "--config", "/dev/zero", memory=True, timeout=60)
    assert done.returncode == 2
    assert "/dev/zero" in done.stderr


def test_a_folder_policy_may_not_name_rules_outside_the_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    outside = tmp_path / "rules.yaml"
    outside.write_text("schema_version: 1\nextends: osaid-1.0\nrules: []\n")
    (folder / ".openaudit.yaml").write_text(f"schema_version: 1\nrules: [{outside}]\n")
    done = run("check", folder)
    assert done.returncode == 2
    assert "leaves the audited folder" in done.stderr


def test_a_sparse_policy_file_is_refused_by_its_size(tmp_path: Path) -> None:
    policy = tmp_path / "big.yaml"
    with policy.open("wb") as handle:
        handle.truncate(2 << 30)  # 2 GB, sparse: nothing is written
    done = run("check", _folder(tmp_path), "--config", policy, memory=True, timeout=60)
    assert done.returncode == 2
    assert "limit" in done.stderr


# ---- YAML depth, aliases and tags ---------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10)
                    + "]" for i in range(9)])
RULE_HEAD = "schema_version: 1\nextends: osaid-1.0\n"


@pytest.mark.parametrize("body", [f"schema_version: {DEEP}\n", f"schema_version: 1\n{BOMB}\n",
                                  f"schema_version: 1\nfail_on: {BOMB.splitlines()[0]}\n"
                                  + "\n".join(BOMB.splitlines()[1:]) + "\nz: [*j]\n",
                                  "schema_version: !!int x\n",
                                  "schema_version: 1\nwaivers: [{rule: DATA-001, reason: r, "
                                  "expires: !!timestamp x}]\n"])
def test_hostile_policy_yaml_is_a_policy_error(tmp_path: Path, body: str) -> None:
    _assert_refused_cleanly(tmp_path, "--config", "policy.yaml", body)


def _assert_refused_cleanly(tmp_path: Path, option: str, name: str, body: str) -> None:
    """``check`` with ``option`` naming a file holding ``body``: exit 2 naming the file, in a
    bounded message (no unbounded repr of a value), within the memory and time limits."""
    path = tmp_path / name
    path.write_text(body)
    done = run("check", _folder(tmp_path), option, path, memory=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and len(done.stderr) < 2_000


@pytest.mark.parametrize("body", [RULE_HEAD + f"rules: {DEEP}\n",
                                  RULE_HEAD + f"rules: []\n{BOMB}\n",
                                  "schema_version: !!float x\nextends: osaid-1.0\nrules: []\n"])
def test_hostile_rule_yaml_is_a_rule_file_error(tmp_path: Path, body: str) -> None:
    _assert_refused_cleanly(tmp_path, "--rules", "rules.yaml", body)


@pytest.mark.parametrize("front", [f"license: mit\nx: {DEEP}\n",
                                   "license: mit\n" + "x:\n" + "".join(
                                       " " * i + "- \n" for i in range(1, 400)),
                                   f"license: mit\nx: é\n{BOMB}\n"])
def test_hostile_card_front_matter_is_malformed_not_slow(tmp_path: Path, front: str) -> None:
    folder = _folder(tmp_path)
    (folder / "README.md").write_text(f"---\n{front}---\n# Model\n", encoding="utf-8")
    done = run("facts", folder, memory=True, timeout=60)
    assert done.returncode == 0
    assert json.loads(done.stdout)["facts"]["card.metadata_status"] in ("malformed", "ok")


# ---- rule patterns and waivers ------------------------------------------------------------------

BOMB_RULE = """schema_version: 1
extends: osaid-1.0
rules:
  - id: BOMB-001
    name: regex-bomb
    title: A catastrophic pattern
    pillar: code
    clause: none
    severity: warning
    check: {fact: readme.text, op: matches, value: "(a+)+$"}
    message: {pass: "fine", fail: "not fine"}
    fix: none
    rationale: none
    references: [none]
    examples: {pass: [{readme.text: "a"}], fail: [{readme.text: "b"}]}
"""


def test_a_backtracking_pattern_from_the_folder_policy_runs_in_linear_time(
        tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "bomb.yaml").write_text(BOMB_RULE)
    (folder / ".openaudit.yaml").write_text("schema_version: 1\nrules: [bomb.yaml]\n")
    with (folder / "README.md").open("a") as handle:
        handle.write("\n" + "a" * 50_000 + "b\n")
    done = run("check", folder, "--format", "json", "--fail-on", "never", timeout=60)
    assert done.returncode == 0
    assert "BOMB-001" in done.stdout


def test_a_backreference_in_an_untrusted_rule_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(BOMB_RULE.replace("(a+)+$", "(a)\\\\1"))
    done = run("rules", "list", "--rules", rules)
    assert done.returncode == 2
    assert "RE2" in done.stderr and "BOMB-001" in done.stderr


def test_thirty_thousand_waivers_load_in_linear_time(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    lines = [f'  - {{rule: DATA-001, reason: "r", target: "t{i}"}}' for i in range(30_000)]
    policy.write_text("schema_version: 1\nwaivers:\n" + "\n".join(lines) + "\n")
    done = run("check", _folder(tmp_path), "--config", policy, "--fail-on", "never",
               timeout=60)
    assert done.returncode == 0, done.stderr


# ---- dumps and outputs --------------------------------------------------------------------------


def _record() -> str:
    return json.dumps({"id": "acme/m", "siblings": [{"rfilename": "README.md"}],
                       "readme": "# Model\n"})


def test_an_empty_dump_is_nothing_to_audit(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    done = run("batch", "--from-dump", empty, "--format", "jsonl", "--workers", "1")
    assert done.returncode == 3
    assert "nothing to audit" in done.stderr


def test_dev_zero_as_a_dump_is_refused(tmp_path: Path) -> None:
    done = run("batch", "--from-dump", "/dev/zero", "--workers", "1", memory=True, timeout=60)
    assert done.returncode == 2
    assert "refused" in done.stderr


def test_an_oversized_dump_line_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    with path.open("w") as handle:
        handle.write(_record() + "\n")
        handle.write('{"id": "acme/big", "readme": "' + "x" * (dump.MAX_DUMP_LINE_BYTES + 10)
                     + '"}\n')
        handle.write(_record().replace("acme/m", "acme/n") + "\n")
    done = run("batch", "--from-dump", path, "--format", "jsonl", "--workers", "1",
               memory=True, timeout=120)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("repo_id") for r in records][::2] == ["acme/m", "acme/n"]
    assert "bad-record" in records[1]["error"]["kind"]
    assert "longer than" in records[1]["error"]["message"]
    assert done.returncode == 3


def test_dump_lines_over_the_cap_are_skipped_unread(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dump, "MAX_DUMP_LINE_BYTES", 100)
    monkeypatch.setattr(dump, "BLOCK_BYTES", 64)
    path = tmp_path / "dump.jsonl"
    path.write_text(_record() + "\n" + "y" * 5_000 + "\n" + _record() + "\n" + "z" * 500)
    records = list(iter_dump(path))
    assert [r.get("id") for r in records] == ["acme/m", None, "acme/m", None]
    assert "line 2: longer than 100 bytes" in records[1][dump.BAD_MARKER]
    assert "line 4: longer than 100 bytes" in records[3][dump.BAD_MARKER]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_output_on_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text(_record() + "\n")
    done = run("batch", "--from-dump", path, "--format", "jsonl", "--workers", "1",
               "--output", "/dev/full")
    assert done.returncode == 2
    assert "cannot write /dev/full" in done.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "openaudit", "check", str(EXAMPLE),
                               "--format", "json"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "cannot write the report" in done.stderr and "Traceback" not in done.stderr


def test_resume_streams_a_journal_with_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text(_record() + "\n" + _record().replace("acme/m", "acme/n") + "\n")
    out = tmp_path / "out.jsonl"
    assert run("batch", "--from-dump", path, "-f", "jsonl", "-o", out,
               "--workers", "1").returncode == 0 or out.exists()
    first = out.read_text().splitlines()[0]
    out.write_text(first + "\n" + '{"torn')
    done = run("batch", "--from-dump", path, "-f", "jsonl", "-o", out, "--workers", "1",
               "--resume")
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and lines[0] == first, done.stderr
