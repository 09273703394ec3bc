"""Whole-Hub studies: judge an exported metadata dump (JSONL, JSONL.gz or Parquet) offline.

A dump record is shaped like a Hub API list/info item (``id``, ``cardData``, ``tags``, ``gated``,
``siblings``, ``sha``, ``lastModified``, ``library_name``, ``pipeline_tag``, ``baseModels``) plus
the texts the Hub path would download: ``readme`` (README.md) and ``files`` (``{path: text}``,
licence files and optionally README.md). A file the record lists but carries no text for is
*unread*, so the rules it feeds are "not tested" — never a pass for evidence not read.

``evaluate_record`` is a pure function of one record: what a distributed engine maps over
partitions. ``run_dump`` does the same on every core of one machine, streaming, in input order.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import marshal
import multiprocessing
import os
import re
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar

from openaudit.errors import OpenAuditError, UsageError
from openaudit.facts import is_licence_file
from openaudit.hub import MAX_FILE_BYTES, MAX_LICENCE_FILES, over_cap, too_large, validate_repo_id
from openaudit.models import AuditReport, FileText, RepoSnapshot, RepoType
from openaudit.packs import Ruleset, load_ruleset
from openaudit.pipeline import judge
from openaudit.records import (
    RecordBlock,
    audit_record,
    audit_record_line,
    encode_record,
    error_record,
    record_summary,
    report_summary,
)
from openaudit.safe_read import RefusedFile, open_stream
from openaudit.waivers import Waiver, apply_waivers

BAD_RECORD = "bad-record"
NOT_IN_DUMP = "not in the dump (the record lists the file but carries no text for it)"
CHUNK_SIZE = 500  # Parquet rows per task sent to a worker process
BLOCK_BYTES = 1 << 20  # JSONL bytes per task sent to a worker process (whole lines)
MAX_DUMP_LINE_BYTES = 32 << 20  # a longer line is a bad-record, skipped without being held
GC_THRESHOLD = 50_000  # allocations between young collections in a worker (Python's: 700)
PARQUET_BATCH = 2_000  # rows decoded at a time from a Parquet file
PARQUET_INSTALL_HINT = 'install Parquet support: pip install "openaudit[parquet]"'
# iter_dump's marker for a line or row that is not a record; evaluate_record turns it into an
# error record. Never a key of a real Hub item.
BAD_MARKER = "__openaudit_bad_record__"

_SURROGATE = re.compile("[\ud800-\udfff]")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_GATED = {"false": "false", "none": "false", "auto": "auto", "manual": "manual", "true": "true"}
_OPTIONAL_TEXT_KEYS = ("sha", "lastModified", "library_name", "pipeline_tag")


_T = TypeVar("_T")


class BadRecord(ValueError):
    """A record whose shape is not a Hub item's (no id, wrong types)."""


# ---------------------------------------------------------------------------------------------
# One record
# ---------------------------------------------------------------------------------------------


def snapshot_from_record(record: Mapping[str, Any],
                         repo_type: RepoType | None = None) -> RepoSnapshot:
    """The RepoSnapshot the Hub path would build for this repo, from the dump alone. Pure.

    ``repo_type`` applies to records that do not say (``repo_type`` or ``type``); without either
    the record is a model. Raises BadRecord for a record that is not shaped like a Hub item.
    """
    if not isinstance(record, Mapping):
        raise BadRecord(f"a record must be a JSON object, not {type(record).__name__}")
    if BAD_MARKER in record:
        raise BadRecord(str(record[BAD_MARKER]))
    repo_id = _repo_id(record)
    kind = _repo_type(record, repo_type)
    files = _siblings(record.get("siblings"))
    texts = _texts(record)
    readme = _file_text("README.md", texts) if "README.md" in files else None
    licence_paths = [p for p in files if is_licence_file(p)]
    licences = tuple(_file_text(p, texts) for p in licence_paths[:MAX_LICENCE_FILES])
    licences += tuple(over_cap(p) for p in licence_paths[MAX_LICENCE_FILES:])
    optional = {key: _optional_text(record, key) for key in _OPTIONAL_TEXT_KEYS}
    return RepoSnapshot(
        repo_id=repo_id, repo_type=kind, source="hub", revision=None, sha=optional["sha"],
        card_data=_card_data(record.get("cardData")), gated=_gated(record.get("gated")),
        tags=_tags(record.get("tags")), files=files, library_name=optional["library_name"],
        pipeline_tag=optional["pipeline_tag"], base_models=_jsonish(record.get("baseModels")),
        last_modified=optional["lastModified"], readme=readme, license_files=licences,
    )


