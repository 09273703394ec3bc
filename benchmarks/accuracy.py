"""Accuracy of openaudit's verdicts and pillars against a labelled corpus of real Hub cards.

Usage: .venv/bin/python benchmarks/accuracy.py CORPUS_DIR [--case SUBSTR] [--json PATH]
       [--workers 4] [--timeout 120]

CORPUS_DIR holds ``cases/<folder>/`` (README.md, meta.json, licence stand-ins) and
``expected.yaml`` (see its README.md). Every case is copied into a temporary fake-Hub root
(``ROOT/{models,datasets}/<ns>/<name>/`` with ``_hub.json`` carrying ``gated``), under
``serve_as`` when meta.json sets it, else ``repo_id``; files listed in meta.json but absent
get a placeholder body (``{}`` for ``.json``, empty otherwise). The root is served by
tests/fakehub.py with ``infer=True``, so the info reply carries the tags and ``library_name``
the real Hub infers. The real CLI then runs once per case, as a subprocess with its own empty
HF_HOME and no token:

    python -m openaudit {model|dataset} ID --format json --endpoint URL --fail-on never

Pillar mapping (label -> pack pillar ids):

* models (osaid-1.0): ``terms`` -> worst of ``use``, ``study``, ``modify``, ``share`` (worst
  first: fail, not-tested, warn, pass, as the engine ranks them); ``parameters`` -> worst of
  ``parameters`` (the files) and ``parameter-terms`` (the weights' licence, which the pack
  counts in the terms group); ``data-information``, ``code`` -> the pillars of the same name.
* datasets (dataset-openness): ``licence`` -> ``licence``; ``licence-consistency`` ->
  ``consistency``; ``provenance``, ``access``, ``personal-data`` -> the same name.

Scoring choices:

* verdicts: exact match; cases labelled ``unsure`` are run and shown in the confusion matrix
  but not scored. A run that yields no report counts as verdict ``error`` (a disagreement).
* pillars are scored on every case, ``unsure`` ones included (their labels are separate).
  A pillar outcome is ``pass`` only when the report says ``pass``. Label ``pass`` is met only
  by ``pass``; label ``fail`` only by ``fail`` (``warn`` and ``not-tested`` do NOT meet it: they
  say "not shown", not "shown absent"); label ``partial`` by anything but ``pass``
  (``fail``, ``warn``, ``not-tested``). A pillar missing from the report is a disagreement.
* deciding rules of a pillar: the report's findings on it that are ``fail``, ``warn`` or
  ``not-tested``, excluding info-severity and waived findings (they never count).

Output is sorted by case; the exit code is 0 unless the harness itself breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakehub import FakeHub  # noqa: E402  (tests/ is not a package)

MODEL_PILLARS: dict[str, tuple[str, ...]] = {
    "terms": ("use", "study", "modify", "share"), "data-information": ("data-information",),
    "code": ("code",), "parameters": ("parameters", "parameter-terms")}
DATASET_PILLARS: dict[str, tuple[str, ...]] = {
    "licence": ("licence",), "licence-consistency": ("consistency",),
    "provenance": ("provenance",), "access": ("access",), "personal-data": ("personal-data",)}
WORST_FIRST = ("fail", "not-tested", "warn", "pass")  # the engine's pillar_outcome order
VERDICTS = ("compliant", "potentially-compliant", "non-compliant", "unsure")
NOT_PASS = ("fail", "warn", "not-tested")
_HF_ENV_PREFIXES = ("HF_", "HUGGING_FACE_", "HUGGINGFACE_", "TRANSFORMERS_")


@dataclass
class Case:
    """One labelled corpus case and where the fake Hub serves it."""

    name: str  # the folder under cases/
    kind: str  # "model" | "dataset"
    serve_id: str
    expected: str
    labels: dict[str, str]


@dataclass
class PillarResult:
    """A labelled pillar: the label, what the report gave, agreement and the deciding rules."""

    label: str
    got: str  # pass | fail | warn | not-tested | missing
    agree: bool
    rules: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class CaseResult:
    """The outcome of one case."""

    case: str
    kind: str
    repo_id: str
    expected: str
    got: str  # the report's verdict, or "error"
    scored: bool
    verdict_agree: bool
    verdict_reason: str
    pillars: dict[str, PillarResult]
    error: str = ""

    @property
    def agrees(self) -> bool:
        """Verdict (when scored) and every pillar agree."""
        return (self.verdict_agree or not self.scored) and all(
            p.agree for p in self.pillars.values())


# ---------------------------------------------------------------------------------------------
# Corpus -> fake-Hub root
# ---------------------------------------------------------------------------------------------


def load_cases(corpus: Path, substr: str | None) -> list[Case]:
    """The cases of expected.yaml (filtered by ``substr`` in the folder name), sorted."""
    entries = yaml.safe_load((corpus / "expected.yaml").read_text("utf-8"))
    cases = []
    for entry in entries:
        if substr and substr.lower() not in entry["case"].lower():
            continue
        meta = json.loads((corpus / "cases" / entry["case"] / "meta.json").read_text("utf-8"))
        cases.append(Case(entry["case"], meta.get("repo_type") or entry.get("repo_type", "model"),
                          meta.get("serve_as") or meta["repo_id"], entry["expected"],
                          dict(entry.get("pillars") or {})))
    return sorted(cases, key=lambda c: c.name)


def placeholder(path: str) -> bytes:
    """Body of a listed file the corpus does not ship: ``{}`` for JSON, else empty."""
    return b"{}" if path.endswith(".json") else b""


def write_case(corpus: Path, case: Case, hub_root: Path) -> None:
    """Lay one case out as ``hub_root/{models,datasets}/<ns>/<name>/`` with ``_hub.json``."""
    src = corpus / "cases" / case.name
    meta = json.loads((src / "meta.json").read_text("utf-8"))
    dest = hub_root / f"{case.kind}s" / case.serve_id
    dest.mkdir(parents=True)
    shipped = {p.relative_to(src).as_posix(): p for p in src.rglob("*")
               if p.is_file() and p.name != "meta.json"}
    for rel in sorted(set(meta.get("files") or []) | set(shipped)):
        if rel.startswith("/") or ".." in rel.split("/") or rel == "_hub.json":
            raise ValueError(f"{case.name}: unsafe file path {rel!r}")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shipped[rel].read_bytes() if rel in shipped else placeholder(rel))
    hub = {"gated": meta["gated"]} if meta.get("gated") is not None else {}
    (dest / "_hub.json").write_text(json.dumps(hub), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------------------------


def cli_env(hf_home: Path) -> dict[str, str]:
    """The environment without any Hub variable (no token), plus an isolated HF_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_HF_ENV_PREFIXES)}
    env.update({"HF_HOME": str(hf_home), "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_XET": "1",
                "NO_COLOR": "1"})
    return env


