"""What a batch shows on stderr: a Rich progress bar on a terminal, and the final summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from openaudit.records import BatchSummary, is_error


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} repos/s" if speed else "- repos/s")


def interactive(stream: Any, environ: Mapping[str, str]) -> bool:
    """A person watches ``stream``: a real terminal, and not a CI job.

    Not Rich's ``is_terminal``: FORCE_COLOR (set by many CI set-ups for coloured logs) makes
    that true in a pipe, and an animated bar in a CI log is noise.
    """
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and not environ.get("CI")
    except ValueError:  # a closed stream
        return False


class BatchProgress:
    """done / total, rate and failures; draws nothing unless ``show`` (default: a person
    watches the console's stream, see ``interactive``)."""

    def __init__(self, console: Console, *, show: bool | None = None,
                 stdout_is_terminal: bool | None = None) -> None:
        # Rich moves stdout writes above the bar; only right when stdout is that terminal too:
        # records piped or redirected to a file must go there, not onto the screen.
        redirect = sys.stdout.isatty() if stdout_is_terminal is None else stdout_is_terminal
        self._bar: Progress | None = None
        self._failures = 0
        if interactive(console.file, os.environ) if show is None else show:
            self._bar = Progress(TextColumn("auditing"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"), _RateColumn(),
                                 TextColumn("{task.fields[failures]} failed"),
                                 TimeElapsedColumn(), console=console, transient=True,
                                 redirect_stdout=redirect, redirect_stderr=False)
            self._task = self._bar.add_task("batch", total=0, failures=0)
            self._bar.start()

    def queued(self) -> None:
        """One more repo belongs to the batch (listings grow the total as they page)."""
        if self._bar is not None:
            task = self._bar.tasks[0]
            self._bar.update(self._task, total=(task.total or 0) + 1)

    def done(self, record: Mapping[str, Any]) -> None:
        self._failures += is_error(record)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failures=self._failures)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


FAILED_LISTED = 100  # repos not audited named one by one; the records hold every one


def summary_text(summary: BatchSummary, problems: list[str]) -> str:
    """The end-of-batch summary: deterministic whatever order the repos finished in.

    At most ``FAILED_LISTED`` repos not audited are named (a whole-Hub run may have thousands);
    the count says how many more there are.
    """
    counts = ", ".join(f"{n} {verdict}" for verdict, n in summary.verdicts.items())
    lines = [f"openaudit batch: {summary.total} repo(s): {counts}, "
             f"{len(summary.failed)} not audited"]
    if summary.reason_families:
        lines.append("  reason families: " + ", ".join(
            f"{family} {n}" for family, n in summary.reason_families.items()))
    if summary.failed:
        lines.append("  not audited:")
        lines += [f"    {repo_type} {repo_id}: {why}"
                  for repo_type, repo_id, why in summary.failed[:FAILED_LISTED]]
        if len(summary.failed) > FAILED_LISTED:
            lines.append(f"    ... and {len(summary.failed) - FAILED_LISTED} more (every one has "
                         "an error record in the output)")
    if problems:
        lines.append("  listings that failed:")
        lines += [f"    {problem}" for problem in sorted(problems)]
    return "\n".join(lines) + "\n"
