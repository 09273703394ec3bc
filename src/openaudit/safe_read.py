"""Open only regular files, optionally only inside a root folder, and read them with a cap.

Every reader of local input goes through here: a checked-out pull request can hold a
``README.md`` that is a symlink to ``/proc/self/environ``, a FIFO named ``LICENSE`` or a
policy pointing at ``/dev/zero``. Each of those is refused with a reason a report can show,
before a byte is read: the path is resolved, must stay inside ``root`` when one is given,
must not be a pseudo-file (``/proc``, ``/sys``, ``/dev``), and is opened non-blocking (a FIFO
cannot hang the open) and checked with ``fstat`` to be a regular file no larger than the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_CONFIG_BYTES = 4 << 20  # a policy, rule, catalogue or vocabulary file: 4 MiB
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev")  # kernel-made files: their size says nothing
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class RefusedFile(Exception):
    """The file was not read; ``reason`` says why in words fit for a report (``refused: …``,
    or ``cannot read: …``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Missing(RefusedFile):
    """The file does not exist."""


class TooLarge(RefusedFile):
    """A regular file over the cap; ``size`` is its size in bytes."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"refused: {size:,} bytes, over the {cap:,}-byte limit")
        self.size = size


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, every symlink resolved, is ``root`` or lies under it."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def open_regular(path: Path, root: Path | None = None) -> int:
    """A read-only descriptor of ``path``, which must be a regular file (inside ``root``)."""
    real = os.path.realpath(path)
    if root is not None and not inside(path, root):
        raise RefusedFile("refused: a symlink to a file outside the audited folder (not followed)")
    if any(real == top or real.startswith(top + "/") for top in _PSEUDO_ROOTS):
        raise RefusedFile(f"refused: {real} is a system pseudo-file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise Missing("cannot read: no such file") from None
    except OSError as exc:
        raise RefusedFile(f"cannot read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise RefusedFile(f"refused: {kind}, not a regular file")
    return fd


def read_capped(path: Path, cap: int, root: Path | None = None) -> bytes:
    """The whole content of a regular file of at most ``cap`` bytes; raises RefusedFile.

    The size is checked before reading (a sparse 2 GB file costs nothing) and again while
    reading, in case the file grows.
    """
    fd = open_regular(path, root)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise TooLarge(size, cap)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise RefusedFile(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise TooLarge(len(data), cap)
    return data


def read_config_text(path: Path, root: Path | None = None, cap: int = MAX_CONFIG_BYTES) -> str:
    """A configuration file (policy, rules, catalogue) as UTF-8 text (a BOM is dropped).

    Raises RefusedFile, or UnicodeDecodeError for bytes that are not UTF-8.
    """
    return read_capped(path, cap, root).decode("utf-8-sig")


def open_stream(path: Path) -> int:
    """A descriptor of a regular file to stream (a dump or journal), with no size cap."""
    return open_regular(path)
