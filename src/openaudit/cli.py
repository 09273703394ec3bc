"""The command line: parse options, call the pipeline, render, exit. No business logic here.

Heavy modules (huggingface_hub, the rule engine, Rich tables) are imported inside commands so
that `--help` and `--version` start fast.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from openaudit import __version__
from openaudit.errors import OpenAuditError, RuleFileError, TargetNotFound, UsageError
from openaudit.exit_codes import ExitCode, FailOn, exit_code_for
from openaudit.models import RepoType
from openaudit.sanitize import clean, one_line, say

T = TypeVar("T")

if TYPE_CHECKING:
    from openaudit.hub import HubOptions
    from openaudit.packs import Ruleset
    from openaudit.pipeline import AuditResult
    from openaudit.render import OutputFormat
    from openaudit.ruleset import Pack

EXIT_CODES_HELP = (
    "Exit codes: 0 the verdict passes --fail-on; 1 the verdict fails it; 2 usage, configuration "
    "or rule-file error (nothing audited); 3 the target could not be audited (not found, "
    "network error, unreadable)."
)

app = typer.Typer(
    name="openaudit",
    help="Is this AI model really open? Audit Hugging Face models and datasets against the "
    "Open Source AI Definition 1.0 and print compliant / potentially-compliant / non-compliant "
    "with the evidence.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
rules_app = typer.Typer(help="List the rules and their packs.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openaudit {__version__}")
        raise typer.Exit()


# Choices for shell completion of free-text options (validated by the commands themselves).
FORMAT_NAMES = ("table", "json", "markdown", "sarif", "github", "junit")
REPO_TYPE_NAMES = ("auto", "model", "dataset")


def _complete_format(incomplete: str) -> list[str]:
    return [name for name in FORMAT_NAMES if name.startswith(incomplete)]


def _complete_repo_type(incomplete: str) -> list[str]:
    return [name for name in REPO_TYPE_NAMES if name.startswith(incomplete)]


FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="table, json, markdown (PR comment), sarif (code "
                      "scanning), github (Actions annotations) or junit.", show_default=True,
                      autocompletion=_complete_format)
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Extra rule file (`extends: PACK`), vocabulary extension "
                 "(`extends: vocabulary`) or replacement pack directory (with pack.yaml). "
                 "Repeatable."),
]
FailOnOpt = Annotated[
    FailOn, typer.Option("--fail-on", help="Lowest verdict that makes the exit code 1.")
]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help="Hub token (default: HF_TOKEN or the stored login). "
                             "Never printed.", show_default=False)
]
EndpointOpt = Annotated[
    str | None, typer.Option("--endpoint", help="Hub URL (default: HF_ENDPOINT or "
                             "https://huggingface.co).", show_default=False)
]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Use only the local caches; make no request.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each Hub request.")
]
RevisionOpt = Annotated[
    str | None, typer.Option("--revision", help="Branch, tag or commit sha (default: main).")
]
PolicyFailOnOpt = Annotated[
    FailOn | None, typer.Option("--fail-on", help="Lowest verdict that makes the exit code 1 "
                                "(default: the policy file's fail_on, else non-compliant).",
                                show_default=False)
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Project policy file (.openaudit.yaml: rules, "
                              "fail_on, waivers).", show_default=False)
]
NoConfigOpt = Annotated[
    bool, typer.Option("--no-config", help="Ignore the folder's .openaudit.yaml.")
]


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Top-level options."""


@app.command(epilog="Example: openaudit model ORG/NAME --format markdown")
def model(
    repo_id: Annotated[str, typer.Argument(help="Model repo id, NAMESPACE/NAME.")],
    revision: RevisionOpt = None,
    fmt: FormatOpt = "table",
    rules: RulesOpt = None,
    fail_on: PolicyFailOnOpt = None,
    config: ConfigOpt = None,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 20.0,
) -> None:
    """Audit a model on the Hugging Face Hub against OSAID 1.0."""
    _audit_remote(repo_id, RepoType.MODEL, revision, fmt, rules, fail_on, config,
                  _hub_options(token, endpoint, offline, timeout))


@app.command(epilog="Example: openaudit dataset ORG/NAME --format json")
def dataset(
    repo_id: Annotated[str, typer.Argument(help="Dataset repo id, NAMESPACE/NAME.")],
    revision: RevisionOpt = None,
    fmt: FormatOpt = "table",
    rules: RulesOpt = None,
    fail_on: PolicyFailOnOpt = None,
    config: ConfigOpt = None,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 20.0,
) -> None:
    """Audit a dataset on the Hub against the dataset-openness pack."""
    _audit_remote(repo_id, RepoType.DATASET, revision, fmt, rules, fail_on, config,
                  _hub_options(token, endpoint, offline, timeout))


