"""Output injection: text from an audited folder, a dump or an endpoint is untrusted.

Hostile folders and dumps carry terminal escapes (clear screen, set the window title), BEL,
NUL, bidi overrides, Rich markup, a newline followed by a GitHub workflow command and URLs with
credentials. Every format of the real CLI, and stderr, must show them inert: no raw control or
bidi character, no line an Actions runner would read as a command, no credential.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from openaudit.sanitize import (
    clean,
    defuse_commands,
    json_bytes,
    json_text,
    one_line,
    redact,
    visible,
)

ESC_CLEAR = "\x1b[2J"
OSC_TITLE = "\x1b]0;pwned\x07"
RLO = "\u202e"
MARKUP = "[red]x[/red] [link=https://evil.example]y[/link]"
COMMAND = "\n::error::pwned"
HOSTILE = (f"{ESC_CLEAR}{OSC_TITLE} bell\x07 nul\x00 del\x7f c1\x9b {RLO}evil\u2066 "
           f"{MARKUP}{COMMAND}")
SECRET_URL = "https://u:secret@evil.example/terms"
SECRET_DATA_URL = "https://u:secret@evil.example/corpus"  # a data source the report cites
FORMATS = ("table", "json", "markdown", "sarif", "github", "junit")
BATCH_FORMATS = ("table", "jsonl", "json", "markdown", "csv", "html")
# Raw in no output: C0 but newline and tab (CR only inside JSON/XML escapes), DEL, C1, bidi.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                  "\u2028\u2029]")
# What an input-derived workflow command would look like at a line start (the runner trims).
# The hostile inputs all carry "::error::pwned"; the github format's own commands are fine.
_INJECTED = re.compile(r"^\s*(::error::pwned|##\[)", re.MULTILINE)


def _card(value: str) -> str:
    """A README whose front matter values, headings and link texts carry ``value``."""
    quoted = json.dumps(value)  # a JSON string is a YAML double-quoted scalar
    front = "\n".join([
        "---", "license: other", f"license_name: {quoted}",
        f"license_link: {json.dumps(SECRET_URL)}",
        f"datasets: [{quoted}]", f"base_model: {quoted}", f"library_name: {quoted}", "---", ""])
    flat = value.replace("\x00", "")  # the body as a file would hold it
    return front + (f"# Model {flat}\n\n## Training data {flat}\n\nWe trained on "
                    f"[the data {ESC_CLEAR}{RLO}]({SECRET_DATA_URL}).\n\n## License\n\n"
                    f"[terms {OSC_TITLE}]({SECRET_URL})\n{flat}\n")


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "README.md").write_text(_card(HOSTILE), encoding="utf-8")
    # File names cannot hold NUL or "/", but newline, ESC, BEL and bidi characters are fine.
    for name in (f"w{ESC_CLEAR}{RLO}.safetensors", "x\n::error::pwned.bin", "[bold]x.bin",
                 f"LICENSE{RLO}{OSC_TITLE}", "config.json"):
        (folder / name).write_text("{}", encoding="utf-8")
    return folder


def assert_inert(text: str, where: str) -> None:
    """No raw control or bidi character, no injected workflow command, no credential."""
    raw = _RAW.search(text)
    assert raw is None, f"{where}: raw {raw.group()!r} in {text[raw.start() - 40:][:80]!r}"
    command = _INJECTED.search(text)
    assert command is None, f"{where}: injected command {command.group()!r}"
    assert "secret" not in text, f"{where}: credential echoed"


# ---- the sanitiser on its own -----------------------------------------------------------------


def test_controls_and_bidi_become_visible_escapes() -> None:
    assert visible(f"a{ESC_CLEAR}b\x00\x07\x7f\x9b{RLO}\u200f\u061c") == (
        "a\\x1b[2Jb\\x00\\x07\\x7f\\x9b\\u202e\\u200f\\u061c")
    assert visible("a\tb\r\nc\rd", keep="\n\t") == "a\tb\nc\\x0dd"
    assert visible("line\nnext") == "line\\x0anext"
    assert visible("é ü 日本 🙂 \u2060") == "é ü 日本 🙂 \u2060"  # ordinary text untouched


def test_no_line_can_start_a_workflow_command() -> None:
    assert defuse_commands("ok\n::error::x\n  ::warning::y\n##[error]z\n##vso[task]w\nok::a") == (
        "ok\n\\::error::x\n  \\::warning::y\n\\##[error]z\n\\##vso[task]w\nok::a")
    assert clean("::error::x") == "\\::error::x"  # a field may land at a line start
    assert one_line("a\n::error::x") == "a\\x0a::error::x"  # no line at all


def test_credentials_in_urls_are_redacted() -> None:
    assert redact("see https://u:secret@h.example:8/x?a=b@c and ftp://tok@f.example/") == (
        "see https://***@h.example:8/x?a=b@c and ftp://***@f.example/")
    assert redact("https://u:p@ss@h.example/") == "https://***@h.example/"
    assert redact("mail me@x.example, https://h.example/@user") == (
        "mail me@x.example, https://h.example/@user")


def test_json_escapes_are_lossless() -> None:
    value = {"k": f"{RLO}\x85\x7f\u2028 é {ESC_CLEAR}"}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert _RAW.search(text) is None and json.loads(text) == value and "é" in text
    line = json.dumps(value, ensure_ascii=False).encode()
    assert json.loads(json_bytes(line)) == value and _RAW.search(json_bytes(line).decode()) is None


# ---- check / facts on a hostile folder --------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_output_is_inert(fmt: str, hostile_dir: Path, run_cli: Any) -> None:
    result = run_cli("check", str(hostile_dir), "--format", fmt)
    assert result.code == 1, result.stderr
    assert_inert(result.stdout, f"check --format {fmt}")
    assert_inert(result.stderr, f"check --format {fmt} (stderr)")
    if fmt == "json":
        report = json.loads(result.stdout)  # lossless: the card's very text comes back
        assert any(RLO in f["message"] for f in report["findings"])
    if fmt == "sarif":
        json.loads(result.stdout)
    if fmt == "junit":
        ET.fromstring(result.stdout)
    if fmt == "github":
        for line in result.stdout.splitlines()[:-1]:
            assert re.match(r"::(error|warning|notice) ", line), line


def test_table_keeps_rich_markup_literal(hostile_dir: Path, run_cli: Any) -> None:
    result = run_cli("check", str(hostile_dir), "--format", "table")
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "[red]x[/red]" in flat  # shown as typed, not turned into colour or a link


def test_json_escapes_bidi_and_keeps_the_text(hostile_dir: Path, run_cli: Any) -> None:
    result = run_cli("check", str(hostile_dir), "--format", "json")
    assert "\\u202e" in result.stdout and "\\u001b" in result.stdout
    assert "https://***@evil.example/corpus" in result.stdout  # the one change to the data


def test_facts_output_is_valid_escaped_json(hostile_dir: Path, run_cli: Any) -> None:
    result = run_cli("facts", str(hostile_dir))
    assert result.code == 0, result.stderr
    assert _RAW.search(result.stdout) is None
    assert RLO in json.dumps(json.loads(result.stdout), ensure_ascii=False)


# ---- stderr -----------------------------------------------------------------------------------


def test_a_hostile_policy_key_cannot_reach_the_runner(hostile_dir: Path, run_cli: Any) -> None:
    (hostile_dir / ".openaudit.yaml").write_text(
        json.dumps({f"bogus{COMMAND}{OSC_TITLE}{RLO}": 1}), encoding="utf-8")
    result = run_cli("check", str(hostile_dir), "--format", "github")
    assert result.code == 2
    assert "bogus" in result.stderr
    assert_inert(result.stderr, "policy error")


def test_a_hostile_waiver_reason_is_inert_in_every_format(hostile_dir: Path,
                                                          run_cli: Any) -> None:
    (hostile_dir / ".openaudit.yaml").write_text(json.dumps({"schema_version": 1, "waivers": [
        {"rule": "USE-002", "reason": f"ok {HOSTILE} {SECRET_URL}", "expires": "2999-01-01"}]}),
        encoding="utf-8")
    for fmt in FORMATS:
        result = run_cli("check", str(hostile_dir), "--format", fmt)
        assert result.code in (0, 1), result.stderr
        assert_inert(result.stdout, f"waiver, {fmt}")
        assert_inert(result.stderr, f"waiver, {fmt} (stderr)")


# An unreachable Hub (the connection fails) and an endpoint refused before any request.
ENDPOINTS = {"unreachable": ("https://u:secret@127.0.0.1:1/", 3),
             "not-http": ("ftp://u:secret@127.0.0.1:1/", 2)}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("command", ["model", "facts"])
def test_endpoint_credentials_are_never_printed(command: str, endpoint: str, run_cli: Any,
                                                monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    url, code = ENDPOINTS[endpoint]
    result = run_cli(command, "org/name", "--endpoint", url, "--timeout", "1")
    assert result.code == code, (result.stdout, result.stderr)
    assert "secret" not in result.stderr and "secret" not in result.stdout
    assert_inert(result.stderr, f"{command} --endpoint")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_batch_endpoint_credentials_are_never_printed(endpoint: str, run_cli: Any,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("OPENAUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", ENDPOINTS[endpoint][0])  # the variable, not the option
    ids = tmp_path / "ids.txt"
    ids.write_text("org/name\n", encoding="utf-8")
    result = run_cli("batch", str(ids), "--timeout", "1", "--format", "jsonl")
    assert result.code == ENDPOINTS[endpoint][1], (result.stdout, result.stderr)
    assert "secret" not in result.stderr and "secret" not in result.stdout


# ---- batch reports from a hostile dump --------------------------------------------------------


@pytest.fixture
def hostile_dump(tmp_path: Path) -> Path:
    files = [f"w{ESC_CLEAR}{RLO}.safetensors", "x\n::error::pwned.bin", "README.md"]
    records = [
        {"id": "org/hostile", "type": "model", "sha": "a" * 40, "gated": False,
         "tags": [f"tag{OSC_TITLE}{RLO}"], "siblings": [{"rfilename": f} for f in files],
         "cardData": {"license": "other", "license_name": HOSTILE},
         "files": {"README.md": _card(HOSTILE)}},
        {"id": f"org/bad{ESC_CLEAR}{RLO}{COMMAND}", "type": "model", "siblings": []},
    ]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return dump


@pytest.mark.parametrize("fmt", BATCH_FORMATS)
def test_batch_reports_are_inert(fmt: str, hostile_dump: Path, run_cli: Any) -> None:
    result = run_cli("batch", "--from-dump", str(hostile_dump), "--workers", "1",
                     "--format", fmt)
    assert result.code in (1, 3), result.stderr
    assert_inert(result.stdout, f"batch --format {fmt}")
    assert_inert(result.stderr, f"batch --format {fmt} (stderr)")
    if fmt in ("json", "jsonl"):
        docs = ([json.loads(result.stdout)] if fmt == "json"
                else [json.loads(line) for line in result.stdout.splitlines()])
        assert RLO in json.dumps(docs, ensure_ascii=False)  # escaped, not lost


def test_batch_report_from_a_hostile_journal_is_inert(hostile_dump: Path, run_cli: Any,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run_cli("batch", "--from-dump", str(hostile_dump), "--workers", "1",
                     "--format", "markdown", "--output", str(out))
    assert result.code in (1, 3), result.stderr
    assert_inert(out.read_text(encoding="utf-8"), "markdown report file")
    assert_inert((tmp_path / "report.md.jsonl").read_text(encoding="utf-8"), "journal")