def evaluate_record(record: Mapping[str, Any], ruleset: Ruleset,
                    repo_type: RepoType | None = None, *,
                    waivers: Sequence[Waiver] = ()) -> dict[str, Any]:
    """The batch record (audit or error) of one dump record. Pure; never raises.

    A malformed record becomes an error record of kind ``bad-record``, so one bad line never
    stops a whole-Hub run. ``waivers`` (a project policy's) are applied as for a Hub batch.
    """
    outcome = _judge_record(record, ruleset, repo_type, waivers)
    return outcome if isinstance(outcome, dict) else audit_record(outcome)


def _judge_record(record: Mapping[str, Any], ruleset: Ruleset, repo_type: RepoType | None,
                  waivers: Sequence[Waiver]) -> AuditReport | dict[str, Any]:
    """The report of one dump record, or its error record."""
    try:
        snapshot = snapshot_from_record(record, repo_type)
    except BadRecord as exc:
        return _bad(record, repo_type, str(exc))
    try:
        report = judge(snapshot, ruleset).report
        if waivers:
            report = apply_waivers(report, ruleset.pack_for(snapshot.repo_type), waivers)
        return report
    except Exception as exc:  # one odd value deep in cardData must not stop a whole-Hub run
        return _bad(record, repo_type, f"could not judge the record: {type(exc).__name__}: {exc}")


def _bad(record: Any, repo_type: RepoType | None, message: str) -> dict[str, Any]:
    repo_id = ""
    kind = repo_type or RepoType.MODEL
    if isinstance(record, Mapping):
        repo_id = record["id"] if isinstance(record.get("id"), str) else ""
        with contextlib.suppress(BadRecord):  # keep the default when the type is the problem
            kind = _repo_type(record, repo_type)
    return error_record(repo_id, kind, None, BAD_RECORD, message)


def _repo_id(record: Mapping[str, Any]) -> str:
    repo_id = record.get("id")
    if not isinstance(repo_id, str) or not repo_id:
        raise BadRecord("the record has no 'id' (a string such as 'org/name')")
    try:
        validate_repo_id(repo_id)
    except UsageError as exc:
        raise BadRecord(exc.message) from None
    return repo_id


def _repo_type(record: Mapping[str, Any], default: RepoType | None) -> RepoType:
    declared = record.get("repo_type", record.get("type"))
    if declared is None:
        return default or RepoType.MODEL
    try:
        return RepoType(str(declared).lower().removesuffix("s"))
    except ValueError:
        raise BadRecord(f"unsupported repo type {declared!r} (model or dataset)") from None


def _siblings(value: Any) -> tuple[str, ...]:
    """The file list: ``[{"rfilename": ...}]`` as the API sends it, or plain strings."""
    if value is None:
        # An unknown file list is not an empty repo: judging it would fail rules on no evidence.
        raise BadRecord("the record has no 'siblings' (file list); export it with "
                        "expand=siblings")
    value = _jsonish(value)
    if not isinstance(value, list | tuple):
        raise BadRecord(f"'siblings' must be a list, not {type(value).__name__}")
    names: set[str] = set()
    for item in value:
        name = item.get("rfilename") if type(item) is dict or isinstance(item, Mapping) else item
        if not isinstance(name, str) or not name:
            raise BadRecord("every 'siblings' entry must be a path or {'rfilename': path}")
        names.add(name)
    return tuple(sorted(names))


