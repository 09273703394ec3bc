"""Decoding of repo text files: UTF-8 (BOM tolerated), bad bytes replaced and reported."""

from __future__ import annotations


def decode_capped(data: bytes, cap: int) -> tuple[str, bool]:
    """Decode at most ``cap`` bytes; returns the text and whether bytes had to be replaced."""
    chunk = data[:cap]
    if chunk.startswith(b"\xef\xbb\xbf"):
        chunk = chunk[3:]
    try:
        return chunk.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        # A cap can cut a multi-byte character in half: that alone is not an encoding problem.
        if len(data) > cap and exc.start >= len(chunk) - 3:
            return chunk[: exc.start].decode("utf-8"), False
        return chunk.decode("utf-8", errors="replace"), True
