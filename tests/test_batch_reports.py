"""Batch report renderers on real records: the golden fixture repos and examples, audited."""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import json
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from browser import console_errors, headless_chromium
from openaudit.local import detect_repo_type
from openaudit.models import RepoType
from openaudit.packs import load_ruleset
from openaudit.pipeline import audit_folder
from openaudit.records import audit_record, error_record, is_error, record_key
from openaudit.render.batch import BatchFormat, batch_renderer_for
from openaudit.render.batch.csv_report import safe_cell

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "tests" / "fixtures" / "hub"
VERDICTS = ("compliant", "potentially-compliant", "non-compliant")

EVIL_ID = "evil/<script>window.__pwned=1</script>"
EVIL_EXCERPT = "</q><script>window.__pwned=2</script><img src=x>"
WAIVER = "Accepted by the release board: the <b>data</b> card lands next month"
FORMULA_ID = "=HYPERLINK(\"http://attacker\")"
Record = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Real records
# ---------------------------------------------------------------------------------------------

def _audit(path: Path, repo_id: str, repo_type: RepoType) -> Record:
    report = audit_folder(path, repo_type, RULESET).report
    return audit_record(replace(report, target=replace(report.target, repo_id=repo_id)))


RULESET = load_ruleset()


def _fixture_records() -> list[Record]:
    records = [_audit(path, f"{path.parent.name}/{path.name}", repo_type)
               for kind, repo_type in (("models", RepoType.MODEL), ("datasets", RepoType.DATASET))
               for path in sorted((HUB / kind).glob("*/*"))]
    examples = sorted(p for p in (ROOT / "examples").iterdir() if (p / "README.md").is_file())
    return records + [_audit(p, f"examples/{p.name}", detect_repo_type(p)) for p in examples]


def _special_records(base: list[Record]) -> list[Record]:
    """A malicious repo id, an injected excerpt, a waiver, and repos that could not be audited."""
    evil = copy.deepcopy(next(r for r in base if r["verdict"] == "non-compliant"))
    evil["repo_id"] = EVIL_ID
    failing = next(f for f in evil["findings"] if f["outcome"] == "fail" and f["evidence"])
    failing["evidence"][0]["excerpt"] = EVIL_EXCERPT
    failing["waiver"] = WAIVER
    return [
        evil,
        error_record("ghost-org/missing-model", RepoType.MODEL, None, "not-found",
                     "Repository not found; did you mean ghost-org/missing-models?"),
        error_record("<img src=x onerror=alert(1)>/x", RepoType.MODEL, "main", "timeout",
                     "<script>alert('m')</script> took longer than 20 s"),
        error_record(FORMULA_ID, RepoType.DATASET, "-rev", "server-error",
                     "+SUM(1;2) | pipes\nand a line break"),
    ]


@pytest.fixture(scope="module")
def records() -> list[Record]:
    base = _fixture_records()
    return base + _special_records(base)


def render(fmt: BatchFormat, records: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    batch_renderer_for(fmt).render(records, out)
    return out.getvalue()


def sorted_records(records: Sequence[Record]) -> list[Record]:
    return sorted(records, key=record_key)


def audited(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if not is_error(r)]


def failed(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if is_error(r)]


def expected_pillar_ids() -> list[str]:
    """Pillar columns: dataset pack then model pack (rows sort by repo type), in pack order."""
    ids = [p.id for p in RULESET.pack_for(RepoType.DATASET).pillars]
    return ids + [p.id for p in RULESET.pack_for(RepoType.MODEL).pillars if p.id not in ids]


def test_the_records_cover_every_verdict_and_both_repo_types(records: list[Record]) -> None:
    verdicts = Counter(r["verdict"] for r in audited(records))
    assert set(verdicts) == set(VERDICTS)
    assert {r["repo_type"] for r in audited(records)} == {"model", "dataset"}
    assert len(failed(records)) == 3


# ---------------------------------------------------------------------------------------------
# Every format
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(BatchFormat))
def test_output_is_byte_identical_whatever_the_record_order(fmt: BatchFormat,
                                                            records: list[Record]) -> None:
    reference = render(fmt, sorted_records(records))
    for seed in range(3):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert render(fmt, shuffled) == reference
    assert render(fmt, list(reversed(records))) == reference