@app.command(epilog="Example: openaudit check ./my-model --fail-on potentially-compliant")
def check(
    path: Annotated[Path, typer.Argument(help="Folder laid out as it will be pushed.")],
    repo_type: Annotated[str, typer.Option(
        "--repo-type", help="model, dataset, or auto (a card with dataset keys such as "
        "task_categories or source_datasets is a dataset).",
        autocompletion=_complete_repo_type)] = "auto",
    fmt: FormatOpt = "table",
    rules: RulesOpt = None,
    fail_on: PolicyFailOnOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
) -> None:
    """Audit a local folder before it is pushed (same rules, no network).

    A .openaudit.yaml (or .yml) in the folder is the project policy unless --config or
    --no-config is given.
    """
    renderer = _renderer(fmt)
    packs: list[Pack] = []  # the pack that judged the folder: rule metadata for SARIF

    def run(ruleset: Ruleset) -> AuditResult:
        from openaudit.local import detect_repo_type
        from openaudit.pipeline import audit_folder

        kind = _repo_type(repo_type) or (detect_repo_type(path) if path.is_dir()
                                         else RepoType.MODEL)
        packs.append(ruleset.pack_for(kind))
        return audit_folder(path, kind, ruleset)

    policy_file = _guarded(lambda: _policy_file(config, path, no_config))
    # The folder's own policy is the audited party's: it may only name files inside the folder.
    root = path if config is None and policy_file is not None else None
    result, threshold = _guarded(lambda: _audit_with_policy(policy_file, rules, fail_on, run,
                                                            root))
    _finish(result, renderer, threshold, packs, _seen_from_cwd(path))


@app.command(epilog="Examples: openaudit facts ./my-model · openaudit facts org/name "
             "--repo-type dataset · openaudit facts --list")
def facts(
    target: Annotated[str | None, typer.Argument(help="Local folder or Hub repo id.")] = None,
    repo_type: Annotated[str, typer.Option(
        "--repo-type", help="model, dataset, or auto (folders: guessed from the card; "
        "repo ids: model).", autocompletion=_complete_repo_type)] = "auto",
    revision: RevisionOpt = None,
    list_facts: Annotated[bool, typer.Option("--list", help="List every fact name.")] = False,
    token: TokenOpt = None,
    endpoint: EndpointOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = 20.0,
    rules: RulesOpt = None,
) -> None:
    """Print the facts the rules see, as JSON (for rule authors and debugging)."""
    import json

    from openaudit.fact_specs import FACT_SPECS
    from openaudit.render.json_report import evidence_dict
    from openaudit.sanitize import json_text

    if list_facts:
        for spec in FACT_SPECS.values():
            typer.echo(f"{spec.name}\t{spec.type}\t{spec.description}")
        return
    if target is None:
        _fail(UsageError("give a folder or repo id, or --list", "see openaudit facts --help"))

    def run() -> AuditResult:
        from openaudit.local import detect_repo_type
        from openaudit.pipeline import audit_folder, audit_hub

        paths = list(rules or ())
        if Path(target).is_dir():  # the folder's own policy may name rules and vocabulary
            from openaudit.policy import find_policy, load_policy, rule_paths

            found = find_policy(Path(target))
            if found is not None:
                paths = list(rule_paths(load_policy(found, Path(target)), paths))
        ruleset = _ruleset(paths)  # a vocabulary extension changes how the card is read
        kind = _repo_type(repo_type)
        if target.startswith((".", "/", "~")) and not Path(target).is_dir():
            raise UsageError(f"{target} is not a folder", "pass a folder or NAMESPACE/NAME")
        if Path(target).is_dir():
            return audit_folder(Path(target), kind or detect_repo_type(Path(target)), ruleset)
        options = _hub_options(token, endpoint, offline, timeout)
        return audit_hub(target, kind or RepoType.MODEL, revision, options, ruleset)

    result = _guarded(run)
    payload = {
        "target": {"repo_id": result.snapshot.repo_id,
                   "repo_type": result.snapshot.repo_type.value,
                   "source": result.snapshot.source, "sha": result.snapshot.sha},
        "facts": result.facts.values,
        "unknown": result.facts.unknown_reasons,
        "evidence": {k: [evidence_dict(e) for e in v] for k, v in result.facts.evidence.items()},
    }
    typer.echo(json_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)))