def _texts(record: Mapping[str, Any]) -> dict[str, str | None]:
    """File texts carried by the record: ``files`` (a mapping, or key/value pairs) + ``readme``."""
    raw = _jsonish(record.get("files"))
    if raw is None:
        raw = {}
    elif isinstance(raw, list | tuple):  # a Parquet map column reads as (key, value) pairs
        try:
            raw = dict(raw)
        except (TypeError, ValueError):
            raise BadRecord("'files' must map paths to texts") from None
    if not isinstance(raw, Mapping):
        raise BadRecord(f"'files' must map paths to texts, not {type(raw).__name__}")
    texts: dict[str, str | None] = {}
    for path, text in raw.items():
        if not isinstance(path, str) or not (text is None or isinstance(text, str)):
            raise BadRecord("'files' must map paths (strings) to texts (strings or null)")
        texts[path] = text
    readme = record.get("readme")
    if readme is not None:
        if not isinstance(readme, str):
            raise BadRecord(f"'readme' must be a string, not {type(readme).__name__}")
        texts["README.md"] = readme
    return texts


def _file_text(path: str, texts: Mapping[str, str | None]) -> FileText:
    """Same caps as the Hub path: over 1 MB is unread; U+FFFD means bytes were replaced."""
    text = texts.get(path)
    if text is None:
        return FileText(path, None, NOT_IN_DUMP)
    if len(text) * 4 > MAX_FILE_BYTES:  # only a long text can be over the cap in UTF-8 bytes
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_FILE_BYTES:
            return too_large(path, size)
    # The exporter decoded the bytes: a BOM survives as U+FEFF, bad bytes as U+FFFD. A lone
    # surrogate (a JSON "\ud800" escape) encodes no character: it is a bad byte too.
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return FileText(path, text.removeprefix("\ufeff"), None, "\ufffd" in text, False)


def _card_data(value: Any) -> dict[str, Any] | None:
    value = _jsonish(value)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRecord(f"'cardData' must be an object, not {type(value).__name__}")
    # As huggingface_hub's CardData.to_dict() on the Hub path: keys without a value are dropped
    # (a Parquet struct column also fills every key missing from a row with null).
    return {str(k): v for k, v in value.items() if v is not None}