@pytest.mark.parametrize("fmt", list(BatchFormat))
def test_duplicate_records_still_sort_deterministically(fmt: BatchFormat,
                                                        records: list[Record]) -> None:
    one = audited(records)[0]
    twin = copy.deepcopy(one)
    twin["verdict_reason"] = "a different run of the same repo"
    assert render(fmt, [one, twin]) == render(fmt, [twin, one])


@pytest.mark.parametrize("fmt", list(BatchFormat))
def test_an_empty_batch_renders(fmt: BatchFormat) -> None:
    text = render(fmt, [])
    if fmt is BatchFormat.JSONL:
        assert text == ""
    elif fmt is BatchFormat.CSV:
        assert text == ("repo_type,repo_id,revision,sha,verdict,reason_families,gaps,"
                        "fail,warn,not-tested,error_kind,error_message\n")
    elif fmt is BatchFormat.JSON:
        assert json.loads(text)["summary"]["total"] == 0
    else:
        assert re.search(r"\b0\b", text) and "repo" in text.lower()


# ---------------------------------------------------------------------------------------------
# JSONL and JSON
# ---------------------------------------------------------------------------------------------

def test_jsonl_is_one_compact_sorted_record_per_line(records: list[Record]) -> None:
    lines = render(BatchFormat.JSONL, records).splitlines()
    assert [json.loads(line) for line in lines] == sorted_records(records)
    assert all(": " not in line.split('"record_version"')[0] for line in lines)
    assert all(line.startswith('{"record_version":"1.0"') for line in lines)


def test_json_document_holds_the_summary_and_sorted_records(records: list[Record]) -> None:
    doc = json.loads(render(BatchFormat.JSON, records))
    assert doc["schema"] == "openaudit-batch/1.0"
    assert doc["records"] == sorted_records(records)
    summary = doc["summary"]
    verdicts = Counter(r["verdict"] for r in audited(records))
    assert summary["verdicts"] == {v: verdicts[v] for v in VERDICTS}
    assert summary["total"] == len(records)
    assert summary["audited"] == len(audited(records))
    assert summary["not_audited"] == 3
    families = Counter(f for r in audited(records) for f in r["reason_families"])
    assert summary["reason_families"] == dict(sorted(families.items()))
    assert [(f["repo_type"], f["repo_id"], f["kind"]) for f in summary["failed"]] == sorted(
        (r["repo_type"], r["repo_id"], r["error"]["kind"]) for r in failed(records))
    assert summary["rulesets"] == sorted(
        {f"{r['ruleset']['pack']} {r['ruleset']['version']} "
         f"(ruleset digest {r['ruleset']['digest']})" for r in audited(records)})


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------

def _csv_rows(records: Sequence[Record]) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(render(BatchFormat.CSV, records)))
    rows = list(reader)
    return list(reader.fieldnames or ()), rows


def test_csv_has_stable_columns_with_one_per_pillar(records: list[Record]) -> None:
    header, rows = _csv_rows(records)
    assert header == ["repo_type", "repo_id", "revision", "sha", "verdict", "reason_families",
                      "gaps", *expected_pillar_ids(), "fail", "warn", "not-tested",
                      "error_kind", "error_message"]
    assert len(rows) == len(records)


