"""`openaudit batch`: parse options, run the batch, print the summary, exit. No logic here.

Registered on the main app by ``register`` (called at the end of cli.py). Everything heavy is
imported inside the command so that `openaudit --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from openaudit.errors import FetchError, OpenAuditError, UsageError
from openaudit.exit_codes import ExitCode, FailOn, exit_code_for
from openaudit.models import RepoType, Verdict
from openaudit.sanitize import say

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from openaudit.batch.output import BatchOutput
    from openaudit.batch.runner import Selection
    from openaudit.packs import Ruleset
    from openaudit.policy import Policy
    from openaudit.records import RecordBlock
    from openaudit.waivers import Waiver

EPILOG = ("Examples: openaudit batch ids.txt --format jsonl --output audit.jsonl · "
          "openaudit batch --author my-org --format markdown · "
          "openaudit batch ids.txt --output audit.jsonl --format jsonl --resume · "
          "openaudit batch --author my-org --config .openaudit.yaml · "
          "Exit codes: 0 every verdict passes --fail-on; 1 one fails it; 2 usage error; "
          "3 a repo could not be audited.")


def register(app: typer.Typer) -> None:
    """Add the `batch` command to the main app."""
    app.command("batch", epilog=EPILOG)(batch)


def batch(
    ids_file: Annotated[str | None, typer.Argument(
        metavar="IDS_FILE|-", help="Repo ids, one per line (# comments, 'dataset:' prefix), "
        "or - for stdin.", show_default=False)] = None,
    author: Annotated[list[str] | None, typer.Option(
        "--author", help="List this user's or organisation's repos from the Hub. Repeatable.",
        show_default=False)] = None,
    search: Annotated[str | None, typer.Option(
        "--search", help="List repos whose id contains this text.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="Audit at most this many listed repos.", show_default=False)] = None,
    repo_type: Annotated[str | None, typer.Option(
        "--type", help="model or dataset: ids without a prefix, and listings (default model).",
        show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", min=1, max=64, help="Repos fetched in parallel.")] = 8,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="table, jsonl, json, markdown, csv or html.")] = "table",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here instead of stdout (jsonl: records as they finish; "
        "other formats: report at the end, records journaled in OUTPUT.jsonl).",
        show_default=False)] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Skip repos already audited in --output (errors are retried).")] = False,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Answer from the audit cache only; make no request.")] = False,
    fail_on: Annotated[FailOn | None, typer.Option(
        "--fail-on", help="Lowest verdict that makes the exit code 1 (default: the --config "
        "policy's fail_on, else non-compliant).", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Project policy (.openaudit.yaml: rules, fail_on, waivers) applied to "
        "every repo; waiver targets match repo ids.", show_default=False)] = None,
    rules: Annotated[list[Path] | None, typer.Option(
        "--rules", help="Extra rule file, vocabulary extension or replacement pack directory. "
        "Repeatable.",
        show_default=False)] = None,
    token: Annotated[str | None, typer.Option(
        "--token", help="Hub token (default: HF_TOKEN or the stored login). Never printed.",
        show_default=False)] = None,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co).",
        show_default=False)] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, help="Seconds to wait for each Hub request.")] = 20.0,
    from_dump: Annotated[Path | None, typer.Option(
        "--from-dump", help="Judge a metadata dump (JSONL, JSONL.gz, Parquet) instead of the Hub.",
        show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes for --from-dump (default: every core).",
        show_default=False)] = None,
) -> None:
    """Audit many repos: from an id list, a Hub listing (--author, --search) or a dump.

    Records are written as each repo finishes (jsonl: completion order); reports and the summary
    on stderr are sorted. A repo that cannot be audited gets an error record and never stops
    the batch.
    """
    from openaudit.cli import _fail

    try:
        _run(ids_file, tuple(author or ()), search, limit, repo_type, concurrency, fmt, output,
             resume, offline, fail_on, config, tuple(rules or ()), token, endpoint, timeout,
             from_dump, workers)
    except OpenAuditError as exc:
        try:
            _fail(exc)
        except typer.Exit as done:
            _exit_now_if_workers_linger(done.exit_code)  # e.g. a write error mid-batch
            raise
    except BrokenPipeError:  # e.g. `| head`: the reader left; stop quietly, the batch is cut
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
        _exit_now_if_workers_linger(int(ExitCode.NOT_AUDITED))
        raise typer.Exit(int(ExitCode.NOT_AUDITED)) from None


def _run(ids_file: str | None, authors: tuple[str, ...], search: str | None, limit: int | None,
         repo_type: str | None, concurrency: int, fmt: str, output: Path | None, resume: bool,
         offline: bool, fail_on: FailOn | None, config: Path | None, rules: tuple[Path, ...],
         token: str | None,
         endpoint: str | None, timeout: float, from_dump: Path | None,
         workers: int | None) -> None:
    from rich.console import Console

    from openaudit.batch.output import BatchOutput, refuse_overwriting_inputs
    from openaudit.batch.progress import BatchProgress, summary_text
    from openaudit.batch.waiver_use import WaiverUse
    from openaudit.hub import validate_endpoint, validate_token
    from openaudit.policy import effective_fail_on
    from openaudit.records import is_error, summarize

    kind = _kind(repo_type)
    output = None if output == Path("-") else output  # `-o -`: stdout, as without --output
    _check_options(fmt, output, resume, from_dump, bool(ids_file or authors or search or offline
                                                        or limit), workers)
    inputs = [Path(f) for f in (ids_file, from_dump, config) if f is not None and f != "-"]
    refuse_overwriting_inputs(fmt, output, [*inputs, *rules])
    validate_token(token)
    if from_dump is None and not offline:
        validate_endpoint(endpoint or os.environ.get("HF_ENDPOINT") or None)
    selection = None if from_dump else _selection(ids_file, authors, search, limit, kind)
    policy, rules, ruleset = _policy_and_rules(config, rules)
    waivers = policy.waivers if policy is not None else ()
    threshold = effective_fail_on(fail_on, policy)
    use = WaiverUse(waivers)
    # A dump that cannot be read is a usage error before --output is opened (and truncated).
    dump = None if from_dump is None else _open_dump(from_dump, rules, workers,
                                                     None if repo_type is None else kind, waivers,
                                                     blocks=fmt == "jsonl")
    out = BatchOutput(fmt, output, resume=resume, stdout=sys.stdout)
    progress = BatchProgress(Console(stderr=True))
    problems: list[str] = []
    in_dump = -1  # records the dump holds (with --resume, skipped ones too)

    def emit(record: Mapping[str, Any]) -> None:
        out.write(record)
        progress.done(record)
        use.see(record)

    def emit_block(block: RecordBlock) -> None:
        out.write_block(block)
        for summary in block.summaries:
            progress.queued()
            progress.done(summary)
            use.see(summary)

    try:
        if dump is not None:
            in_dump = _run_dump(dump, out, emit, emit_block, progress)
        else:
            assert selection is not None
            problems = _run_hub(selection, ruleset, waivers, concurrency, offline, token,
                                endpoint, timeout, out, emit, progress)
    except KeyboardInterrupt:
        progress.close()
        out.close()
        say(f"openaudit: interrupted: {_interrupted(out)}\n")
        _exit_now_if_workers_linger(130)
        raise typer.Exit(130) from None
    progress.close()
    records = out.finish()
    if in_dump == 0:  # "0 repo(s)" and exit 0 would read as a pass
        raise FetchError(f"nothing to audit: the dump {from_dump} holds no record",
                         "export the dump again, or check that the right file was given")
    summary = summarize(records)
    say(summary_text(summary, problems))  # repo ids and error messages from the records
    if policy is not None and not resume:  # a resumed run did not see the earlier findings
        for note in use.notes(policy.path):
            say(f"openaudit: note: {note}\n")
    verdicts = [_verdict(r) for r in records if not is_error(r)]
    code = exit_code_for(verdicts, threshold, not_audited=len(summary.failed) + len(problems))
    raise typer.Exit(int(code))


def _check_options(fmt: str, output: Path | None, resume: bool, from_dump: Path | None,
                   hub_selection: bool, workers: int | None) -> None:
    """Option combinations that cannot work: usage errors before anything is read."""
    from openaudit.render.batch import BatchFormat  # the enum only; renderers load lazily

    if fmt not in set(BatchFormat):
        raise UsageError(f"unknown format '{fmt}'",
                         "use one of: " + ", ".join(f.value for f in BatchFormat))
    if resume and output is None:
        raise UsageError("--resume needs --output", "resume reads the records already "
                         "written to the --output file")
    if from_dump is not None and hub_selection:
        raise UsageError("--from-dump cannot be combined with ids, --author, --search, "
                         "--limit or --offline", "a dump is judged on its own, with no request")
    if workers is not None and from_dump is None:
        raise UsageError("--workers is for --from-dump", "use --concurrency for Hub requests")


def _policy_and_rules(config: Path | None,
                      rules: tuple[Path, ...]) -> tuple[Policy | None, tuple[Path, ...], Ruleset]:
    """The --config policy (checked against the rules it loads), the rule paths, the rules."""
    from openaudit.packs import load_ruleset
    from openaudit.policy import check_policy, load_policy, rule_paths, today_from_env

    policy = load_policy(config) if config is not None else None
    paths = rule_paths(policy, rules)
    ruleset = load_ruleset(paths)  # rule and policy errors surface before any request is made
    if policy is not None:
        check_policy(policy, ruleset, today_from_env(os.environ))
    return policy, paths, ruleset


def _interrupted(out: BatchOutput) -> str:
    """What Ctrl-C leaves behind, and how to go on."""
    if out.journal_file is not None:
        return (f"{out.written} record(s) written to {out.journal_file}; run the same command "
                "with --resume to finish")
    if out.fmt == "jsonl":
        return f"{out.written} record(s) written to stdout"
    return (f"{out.written} repo(s) audited but no report written (it comes at the end); "
            "with --output FILE the records are kept as they finish and --resume goes on")


def _exit_now_if_workers_linger(code: int) -> None:
    """Ctrl-C, a reader gone or a write error must not wait for requests still in flight (up to
    --timeout each): every record is already on disk, so leave at once rather than join the
    worker threads at exit."""
    import threading

    if any(t.name.startswith("openaudit") and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_hub(selection: Selection, ruleset: Any, waivers: tuple[Waiver, ...], concurrency: int,
             offline: bool,
             token: str | None, endpoint: str | None, timeout: float, out: BatchOutput,
             emit: Any, progress: Any) -> list[str]:
    from openaudit.batch.cache import AuditCache
    from openaudit.batch.runner import BatchRunner
    from openaudit.hub import HubOptions, cache_root

    options = HubOptions(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None,
                         token=token, offline=offline, timeout=timeout)
    runner = BatchRunner(ruleset, options, emit, cache=AuditCache(cache_root()), skip=out.done,
                         concurrency=concurrency, on_queued=progress.queued, waivers=waivers)
    if offline:
        runner.run_offline(selection)
    else:
        runner.run(selection)
    return runner.problems


def _open_dump(path: Path, rules: tuple[Path, ...], workers: int | None,
               repo_type: RepoType | None, waivers: tuple[Waiver, ...],
               blocks: bool) -> Iterator[Any]:
    """The dump's records (with ``blocks``: record blocks, for a streamed jsonl run), lazily;
    raises UsageError now if the dump cannot be read."""
    from openaudit.dump import run_dump, run_dump_blocks

    run = run_dump_blocks if blocks else run_dump
    return run(path, rules, workers=workers, repo_type=repo_type, waivers=waivers)


def _run_dump(results: Iterator[Any], out: BatchOutput, emit: Any, emit_block: Any,
              progress: Any) -> int:
    """Write the dump's records (those --resume does not skip); returns how many it holds."""
    from openaudit.records import RecordBlock, record_key

    skip = out.done
    seen = 0
    for result in results:
        if not isinstance(result, RecordBlock):
            seen += 1
            if record_key(result) not in skip:
                progress.queued()
                emit(result)
            continue
        seen += len(result.summaries)
        if skip:  # --resume: keep only the records not yet audited
            kept = [(line, summary) for line, summary in zip(result.lines(), result.summaries,
                                                             strict=True)
                    if record_key(summary) not in skip]
            result = RecordBlock(b"".join(line for line, _ in kept), [s for _, s in kept])
        if result.summaries:
            emit_block(result)
    return seen


def _selection(ids_file: str | None, authors: tuple[str, ...], search: str | None,
               limit: int | None, kind: RepoType) -> Selection:
    from openaudit.batch.ids import read_ids_file
    from openaudit.batch.runner import Selection

    refs = read_ids_file(ids_file, kind, sys.stdin) if ids_file is not None else []
    if not refs and not authors and not search:
        where = f"no repo ids in {'stdin' if ids_file == '-' else ids_file}" if ids_file else \
            "nothing to audit"
        raise UsageError(where, "give an id file (or - for stdin), --author, --search or "
                         "--from-dump")
    for author in authors:
        if not author or "/" in author or not author.replace("-", "").replace("_", "").replace(
                ".", "").isalnum():
            raise UsageError(f"'{author}' is not a user or organisation name",
                             "use --author NAME, e.g. --author my-org")
    return Selection(tuple(refs), authors, search or None, kind, limit)


def _kind(value: str | None) -> RepoType:
    if value is None:
        return RepoType.MODEL
    try:
        return RepoType(value)
    except ValueError:
        raise UsageError(f"unknown repo type '{value}'", "use --type model or dataset") from None


def _verdict(record: Mapping[str, Any]) -> Verdict:
    return Verdict(str(record["verdict"]))
