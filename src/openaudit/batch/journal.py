"""The batch journal: one JSON record per line, written as each repo finishes.

Each line is flushed to the operating system before the next repo is reported, so Ctrl-C, a
crash or a killed process loses nothing already written. The file is fsync'ed when a line is
written FSYNC_INTERVAL seconds or more after the last fsync, and at close, so a lost machine
(power cut) can only lose the lines written since the last fsync; an fsync per line would cost
more than judging a record from a dump. A torn last line (killed mid-write) is ignored when
the journal is read and cut off before a resumed run appends to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NoReturn

from openaudit.errors import UsageError
from openaudit.records import encode_record, is_error, record_key, record_problem
from openaudit.safe_read import Missing, RefusedFile, open_stream
from openaudit.sanitize import json_bytes, json_text


def record_line(record: Mapping[str, Any]) -> str:
    """The JSONL line of a record, keys in the record's own (stable) order.

    A lone surrogate (which a JSON "\ud800" escape in Hub metadata or a dump decodes to) has
    no UTF-8 form: it is written as that escape again, so the line is valid JSON and UTF-8.
    """
    line = encode_record(record) + "\n"
    if not line.isascii():
        line = json_text(line)  # bidi and C1 characters as escapes: the same data, visible
        if _SURROGATE.search(line):
            line = _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", line)
    return line


_SURROGATE = re.compile("[\ud800-\udfff]")


MAX_JOURNAL_LINE = 64 << 20  # bytes; openaudit's own records are far smaller
_READ_CHUNK = 1 << 20


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every whole record in the journal, in file order (missing file: none)."""
    return list(iter_journal(path))


def iter_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the whole records of the journal, in file order (missing file: none).

    One line at a time is held, so a resumed run needs memory for what it keeps, not for the
    file. The torn tail of a killed run (bytes after the last newline) is ignored; any other
    line that is not a batch record is a UsageError: appending to another tool's file, or
    finishing a damaged journal, would only hide the problem.
    """
    try:
        fd = open_stream(path)
    except Missing:
        return
    except RefusedFile as exc:
        raise UsageError(f"cannot read {path}: {exc.reason}", "check the --output path") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            for number, line in enumerate(iter(lambda: handle.readline(MAX_JOURNAL_LINE + 1),
                                               b""), start=1):
                if not line.endswith(b"\n"):
                    if len(line) <= MAX_JOURNAL_LINE:
                        return  # the torn tail of a killed run
                    _not_a_record(path, number, f"a line over {MAX_JOURNAL_LINE:,} bytes")
                if line.strip():
                    yield _journal_record(path, number, line)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}",
                         "check the --output path") from None


def _journal_record(path: Path, number: int, line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
        _not_a_record(path, number, "not JSON")
    problem = record_problem(record)
    if problem is not None:
        _not_a_record(path, number, problem)
    return dict(record)


def _not_a_record(path: Path, number: int, problem: str) -> NoReturn:
    raise UsageError(f"{path} line {number} is not an openaudit batch record ({problem})",
                     "give another --output, or remove the file to start over (without "
                     "--resume it is overwritten)")


def latest(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One record per repo, the last one written winning (a resumed retry replaces an error)."""
    by_key: dict[tuple[str, str] | int, Mapping[str, Any]] = {}
    for number, record in enumerate(records):
        repo: tuple[str, str] = record_key(record)
        # Records with neither an id nor a dump position are each distinct, never one repo.
        key: tuple[str, str] | int = repo if repo[1] else number
        by_key.pop(key, None)  # keep the order of the winning records
        by_key[key] = record
    return list(by_key.values())


def audited_keys(records: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """Repos whose latest record is an audit: ``--resume`` skips them and retries the errors."""
    return {record_key(r) for r in latest(records) if not is_error(r)}


FSYNC_INTERVAL = 0.5  # seconds between fsyncs of a journal file (every line is flushed)


class Journal:
    """Appends records to a file (flush per line, periodic fsync) or to stdout (flush per line).

    ``stream`` None means whatever ``sys.stdout`` is at each write, so a progress bar that
    redirects stdout keeps its place below the lines.
    """

    def __init__(self, stream: IO[str] | None, durable: bool, name: str = "stdout") -> None:
        self._file = stream
        self._durable = durable
        self._synced = time.monotonic()
        self.name = name

    @property
    def _stream(self) -> IO[str]:
        return self._file if self._file is not None else sys.stdout

    @classmethod
    def open(cls, path: Path, *, resume: bool) -> Journal:
        """Start a journal file; with ``resume``, keep its whole lines and append after them."""
        if resume and path.exists():
            _cut_torn_tail(path)
            return cls(open(path, "a", encoding="utf-8"), durable=True, name=str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(open(path, "w", encoding="utf-8"), durable=True, name=str(path))

    def write(self, record: Mapping[str, Any]) -> None:
        with self._failing_as_usage():
            self._stream.write(record_line(record))
            self._after_write()

    def write_block(self, text: bytes) -> None:
        """Append whole lines already encoded as UTF-8 (records that finished together)."""
        text = json_bytes(text)  # as record_line writes them
        with self._failing_as_usage():
            self._write_block(text)

    @contextlib.contextmanager
    def _failing_as_usage(self) -> Iterator[None]:
        """A full disk or ``/dev/full`` is a clear error (exit 2), never a traceback; the lines
        flushed before it stay in the file."""
        try:
            yield
        except BrokenPipeError:
            raise  # the reader left: the batch command stops quietly
        except OSError as exc:
            self._abandon()
            raise UsageError(f"cannot write {self.name}: {exc.strerror or exc}",
                             "the records written before this are kept; free the space or fix "
                             "the path, then run the same command with --resume") from None

    def _abandon(self) -> None:
        """Drop what could not be written, so that no later flush (at exit) fails again."""
        if self._file is None:
            stdout_to_devnull()
            return
        with contextlib.suppress(OSError):
            self._file.close()
        self._durable = False
        self._file = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def _write_block(self, text: bytes) -> None:
        stream = self._stream
        raw = getattr(stream, "buffer", None)
        if raw is None:  # e.g. stdout behind a progress bar's proxy: text only
            stream.write(text.decode("utf-8"))
        else:
            stream.flush()  # what was written as text goes first
            raw.write(text)
        self._after_write()

    def _after_write(self) -> None:
        self._stream.flush()
        if self._durable and time.monotonic() - self._synced >= FSYNC_INTERVAL:
            self._sync()

    def _sync(self) -> None:
        os.fsync(self._stream.fileno())
        self._synced = time.monotonic()

    def close(self) -> None:
        with self._failing_as_usage():
            self._close()

    def _close(self) -> None:
        if self._durable:
            self._stream.flush()
            self._sync()
            self._stream.close()
        else:
            self._stream.flush()


def stdout_to_devnull() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _cut_torn_tail(path: Path) -> None:
    """Drop bytes after the last newline (a line cut short by a kill), reading from the end."""
    with open(path, "rb+") as handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - _READ_CHUNK)
            handle.seek(start)
            newline = handle.read(end - start).rfind(b"\n")
            if newline != -1:
                end = start + newline + 1
                break
            end = start
        if end != handle.seek(0, os.SEEK_END):
            handle.truncate(end)