def _gated(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "true" if value else "false"
    gated = _GATED.get(str(value).lower()) if isinstance(value, str) else None
    if gated is None:
        raise BadRecord(f"'gated' must be false, true, 'auto' or 'manual', not {value!r}")
    return gated


def _tags(value: Any) -> tuple[str, ...]:
    value = _jsonish(value)
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise BadRecord("'tags' must be a list of strings")
    return tuple(sorted(value))


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if isinstance(value, datetime | date):  # a Parquet timestamp column
        return value.isoformat()
    if value is not None and not isinstance(value, str):
        raise BadRecord(f"'{key}' must be a string, not {type(value).__name__}")
    return value


def _jsonish(value: Any) -> Any:
    """Nested columns may arrive as JSON strings (flat Parquet exports); decode those."""
    if isinstance(value, str) and (value[:1] in ("{", "[") or value == "null"):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
            raise BadRecord("a nested field holds text that is not valid JSON") from None
    return value


# ---------------------------------------------------------------------------------------------
# Reading a dump
# ---------------------------------------------------------------------------------------------


def iter_dump(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the records of a JSONL, JSONL.gz or Parquet dump (format sniffed from the bytes).

    A line or row that is not a JSON object yields a bad-record marker naming the line, so
    ``evaluate_record`` reports it and the rest of the dump is still read. A file that cannot
    be read at all raises UsageError.
    """
    magic = _magic(path)
    if magic == _PARQUET_MAGIC:
        yield from _iter_parquet(path)
        return
    for block in _line_blocks(path, gzipped=magic.startswith(_GZIP_MAGIC)):
        for number, line in _numbered_lines(block):
            yield record_from_line(line, number)


def _magic(path: Path) -> bytes:
    try:
        with _open_file(path) as handle:
            return handle.read(4)
    except OSError as exc:
        raise UsageError(f"cannot read the dump {path}: {exc.strerror or exc}",
                         "pass a JSONL, JSONL.gz or Parquet file of Hub metadata") from None


def _open_file(path: Path) -> BinaryIO:
    """The dump, which must be a regular file: ``/dev/zero`` or a FIFO would never end."""
    try:
        return os.fdopen(open_stream(path), "rb")
    except RefusedFile as exc:
        raise UsageError(f"cannot read the dump {path}: {exc.reason}",
                         "pass a JSONL, JSONL.gz or Parquet file of Hub metadata") from None


def _first_record(path: Path, number: int, line: bytes) -> dict[str, Any]:
    """The first line must be a record: otherwise the file is not a JSONL dump at all."""
    record = record_from_line(line, number)
    if BAD_MARKER in record:
        raise UsageError(f"{path} is not a JSONL dump: line {number} is not a JSON object",
                         "pass a JSONL, JSONL.gz or Parquet file of Hub metadata")
    return record


class _Lines(NamedTuple):
    """Whole JSONL lines for a worker to parse and judge: the bytes as read, the file line
    number of the first, and the dump record number of the first that is not blank."""

    data: bytes
    first_line: int
    first_record: int


def _line_blocks(path: Path, gzipped: bool) -> Iterator[_Lines]:
    """The dump's JSONL text in blocks of whole lines (about BLOCK_BYTES each), numbered.

    The workers split and parse them: the parent only reads, so it spends nothing per line.
    A read failure is a UsageError; the first line that is not blank must be a record.
    """
    checked = False
    try:
        raw = _open_file(path)
        with raw, gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw as handle:
            line, record = 1, 1
            while data := handle.read(BLOCK_BYTES):
                if not data.endswith(b"\n"):  # to the end of the line, or of the file
                    data = _to_line_end(handle, data, line)
                lines, blank = _line_counts(data)
                if not checked:
                    checked = _first_line_checked(path, _Lines(data, line, record))
                yield _Lines(data, line, record)
                line += lines
                record += lines - blank
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UsageError(f"cannot read the dump {path}: {exc}",
                         "the file is truncated or corrupt; export it again") from None


def _to_line_end(handle: gzip.GzipFile | BinaryIO, data: bytes, first_line: int) -> bytes:
    """``data`` with its last line read to the end. A line over MAX_DUMP_LINE_BYTES becomes a
    bad-record line and the rest of it is skipped unread: memory stays bounded (a 1 GB line,
    a gzip bomb)."""
    start = data.rfind(b"\n") + 1
    room = MAX_DUMP_LINE_BYTES - (len(data) - start)
    tail = handle.readline(room + 1)
    if tail.endswith(b"\n") or len(tail) <= room:
        return data + tail
    while (skipped := handle.readline(BLOCK_BYTES)) and not skipped.endswith(b"\n"):
        pass
    number = first_line + data.count(b"\n", 0, start)
    marker = {BAD_MARKER: f"line {number}: longer than {MAX_DUMP_LINE_BYTES:,} bytes (not read)"}
    return data[:start] + json.dumps(marker).encode() + b"\n"


# A blank line (``not line.strip()``) starts with one of these bytes: the first line, or one
# after a newline.
_BLANK_FIRST = frozenset(b" \t\r\x0b\x0c\n")
_BLANK_AFTER_NEWLINE = re.compile(rb"\n[ \t\r\x0b\x0c\n]")


def _line_counts(data: bytes) -> tuple[int, int]:
    """(lines, blank lines) in whole lines of JSONL, as iterating the file would count them."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if data[0] not in _BLANK_FIRST and not _BLANK_AFTER_NEWLINE.search(data):
        return lines, 0  # every line starts with a byte that strip() keeps
    return lines, sum(1 for line in _split_lines(data) if not line.strip())


def _split_lines(data: bytes) -> list[bytes]:
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    return pieces


def _numbered_lines(block: _Lines) -> Iterator[tuple[int, bytes]]:
    """(file line number, line) of every line of the block that is not blank."""
    for number, line in enumerate(_split_lines(block.data), block.first_line):
        if line.strip():
            yield number, line


def _first_line_checked(path: Path, block: _Lines) -> bool:
    """Whether the block holds the dump's first non-blank line; raises when that line is not
    a record (the file is not a JSONL dump at all)."""
    for number, line in _numbered_lines(block):
        _first_record(path, number, line)
        return True
    return False


def record_from_line(line: str | bytes, number: int | None = None) -> dict[str, Any]:
    """One JSONL line as a record; a line that is not a JSON object gives a bad-record marker
    (``evaluate_record`` reports it), so a distributed job needs no error handling of its own."""
    where = f"line {number}: " if number is not None else ""
    try:
        record = json.loads(line)
    except ValueError:  # includes bytes that are not UTF-8
        record = None
    except RecursionError:  # e.g. "[[[[…": Python's decoder recurses once per level
        return {BAD_MARKER: f"{where}JSON nested too deeply to read"}
    if isinstance(record, dict):
        return record
    return {BAD_MARKER: f"{where}not a JSON object"}


def _iter_parquet(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(f"{path} is a Parquet file and pyarrow is not installed",
                         PARQUET_INSTALL_HINT) from None
    try:
        parquet = pq.ParquetFile(path)
        # Record batches, never the whole table: memory stays flat in the size of the dump.
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
            yield from batch.to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise UsageError(f"cannot read the Parquet dump {path}: {exc}",
                         "the file is truncated or corrupt; export it again") from None


# ---------------------------------------------------------------------------------------------
# A whole dump on every core
# ---------------------------------------------------------------------------------------------

_worker_ruleset: Ruleset | None = None
_worker_repo_type: RepoType | None = None
_worker_waivers: tuple[Waiver, ...] = ()

# A chunk's results: batch records, or (block mode) one block of JSONL text and summaries.
_Results = list[dict[str, Any]] | RecordBlock


def _init_worker(ruleset_paths: tuple[Path, ...], repo_type: RepoType | None,
                 waivers: tuple[Waiver, ...] = ()) -> None:
    """Each worker process loads (and validates) the rules once, not once per record.

    Ctrl-C reaches the whole process group: the parent handles it (and shuts the pool down),
    so a worker ignores it rather than print a traceback of its own.
    """
    global _worker_ruleset, _worker_repo_type, _worker_waivers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_ruleset = load_ruleset(ruleset_paths)
    _worker_repo_type = repo_type
    _worker_waivers = waivers
    # The rules and the modules live as long as the worker: keep the cyclic collector from
    # walking them again and again (judging a record makes no reference cycles worth chasing
    # often, so collect less often too).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)


# A worker's task: JSONL lines, or Parquet rows with the dump record number of the first.
_Task = _Lines | tuple[list[dict[str, Any]], int]


def _evaluate_chunk(task: _Task, block: bool = False) -> bytes | _PackedBlock | _Results:
    """Results of a task, marshalled when they are plain JSON-like data.

    marshal writes and reads such data several times faster than pickle, and the parent's
    unpickling is serial work; anything marshal refuses goes back pickled, unchanged.
    """
    assert _worker_ruleset is not None, "worker not initialised"
    if isinstance(task, _Lines):
        records: Iterable[Mapping[str, Any]] = (
            record_from_line(line, number) for number, line in _numbered_lines(task))
        start = task.first_record
    else:
        records, start = task
    if block:
        # The text travels as it is (one copy less each way); the summaries marshalled.
        text, summaries = _evaluate_block(records, start, _worker_ruleset, _worker_repo_type,
                                          _worker_waivers)
        return _PackedBlock(text, marshal.dumps(summaries))
    results = _evaluate_records(records, start, _worker_ruleset, _worker_repo_type,
                                _worker_waivers)
    try:
        return marshal.dumps(results)
    except ValueError:
        return results


def _evaluate_records(records: Iterable[Mapping[str, Any]], start: int, ruleset: Ruleset,
                      repo_type: RepoType | None,
                      waivers: Sequence[Waiver]) -> list[dict[str, Any]]:
    """Batch records of records numbered from ``start`` (see ``_numbered``)."""
    return [_numbered(evaluate_record(record, ruleset, repo_type, waivers=waivers), number)
            for number, record in enumerate(records, start)]


def _evaluate_block(records: Iterable[Mapping[str, Any]], start: int, ruleset: Ruleset,
                    repo_type: RepoType | None, waivers: Sequence[Waiver]) -> RecordBlock:
    """``_evaluate_records`` as one block: the JSONL text of them all and their summaries."""
    lines: list[str] = []
    summaries: list[dict[str, Any]] = []
    for number, record in enumerate(records, start):
        outcome = _judge_record(record, ruleset, repo_type, waivers)
        if isinstance(outcome, dict):
            _numbered(outcome, number)
            lines.append(encode_record(outcome))
            summaries.append(record_summary(outcome, bool(waivers)))
        else:
            lines.append(audit_record_line(outcome))
            summaries.append(report_summary(outcome, bool(waivers)))
    lines.append("")  # so every line ends with a newline
    # A lone surrogate (from a "\ud800" escape in the dump) is written as that JSON escape.
    return RecordBlock("\n".join(lines).encode("utf-8", "backslashreplace"), summaries)


def _numbered(record: dict[str, Any], number: int) -> dict[str, Any]:
    """A record without a repo id gets its position in the dump (``dump_record``)."""
    if not record.get("repo_id"):
        record["dump_record"] = number
    return record


class _PackedBlock(NamedTuple):
    """A RecordBlock on its way from a worker: the summaries still marshalled."""

    text: bytes
    summaries: bytes


def _unpack(results: bytes | _PackedBlock | _Results) -> _Results:
    if isinstance(results, _PackedBlock):
        return RecordBlock(results.text, marshal.loads(results.summaries))
    if isinstance(results, bytes):
        records: list[dict[str, Any]] = marshal.loads(results)
        return records
    return results


def _chunks(records: Iterable[_T], size: int) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_dump(path: Path, ruleset_paths: tuple[Path, ...], *, workers: int | None = None,
             repo_type: RepoType | None = None,
             waivers: Sequence[Waiver] = ()) -> Iterator[dict[str, Any]]:
    """Judge every record of a dump; yields batch records in input order (deterministic).

    ``workers`` processes (default: every core) each load the rules once; records travel in
    chunks with a bounded number in flight, so memory is flat in the number of records.
    ``workers=1`` judges in this process. ``waivers`` (a project policy's, already checked
    against the rules) are applied to every record, in the workers too. A record without a
    repo id carries its position in the dump (``dump_record``, from 1, blank lines not
    counted): a stable key, so ``--resume`` replaces it instead of adding a copy, and two such
    records are never taken for one repo. Raises UsageError when the file cannot be read and
    RuleFileError for invalid rules, before anything is yielded.
    """
    return _flat(_run(path, ruleset_paths, workers, repo_type, waivers, block=False))


def run_dump_blocks(path: Path, ruleset_paths: tuple[Path, ...], *, workers: int | None = None,
                    repo_type: RepoType | None = None,
                    waivers: Sequence[Waiver] = ()) -> Iterator[RecordBlock]:
    """``run_dump`` as blocks of records already encoded as JSONL, with their summaries.

    The workers encode the records, and the parent writes each block whole: a streamed
    ``--format jsonl`` run would otherwise spend most of the parent's time encoding,
    decoding and writing line by line. Raises as ``run_dump`` does, before any block.
    """
    blocks: Iterator[Any] = _run(path, ruleset_paths, workers, repo_type, waivers, block=True)
    return blocks


def _flat(results: Iterator[_Results]) -> Iterator[dict[str, Any]]:
    for records in results:
        assert not isinstance(records, RecordBlock)
        yield from records


def _run(path: Path, ruleset_paths: tuple[Path, ...], workers: int | None,
         repo_type: RepoType | None, waivers: Sequence[Waiver],
         block: bool) -> Iterator[_Results]:
    """The chunks' results, lazily; raises now for a bad --workers, bad rules or an
    unreadable dump."""
    chosen = tuple(waivers)  # frozen dataclasses: picklable, sent once per worker
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise UsageError(f"--workers must be at least 1, not {count}")
    ruleset = load_ruleset(ruleset_paths)  # validate the rules here, so errors surface once
    if count == 1:
        records = iter_dump(path)
        first = next(records, None)  # surface an unreadable file before any work starts
        if first is None:
            return iter(())
        return _in_process(_prepend(first, records), block, ruleset, repo_type, chosen)
    tasks = _tasks(path)
    head = next(tasks, None)  # surface an unreadable file before any worker starts
    if head is None:
        return iter(())
    return _run_pool(_prepend(head, tasks), ruleset_paths, repo_type, count, chosen, block)


def _tasks(path: Path) -> Iterator[_Task]:
    """What the workers get: blocks of JSONL lines, or numbered chunks of Parquet rows."""
    magic = _magic(path)
    if magic != _PARQUET_MAGIC:
        yield from _line_blocks(path, gzipped=magic.startswith(_GZIP_MAGIC))
        return
    start = 1
    for chunk in _chunks(_iter_parquet(path), CHUNK_SIZE):
        yield chunk, start
        start += len(chunk)


def _in_process(records: Iterator[dict[str, Any]], block: bool, ruleset: Ruleset,
                repo_type: RepoType | None, waivers: tuple[Waiver, ...]) -> Iterator[_Results]:
    """One record per result: judged here, each reaches the journal as soon as it is done."""
    evaluate = _evaluate_block if block else _evaluate_records
    for number, record in enumerate(records, 1):
        yield evaluate((record,), number, ruleset, repo_type, waivers)


def _prepend(first: _T, rest: Iterator[_T]) -> Iterator[_T]:
    yield first
    yield from rest


def _run_pool(tasks: Iterator[_Task], ruleset_paths: tuple[Path, ...],
              repo_type: RepoType | None, workers: int,
              waivers: tuple[Waiver, ...], block: bool) -> Iterator[_Results]:
    max_in_flight = workers * 2  # enough to keep every worker busy, few enough to stay small
    # spawn, not fork: the caller may run threads (HTTP pools, a progress bar) that fork breaks.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                               initargs=(ruleset_paths, repo_type, waivers))
    try:
        pending: deque[Future[bytes | _PackedBlock | _Results]] = deque()
        for task in tasks:
            pending.append(pool.submit(_evaluate_chunk, task, block))
            if len(pending) >= max_in_flight:
                yield _unpack(pending.popleft().result())
        while pending:
            yield _unpack(pending.popleft().result())
    except BrokenProcessPool:
        raise OpenAuditError(
            "a --from-dump worker process stopped (out of memory, killed, or its rules could "
            "not be loaded)", "re-run with fewer --workers; with --output and --resume the "
            "records already written are kept") from None
    finally:
        # Stopped early (Ctrl-C, an error, the caller closed us): drop the queued chunks
        # rather than judging them for nobody.
        pool.shutdown(wait=True, cancel_futures=True)