def run_cli(case: Case, url: str, work: Path, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Audit one case with the real CLI: (the JSON report, or None, and an error note)."""
    hf_home = work / "hf" / case.name
    cmd = [sys.executable, "-m", "openaudit", case.kind, case.serve_id, "--format", "json",
           "--endpoint", url, "--fail-on", "never"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(hf_home),
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g}s"
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return None, f"exit {proc.returncode}, no JSON report: {tail}"
    return report, "" if proc.returncode == 0 else f"exit {proc.returncode}"


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def label_met(label: str, got: str) -> bool:
    """Whether outcome ``got`` satisfies ``label`` (see the module doc)."""
    if label == "partial":
        return got in NOT_PASS
    return got == label


def worst(outcomes: Iterable[str]) -> str:
    """The worst outcome, in the engine's order."""
    present = set(outcomes)
    return next(o for o in WORST_FIRST if o in present)


def deciding_rules(report: dict[str, Any], pillar_ids: tuple[str, ...]) -> list[str]:
    """``rule_id(outcome)`` of the counted non-pass findings on the given pack pillars."""
    return sorted(f"{f['rule_id']}({f['outcome']})" for f in report.get("findings", [])
                  if f.get("pillar") in pillar_ids and f.get("outcome") in NOT_PASS
                  and f.get("severity") != "info" and not f.get("waiver"))


def score_pillar(label: str, report: dict[str, Any] | None,
                 pillar_ids: tuple[str, ...]) -> PillarResult:
    """Score one labelled pillar against the report's pillars it maps to."""
    if report is None:
        return PillarResult(label, "missing", False, note="no report")
    outcomes = {p["id"]: p["outcome"] for p in report.get("pillars", [])}
    if absent := [p for p in pillar_ids if p not in outcomes]:
        return PillarResult(label, "missing", False,
                            note=f"report has no pillar {', '.join(absent)}")
    got = worst(outcomes[p] for p in pillar_ids)
    return PillarResult(label, got, label_met(label, got), deciding_rules(report, pillar_ids))


def score_case(case: Case, report: dict[str, Any] | None, error: str) -> CaseResult:
    """Compare one report with the case's labels."""
    mapping = MODEL_PILLARS if case.kind == "model" else DATASET_PILLARS
    pillars = {}
    order = [*mapping, *sorted(set(case.labels) - set(mapping))]  # the pack's order first
    for name, label in ((n, case.labels[n]) for n in order if n in case.labels):
        if name not in mapping:
            pillars[name] = PillarResult(label, "missing", False,
                                         note=f"label {name!r} has no pillar mapping")
            continue
        pillars[name] = score_pillar(label, report, mapping[name])
    got = str(report["verdict"]) if report else "error"
    return CaseResult(case.name, case.kind, case.serve_id, case.expected, got,
                      case.expected != "unsure", got == case.expected,
                      str(report.get("verdict_reason") or "") if report else "", pillars, error)


def audit_all(corpus: Path, cases: list[Case], workers: int, timeout: float) -> list[CaseResult]:
    """Serve every case from one temporary fake Hub and score the CLI's reports."""
    with tempfile.TemporaryDirectory(prefix="openaudit-accuracy-") as tmp:
        work = Path(tmp)
        for case in cases:
            write_case(corpus, case, work / "hub")
        with FakeHub(work / "hub", infer=True) as hub, ThreadPoolExecutor(workers) as pool:
            runs = list(pool.map(lambda c: run_cli(c, hub.url, work, timeout), cases))
    return [score_case(c, report, err) for c, (report, err) in zip(cases, runs, strict=True)]


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def pct(agreed: int, total: int) -> str:
    """``agreed/total (xx.x%)``."""
    return f"{agreed}/{total} ({100 * agreed / total:.1f}%)" if total else "0/0 (-)"


def summary(results: list[CaseResult]) -> dict[str, Any]:
    """Verdict and per-pillar agreement counts of a group of results."""
    scored = [r for r in results if r.scored]
    per_pillar: dict[str, list[int]] = {}
    for r in results:
        for name, p in r.pillars.items():
            counts = per_pillar.setdefault(name, [0, 0])
            counts[0] += p.agree
            counts[1] += 1
    agreed_p = sum(a for a, _ in per_pillar.values())
    total_p = sum(t for _, t in per_pillar.values())
    return {"cases": len(results), "unsure": len(results) - len(scored),
            "verdict": {"scored": len(scored), "agreed": sum(r.verdict_agree for r in scored)},
            "pillars": {"scored": total_p, "agreed": agreed_p},
            "per_pillar": {k: {"scored": t, "agreed": a} for k, (a, t) in per_pillar.items()}}


def print_summary(title: str, s: dict[str, Any]) -> None:
    """One group's agreement figures."""
    v, p = s["verdict"], s["pillars"]
    print(f"{title}: {s['cases']} cases ({s['unsure']} unsure, not scored)")
    print(f"  verdict agreement: {pct(v['agreed'], v['scored'])}")
    print(f"  pillar agreement:  {pct(p['agreed'], p['scored'])}")
    for name, c in s["per_pillar"].items():
        print(f"    {name:<20} {pct(c['agreed'], c['scored'])}")


def print_confusion(results: list[CaseResult]) -> None:
    """Expected x got verdict counts (rows: expected)."""
    counts = Counter((r.expected, r.got) for r in results)
    cols = [*VERDICTS[:3], *(["error"] if any(g == "error" for _, g in counts) else [])]
    short = {"compliant": "C", "potentially-compliant": "PC", "non-compliant": "NC",
             "unsure": "unsure", "error": "error"}
    print("\nverdict confusion (rows expected, columns got; C compliant, PC potentially-"
          "compliant, NC non-compliant)")
    print(f"  {'':>8}" + "".join(f"{short[c]:>7}" for c in cols))
    for exp in VERDICTS:
        if any(e == exp for e, _ in counts):
            print(f"  {short[exp]:>8}" + "".join(f"{counts.get((exp, c), 0):>7}" for c in cols))


def print_disagreements(results: list[CaseResult]) -> None:
    """Every case whose verdict (when scored) or any pillar disagrees."""
    bad = [r for r in results if not r.agrees]
    print(f"\ndisagreements: {len(bad)} case(s)")
    for r in bad:
        mark = "ok" if r.verdict_agree else ("not scored" if not r.scored else "DISAGREE")
        print(f"\n* {r.case} [{r.kind} {r.repo_id}]")
        print(f"  verdict: expected {r.expected}, got {r.got} ({mark})")
        if r.verdict_reason:
            print(f"    reason: {r.verdict_reason}")
        if r.error:
            print(f"    error: {r.error}")
        for name, p in r.pillars.items():
            flag = "ok " if p.agree else "XX "
            rules = ", ".join(p.rules) if p.rules else "-"
            extra = f" [{p.note}]" if p.note else ""
            print(f"  {flag}{name:<20} expected {p.label:<8} got {p.got:<10} rules: {rules}{extra}")


def dump_json(path: Path, results: list[CaseResult], groups: dict[str, Any]) -> None:
    """Machine-readable results: the summaries and every case."""
    cases = [{**asdict(r), "agrees": r.agrees} for r in results]
    path.write_text(json.dumps({"summary": groups, "cases": cases}, indent=2) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every case, print the figures (and dump JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("corpus", type=Path, help="corpus directory (cases/, expected.yaml)")
    ap.add_argument("--case", help="run only cases whose folder name contains SUBSTR")
    ap.add_argument("--json", type=Path, help="write machine-readable results to PATH")
    ap.add_argument("--workers", type=int, default=4, help="concurrent CLI runs (default 4)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per CLI run")
    args = ap.parse_args(argv)
    cases = load_cases(args.corpus, args.case)
    if not cases:
        print("no case matches", file=sys.stderr)
        return 0
    results = audit_all(args.corpus, cases, max(1, args.workers), args.timeout)
    groups = {name: summary([r for r in results if kind in ("", r.kind)])
              for name, kind in (("models", "model"), ("datasets", "dataset"), ("overall", ""))}
    for name, s in groups.items():
        if s["cases"]:
            print_summary(name, s)
    print_confusion(results)
    print_disagreements(results)
    if args.json:
        dump_json(args.json, results, groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