@rules_app.command("list", epilog="Example: openaudit rules list --pack dataset-openness")
def rules_list(
    pack: Annotated[str | None, typer.Option("--pack", help="Only this pack.")] = None,
    rules: RulesOpt = None,
) -> None:
    """List every rule: id, pack, pillar, severity and title."""
    ruleset = _guarded(lambda: _ruleset(rules))
    found = False
    for p in sorted(ruleset.packs.values(), key=lambda p: p.id):
        if pack and p.id != pack:
            continue
        found = True
        typer.echo(clean(f"{p.id} {p.version} — {p.title} ({p.applies_to.value}s)"))
        for r in p.rules:  # rule files may come from the audited folder's policy
            typer.echo(clean(f"  {r.id:<12} {r.pillar:<17} {r.severity.value:<8} {r.title}"))
    if not found:
        _fail(UsageError(f"no pack named '{pack}'",
                         "packs: " + ", ".join(sorted(p.id for p in ruleset.packs.values()))))


@rules_app.command("docs", epilog="Examples: openaudit rules docs --output docs/rules.md · "
                   "openaudit rules docs --check docs/rules.md")
def rules_docs(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the reference to this file (default: print it).")] = None,
    check_file: Annotated[Path | None, typer.Option(
        "--check", help="Exit 1 when this file differs from a fresh rendering.")] = None,
    rules: RulesOpt = None,
) -> None:
    """Generate the Markdown rule reference (docs/rules.md) from the loaded packs."""
    from openaudit.rule_docs import REGENERATE, is_current, render_rule_docs

    if output is not None and check_file is not None:
        _fail(UsageError("--output and --check exclude each other",
                         "write with --output FILE, or compare with --check FILE"))
    text = render_rule_docs(_guarded(lambda: _ruleset(rules)))
    if check_file is not None:
        if not is_current(check_file, text):
            state = "is out of date with" if check_file.is_file() else "is missing; it documents"
            sys.stderr.write(f"openaudit: {check_file} {state} the rule packs\n"
                             f"  hint: regenerate it with `{REGENERATE}`\n")
            raise typer.Exit(int(ExitCode.VERDICT_FAILED))  # stale docs fail the check
        typer.echo(f"{check_file} is up to date")
        return
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        _fail(UsageError(f"cannot write {output}: {exc.strerror or exc}",
                         "pass a writable --output path"))
    typer.echo(f"wrote {output}")


@app.command(epilog="Example: openaudit explain DATA-002")
def explain(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. USE-003.")],
    rules: RulesOpt = None,
) -> None:
    """Explain a rule: what it checks, why (the OSAID clause), how to fix a failure."""
    from openaudit.explain import explain_rule

    ruleset = _guarded(lambda: _ruleset(rules))
    _guarded(lambda: typer.echo(clean(explain_rule(ruleset, rule_id))))


def main() -> None:
    """Console-script entry point."""
    for stream in (sys.stdout, sys.stderr):
        # A report must not die on a file name or excerpt the terminal's encoding cannot show.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    app()


# ---- helpers ---------------------------------------------------------------------------------


def _hub_options(token: str | None, endpoint: str | None, offline: bool,
                 timeout: float) -> HubOptions:
    from openaudit.hub import HubOptions

    return HubOptions(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token,
                      offline=offline, timeout=timeout)


def _ruleset(extra: list[Path] | None) -> Ruleset:
    from openaudit.packs import load_ruleset

    return load_ruleset(tuple(extra or ()))


def _repo_type(value: str) -> RepoType | None:
    if value == "auto":
        return None
    try:
        return RepoType(value)
    except ValueError:
        raise UsageError(f"unknown repo type '{value}'", "use model, dataset or auto") from None


def _renderer(fmt: str) -> OutputFormat:
    from openaudit.render import OutputFormat

    try:
        return OutputFormat(fmt)
    except ValueError:
        _fail(UsageError(f"unknown format '{fmt}'",
                         "use one of: " + ", ".join(f.value for f in OutputFormat)))


def _audit_remote(repo_id: str, repo_type: RepoType, revision: str | None, fmt: str,
                  rules: list[Path] | None, fail_on: FailOn | None, config: Path | None,
                  options: HubOptions) -> None:
    renderer = _renderer(fmt)
    packs: list[Pack] = []  # the pack that judged the repo: rule metadata for SARIF

    def run(ruleset: Ruleset) -> AuditResult:
        from openaudit.pipeline import audit_hub

        packs.append(ruleset.pack_for(repo_type))
        return audit_hub(repo_id, repo_type, revision, options, ruleset)

    result, threshold = _guarded(lambda: _audit_with_policy(config, rules, fail_on, run))
    _finish(result, renderer, threshold, packs)


