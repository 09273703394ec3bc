"""Where batch records go, and the report at the end.

``--format jsonl`` streams each record as it finishes: to ``--output`` (the file is the journal)
or to stdout. Every other format is a sorted report written at the end; with ``--output FILE``
the records are journaled meanwhile in the sidecar ``FILE.jsonl``, so an interrupted run loses
nothing and ``--resume`` can finish it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from openaudit.batch.journal import (
    Journal,
    audited_keys,
    iter_journal,
    latest,
    stdout_to_devnull,
)
from openaudit.errors import UsageError
from openaudit.records import RecordBlock, record_summary

JSONL = "jsonl"


def journal_path(fmt: str, output: Path | None) -> Path | None:
    """The file that receives every record as it finishes (None: records stay in memory)."""
    if output is None:
        return None
    return output if fmt == JSONL else output.with_name(output.name + ".jsonl")


def refuse_overwriting_inputs(fmt: str, output: Path | None, inputs: Iterable[Path]) -> None:
    """``--output`` (or its journal) naming an input file would destroy it before it is read."""
    if output is None:
        return
    written = {output, journal_path(fmt, output) or output}
    for source in inputs:
        for target in written:
            if _same_file(source, target):
                raise UsageError(f"--output {output} would overwrite the input {source}",
                                 "write the records to another file")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


class BatchOutput:
    """Collects the records of one batch run, durably when there is an output file."""

    def __init__(self, fmt: str, output: Path | None, *, resume: bool, stdout: TextIO) -> None:
        self.fmt = fmt
        self.output = output
        self.journal_file = journal_path(fmt, output)
        if output is not None and output.is_dir():
            raise UsageError(f"--output {output} is a directory", "give a file name")
        self._earlier: list[Mapping[str, Any]] = []
        if resume and self.journal_file is not None:
            # Streamed: a jsonl run keeps only each record's summary, not the whole file.
            self._earlier.extend(map(self._kept, iter_journal(self.journal_file)))
        self._new: list[Mapping[str, Any]] = []
        self._stdout = stdout
        self._journal: Journal | None = None
        try:
            if self.journal_file is not None:
                self._journal = Journal.open(self.journal_file, resume=resume)
            elif fmt == JSONL:
                self._journal = Journal(None, durable=False)  # stdout, as it is at each write
        except OSError as exc:
            raise UsageError(f"cannot write {self.journal_file}: {exc.strerror or exc}",
                             "check the --output path") from None

    @property
    def done(self) -> frozenset[tuple[str, str]]:
        """Repos a resumed run skips: their latest journal record is an audit."""
        return frozenset(audited_keys(self._earlier))

    @property
    def written(self) -> int:
        return len(self._new)

    def write(self, record: Mapping[str, Any]) -> None:
        if self._journal is not None:
            self._journal.write(record)
        self._new.append(self._kept(record))

    def write_block(self, block: RecordBlock) -> None:
        """Keep records already encoded (a jsonl run from a dump): written whole, with one
        flush, and only their summaries kept."""
        assert self.fmt == JSONL, "only a streamed jsonl batch keeps summaries alone"
        if self._journal is not None:
            self._journal.write_block(block.text)
        # Summaries are what _kept keeps, but for the findings a policy's waivers needed.
        self._new.extend(record_summary(s) if "findings" in s else s for s in block.summaries)

    def _kept(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """What stays in memory: a streamed batch keeps only what the summary needs, so
        memory stays flat however many repos; a sorted report needs whole records."""
        if self.fmt != JSONL:
            return record
        return record_summary(record)

    def records(self) -> list[Mapping[str, Any]]:
        """The batch's records, one per repo (a resumed retry replaces the earlier error);
        for jsonl, only their summary keys."""
        return latest([*self._earlier, *self._new])

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def finish(self) -> list[Mapping[str, Any]]:
        """Close the journal and write the sorted report (all formats but jsonl)."""
        self.close()
        records = self.records()
        if self.fmt != JSONL:
            from openaudit.render.batch import BatchFormat, batch_renderer_for

            renderer = batch_renderer_for(BatchFormat(self.fmt))
            if self.output is None:
                try:
                    renderer.render(records, self._stdout)
                    self._stdout.flush()
                except BrokenPipeError:
                    raise
                except OSError as exc:
                    stdout_to_devnull()
                    raise UsageError(f"cannot write the report to stdout: "
                                     f"{exc.strerror or exc}", "free the space, or write it "
                                     "with --output FILE") from None
            else:
                try:
                    _write_atomically(self.output, lambda out: renderer.render(records, out))
                except OSError as exc:
                    raise UsageError(f"cannot write the report {self.output}: "
                                     f"{exc.strerror or exc}",
                                     f"every record is in {self.journal_file}; free the space "
                                     "or fix the path, then run the same command with --resume "
                                     "to write the report") from None
        return records


def _write_atomically(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