def test_csv_values_match_the_records(records: list[Record]) -> None:
    _, rows = _csv_rows(records)
    by_key = {(row["repo_type"], row["repo_id"]): row for row in rows}
    for record in audited(records):
        row = by_key[record_key(record)]
        assert row["verdict"] == record["verdict"]
        assert row["gaps"] == ";".join(record["gaps"])
        assert row["reason_families"] == ";".join(record["reason_families"])
        assert row["sha"] == (record["sha"] or "")
        for pillar in record["pillars"]:
            assert row[pillar["id"]] == pillar["outcome"]
        others = set(expected_pillar_ids()) - {p["id"] for p in record["pillars"]}
        assert all(row[p] == "" for p in others)
        assert [int(row[o]) for o in ("fail", "warn", "not-tested")] == [
            record["summary"][o] for o in ("fail", "warn", "not-tested")]
        assert row["error_kind"] == row["error_message"] == ""
    missing = by_key[("model", "ghost-org/missing-model")]
    assert missing["verdict"] == missing["use"] == missing["fail"] == ""
    assert missing["error_kind"] == "not-found"
    assert missing["error_message"].startswith("Repository not found")


def test_csv_defuses_formula_injection(records: list[Record]) -> None:
    _, rows = _csv_rows(records)
    row = next(r for r in rows if r["repo_type"] == "dataset" and r["error_kind"])
    assert row["repo_id"] == "'" + FORMULA_ID
    assert row["revision"] == "'-rev"
    assert row["error_message"] == "'+SUM(1;2) | pipes\nand a line break"
    for cells in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in cells.values())
    assert [safe_cell(v) for v in ("@x", "\tx", "a=b", "", None, 3)] == [
        "'@x", "'\tx", "a=b", "", "", "3"]


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------

def _table_cells(line: str) -> list[str]:
    """Cells of a GFM table row (an escaped ``\\|`` is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(_table_cells(line))
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_tables_are_well_formed(records: list[Record]) -> None:
    text = render(BatchFormat.MARKDOWN, records)
    tables = _markdown_tables(text)
    assert len(tables) == 3  # summary, audited repos, not audited
    for table in tables:
        width = len(table[0])
        assert all(len(row) == width for row in table), table[0]
        assert all(re.fullmatch(r":?-{3,}:?", c) for c in table[1])
    summary, repos, errors = tables
    counts = Counter(r["verdict"] for r in audited(records))
    assert [row[1] for row in summary[2:]] == [
        *(str(counts[v]) for v in VERDICTS), "3", f"**{len(records)}**"]
    assert repos[0][3:-4] == expected_pillar_ids()
    assert len(repos) - 2 == len(audited(records))
    assert len(errors) - 2 == 3


def test_markdown_rows_show_pillar_icons_and_escape_markup(records: list[Record]) -> None:
    text = render(BatchFormat.MARKDOWN, records)
    _, repos, errors = _markdown_tables(text)
    pillars = expected_pillar_ids()
    lumen = next(r for r in repos if r[0] == "lanternworks/lumen-1.4b")
    assert lumen[2] == "✅ compliant"
    assert lumen[3:3 + len(pillars)] == [
        "—" if p not in {"use", "study", "modify", "share", "data-information", "code",
                         "parameters", "parameter-terms"} else "✅" for p in pillars]
    assert "<script" not in text and "<img" not in text
    assert "evil/&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;" in text
    formula = next(r for r in errors if r[2] == "server-error")
    assert formula[3] == "+SUM(1;2) \\| pipes and a line break"
    assert "### Not audited (3)" in text


def test_markdown_cells_notify_nobody_and_link_nowhere(records: list[Record]) -> None:
    hostile = "cc @octocat @acme/team: see https://x.example and www.x.example, fixes #12"
    text = render(BatchFormat.MARKDOWN, [*records, error_record(
        "acme/m", RepoType.MODEL, None, "server-error", hostile)])
    row = next(r for r in _markdown_tables(text)[2] if r[0] == "acme/m")
    assert row[3].replace("\u2060", "") == hostile  # the same visible text
    for shown in (row[3], text):
        assert not re.search(r"@[A-Za-z0-9]|#\d|[a-z]://|www\.", shown, re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Rich table
# ---------------------------------------------------------------------------------------------

def test_table_lists_counts_and_every_repo(records: list[Record]) -> None:
    from openaudit.render.batch.table import BatchTableRenderer

    mixed = [*records, error_record("[bold]markup[/bold]/x", RepoType.MODEL, None, "network",
                                    "connection reset")]
    out = io.StringIO()
    BatchTableRenderer(width=220).render(mixed, out)
    text = out.getvalue()
    counts = Counter(r["verdict"] for r in audited(records))
    for verdict in VERDICTS:
        assert re.search(rf"│ {verdict} +│ +{counts[verdict]} │", text)
    assert re.search(r"│ not audited +│ +4 │", text)
    for record in mixed:
        assert record["repo_id"] in text
    assert "[bold]markup[/bold]/x" in text
    assert "network: connection reset" in text
    assert "\x1b[" not in text  # no colour codes off a terminal


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_VOID = {"meta", "input", "br", "img", "link", "hr", "rect", "col", "wbr"}


class _TagChecker(HTMLParser):
    """Checks that every element closes in order; collects tags and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def _parsed(html: str) -> _TagChecker:
    checker = _TagChecker()
    checker.feed(html)
    checker.close()
    return checker


