"""JSON Lines: one compact record per line, sorted, for re-rendering a batch as a file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from openaudit.render.batch.common import ordered
from openaudit.sanitize import json_text


class JsonlRenderer:
    """Each record as one compact JSON object (its own key order kept), records sorted."""

    def render(self, records: Sequence[Mapping[str, Any]], out: TextIO) -> None:
        """Write one line per record."""
        for record in ordered(records):
            out.write(json_text(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
                      + "\n")