def _policy_file(config: Path | None, folder: Path, no_config: bool) -> Path | None:
    """--config wins; otherwise the folder's own policy file unless --no-config."""
    from openaudit.policy import find_policy

    if config is not None and no_config:
        raise UsageError("--config and --no-config cannot be combined", "drop one of them")
    if config is not None or no_config or not folder.is_dir():
        return config
    return find_policy(folder)


def _audit_with_policy(policy_file: Path | None, rules: list[Path] | None,
                       fail_on: FailOn | None,
                       run: Callable[[Ruleset], AuditResult],
                       root: Path | None = None) -> tuple[AuditResult, FailOn]:
    """Load the policy and its rules, check it (before any request), audit, apply waivers.

    Returns the result and the exit threshold (--fail-on, else the policy's, else the default).
    """
    from openaudit.policy import (
        apply_policy,
        check_policy,
        effective_fail_on,
        load_policy,
        policy_notes,
        rule_paths,
        today_from_env,
    )

    policy = load_policy(policy_file, root) if policy_file is not None else None
    ruleset = _ruleset(list(rule_paths(policy, rules or ())))  # errors surface before requests
    threshold = effective_fail_on(fail_on, policy)
    if policy is None:
        return run(ruleset), threshold
    today = today_from_env(os.environ)
    check_policy(policy, ruleset, today)
    result = apply_policy(run(ruleset), policy, ruleset, today)
    for note in policy_notes(policy, [result.report]):
        say(f"openaudit: note: {note}\n")
    return result, threshold


def _finish(result: AuditResult, fmt: OutputFormat, fail_on: FailOn, packs: list[Pack],
            base_dir: str = "") -> NoReturn:
    from openaudit.render import OutputFormat, RenderContext, renderer_for

    context = RenderContext(pack=packs[-1] if packs else None, base_dir=base_dir,
                            files=frozenset(result.snapshot.files))
    renderer = renderer_for(fmt, context)
    if fmt is OutputFormat.TABLE:  # for people: Rich needs the real stream for colour and width
        _guarded(lambda: _to_stdout(lambda: renderer.render(result.report, sys.stdout)))
    else:  # for machines: a renderer that fails part-way leaves nothing on stdout
        buffer = io.StringIO()
        _guarded(lambda: renderer.render(result.report, buffer))
        _guarded(lambda: _to_stdout(lambda: sys.stdout.write(buffer.getvalue())))
    raise typer.Exit(int(exit_code_for([result.report.verdict], fail_on)))


def _to_stdout(write: Callable[[], object]) -> None:
    """Write and flush; a full disk or /dev/full is a clear error (exit 2), not a traceback."""
    try:
        write()
        sys.stdout.flush()
    except OSError as exc:
        from openaudit.batch.journal import stdout_to_devnull

        stdout_to_devnull()  # so that the interpreter's final flush cannot fail again
        raise UsageError(f"cannot write the report to stdout: {exc.strerror or exc}",
                         "free the space, or send the output elsewhere") from None


def _seen_from_cwd(folder: Path) -> str:
    """The audited folder relative to the current directory: CI tools place files by it."""
    try:
        rel = os.path.relpath(folder.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive (Windows): only the absolute path names it
        return folder.resolve().as_posix()
    return "" if rel == "." else Path(rel).as_posix()


def _guarded(func: Callable[[], T]) -> T:
    try:
        return func()
    except OpenAuditError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, without a traceback unless asked
        if os.environ.get("OPENAUDIT_DEBUG"):
            traceback.print_exc()
        say(f"openaudit: internal error: {type(exc).__name__}: {exc}\n"
            "  set OPENAUDIT_DEBUG=1 for a traceback, and please report it\n")
        raise typer.Exit(int(ExitCode.NOT_AUDITED)) from None


def _fail(exc: OpenAuditError) -> NoReturn:
    """Print an error with its next step and exit with the code its kind calls for."""
    usage = isinstance(exc, UsageError | RuleFileError)
    kind = "error" if usage else "could not audit"
    # Messages carry server text, exception text and policy keys: say() cleans them.
    say(f"openaudit: {kind}: {exc.message}\n")
    if isinstance(exc, TargetNotFound) and exc.suggestions:  # ids the server suggested
        say("  did you mean:\n" + "".join(f"    {one_line(s)}\n" for s in exc.suggestions))
    elif exc.hint:
        say(f"  hint: {exc.hint}\n")
    code = exit_code_for([], FailOn.NEVER, usage_error=usage, not_audited=int(not usage))
    raise typer.Exit(int(code))


from openaudit.cli_batch import register as _register_batch  # noqa: E402  (uses the helpers above)

_register_batch(app)