def test_html_is_well_formed_and_escapes_everything(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    parsed = _parsed(html)
    assert parsed.problems == [] and parsed.stack == []
    assert [tag for tag, _ in parsed.tags].count("script") == 1
    assert not [tag for tag, _ in parsed.tags if tag == "img"]
    assert "evil/&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;/q&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;&lt;img src=x&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;/x" in html
    assert f'data-repo="{EVIL_ID.replace("<", "&lt;").replace(">", "&gt;")}"' in html


def test_html_is_self_contained_with_a_strict_csp(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    tags = _parsed(html).tags
    assert not [t for t, _ in tags if t in {"link", "iframe", "object", "embed", "img"}]
    for tag, attrs in tags:
        for name in ("src", "href", "srcset", "action", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert style and script
    assert not re.search(r"url\(|@import|https?://", style[1] + script[1])
    assert not re.search(r"fetch\(|XMLHttpRequest|WebSocket|import\(", script[1])
    csp = next(a["content"] for t, a in tags
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and csp.startswith("default-src 'none';")

    def sha(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"style-src 'sha256-{sha(style[1])}'" in csp
    assert f"script-src 'sha256-{sha(script[1])}'" in csp
    assert "unsafe-inline" not in csp
    assert not [a for _, a in tags if any(k.startswith("on") or k == "style" for k in a)]


def test_html_chart_shows_the_verdict_counts(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    bars = re.findall(r'<g class="bar [^"]*" data-verdict="([^"]+)" data-count="(\d+)">'
                      r'.*?class="bar-count"[^>]*>(\d+) \(', html, re.S)
    counts = Counter(r["verdict"] for r in audited(records))
    expected = [*((v, counts[v]) for v in VERDICTS), ("not audited", 3)]
    assert [(v, int(n)) for v, n, _ in bars] == expected
    assert [int(shown) for _, _, shown in bars] == [n for _, n in expected]
    desc = re.search(r'<desc id="chart-desc">(.*?)</desc>', html)
    assert desc and desc[1] == "; ".join(f"{v}: {n}" for v, n in expected) + \
        f" (of {len(records)} repos)"
    assert 'role="img"' in html and 'aria-labelledby="chart-title chart-desc"' in html


def test_html_table_rows_details_and_errors(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    rows = re.findall(r'<tr data-repo="([^"]*)" data-verdict="([^"]*)">', html)
    assert len(rows) == len(audited(records))
    heads = re.search(r'<table id="repos">.*?<thead><tr>(.*?)</tr>', html, re.S)
    assert heads
    assert re.findall(r">([^<>]+)</th>", heads[1]) == [
        "Repo", "Type", "Verdict", "Gaps", *expected_pillar_ids(), "Fail", "Warn", "Not tested"]
    assert html.count('<details class="repo"') == len(audited(records))
    assert "<strong>Waived:</strong> Accepted by the release board: the &lt;b&gt;data&lt;/b&gt;" \
        in html
    not_audited = re.search(r'<table id="not-audited">(.*?)</table>', html, re.S)
    assert not_audited and not_audited[1].count("<tr>") == 4  # header + 3 repos
    assert "<code>not-found</code>" in not_audited[1]
    assert "&lt;script&gt;alert(&#x27;m&#x27;)&lt;/script&gt; took longer" in not_audited[1]
    # Without JS: the controls stay hidden and every row is shown.
    assert '<div class="controls" id="controls" hidden>' in html
    assert "<tr hidden" not in html


def test_html_shows_each_pillar_outcome_as_text(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    row = re.search(r'<tr data-repo="lanternworks/lumen-1.4b".*?</tr>', html)
    assert row
    assert row[0].count('<span class="o o-pass"><span aria-hidden="true">✓</span> pass</span>') \
        == 8  # the eight OSAID pillars
    assert row[0].count('<td class="pillar na" data-sort="9">—</td>') == \
        len(expected_pillar_ids()) - 8


def test_html_has_no_timestamp(records: list[Record]) -> None:
    html = render(BatchFormat.HTML, records)
    assert not re.search(r"\b20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d", html)


# ---------------------------------------------------------------------------------------------
# HTML in a real headless browser
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def html_file(records: list[Record], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "batch.html"
    path.write_text(render(BatchFormat.HTML, records), encoding="utf-8")
    return path


def _visible_repos(driver: Any) -> list[str]:
    script = ("return Array.from(document.querySelectorAll('#repos tbody tr'))"
              ".filter(r => !r.hidden).map(r => r.getAttribute('data-repo'));")
    return list(driver.execute_script(script))


def _click_header(driver: Any, label: str) -> None:
    from selenium.webdriver.common.by import By

    buttons = driver.find_elements(By.CSS_SELECTOR, "#repos thead th button.sort")
    next(b for b in buttons if b.text.split(" ")[0] == label).click()


def test_html_report_works_in_a_real_browser(html_file: Path, records: list[Record],
                                             tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    done = sorted_records(audited(records))
    ids = [r["repo_id"] for r in done]
    with headless_chromium(tmp_path / "profile") as driver:
        driver.get(html_file.as_uri())
        assert driver.title == f"openaudit batch report: {len(records)} repo(s)"
        assert console_errors(driver) == []

        counts = Counter(r["verdict"] for r in done)
        bars = driver.find_elements(By.CSS_SELECTOR, "#verdict-chart g.bar")
        shown = {b.get_attribute("data-verdict"):
                 b.find_element(By.CSS_SELECTOR, ".bar-count").text for b in bars}
        assert shown == {**{v: f"{counts[v]} ({100 * counts[v] / len(records):.0f}%)"
                            for v in VERDICTS},
                         "not audited": f"3 ({300 / len(records):.0f}%)"}

        assert _visible_repos(driver) == ids
        _click_header(driver, "Verdict")
        rank = {v: i for i, v in enumerate(VERDICTS)}
        by_verdict = sorted(done, key=lambda r: rank[r["verdict"]])  # stable: ties keep id order
        assert _visible_repos(driver) == [r["repo_id"] for r in by_verdict]
        verdict_th = driver.find_elements(By.CSS_SELECTOR, "#repos thead th")[2]
        assert verdict_th.get_attribute("aria-sort") == "ascending"
        _click_header(driver, "Verdict")
        assert verdict_th.get_attribute("aria-sort") == "descending"
        assert [r["verdict"] for r in done if r["repo_id"] == _visible_repos(driver)[0]] == [
            "non-compliant"]
        _click_header(driver, "Fail")
        fails = [next(r["summary"]["fail"] for r in done if r["repo_id"] == repo)
                 for repo in _visible_repos(driver)]
        assert fails == sorted(fails)
        _click_header(driver, "Repo")
        assert _visible_repos(driver) == sorted(ids, key=str.lower)

        box = driver.find_element(By.ID, "filter-repo")
        box.send_keys("EDGE-cases/")
        expected = [i for i in sorted(ids, key=str.lower) if "edge-cases/" in i]
        assert len(expected) > 3
        assert _visible_repos(driver) == expected
        assert driver.find_element(By.ID, "shown").text == \
            f"{len(expected)} of {len(ids)} repos shown"

        verdict = Select(driver.find_element(By.ID, "filter-verdict"))
        verdict.select_by_value("potentially-compliant")
        assert _visible_repos(driver) == [
            i for i in expected
            if next(r["verdict"] for r in done if r["repo_id"] == i) == "potentially-compliant"]
        box.clear()
        box.send_keys(" ")  # clear() fires no input event; a blank query matches everything
        verdict.select_by_value("compliant")
        assert sorted(_visible_repos(driver)) == sorted(
            r["repo_id"] for r in done if r["verdict"] == "compliant")
        verdict.select_by_value("")
        assert len(_visible_repos(driver)) == len(ids)

        evil = driver.find_element(By.CSS_SELECTOR, '#repos tr[data-repo^="evil/"] a')
        assert evil.text == EVIL_ID
        assert driver.execute_script("return window.__pwned === undefined")
        evil.click()
        details = driver.find_element(By.ID, evil.get_attribute("href").split("#")[1])
        assert details.get_attribute("open") is not None
        assert EVIL_EXCERPT in details.text
        assert driver.execute_script("return window.__pwned === undefined")

        errors = driver.find_element(By.ID, "not-audited")
        assert "<img src=x onerror=alert(1)>/x" in errors.text
        assert console_errors(driver) == []


def test_html_report_is_a_plain_table_without_javascript(html_file: Path, records: list[Record],
                                                         tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with headless_chromium(tmp_path / "profile", javascript=False) as driver:
        driver.get(html_file.as_uri())
        assert not driver.find_element(By.ID, "controls").is_displayed()
        rows = driver.find_elements(By.CSS_SELECTOR, "#repos tbody tr")
        assert len(rows) == len(audited(records))
        assert all(row.is_displayed() for row in rows)
        assert not driver.find_elements(By.CSS_SELECTOR, "th button")


# ---------------------------------------------------------------------------------------------
# Through `openaudit batch`, against the loopback fake Hub
# ---------------------------------------------------------------------------------------------

BATCH_IDS = ("lanternworks/lumen-1.4b", "bramble-labs/bramble-2-7b",
             "codeforge-collab/forgecoder2-15b", "dataset:quillhouse/commons-prose",
             "nobody/no-such-model")


@pytest.mark.e2e
@pytest.mark.parametrize("fmt", [BatchFormat.HTML, BatchFormat.CSV, BatchFormat.MARKDOWN])
def test_batch_command_writes_the_report_of_its_records(fmt: BatchFormat, hub_env: Any,
                                                        run_cli: Any, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(BATCH_IDS) + "\n", encoding="utf-8")
    out = tmp_path / f"batch.{fmt.value}"
    result = run_cli("batch", str(ids), "--format", fmt.value, "--output", str(out),
                     "--fail-on", "never")
    assert result.code == 3  # one repo could not be audited
    journal = [json.loads(line) for line in
               (tmp_path / f"{out.name}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(journal) == len(BATCH_IDS)
    report = out.read_text(encoding="utf-8")
    assert report == render(fmt, journal)
    assert "nobody/no-such-model" in report
    if fmt is BatchFormat.HTML:
        verdicts = Counter(r["verdict"] for r in audited(journal))
        assert verdicts == {"compliant": 2, "non-compliant": 1, "potentially-compliant": 1}
        assert 'data-verdict="not audited" data-count="1"' in report
        assert 'data-verdict="compliant" data-count="2"' in report
