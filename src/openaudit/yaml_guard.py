"""Limits checked on YAML before it is loaded: nesting depth and alias count.

PyYAML's pure-Python parser is quadratic in the nesting depth (100,000 levels: minutes) and
constructing an alias bomb exhausts memory. One linear pass over libyaml's event stream,
stopped at the first excess, decides both before any object is built. Error messages built
from loaded values go through ``short_repr`` so no value can make a message unbounded.
"""

from __future__ import annotations

import reprlib
from typing import Any

import yaml

MAX_YAML_DEPTH = 64  # nested collections; real cards, rules and policies use under 15
MAX_YAML_ALIASES = 20  # real files use few or none; "billion laughs" needs many
MAX_ALIAS_NODES = 100_000  # values aliases may add when expanded (one alias of a huge list)
_PARSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 3


def yaml_problem(text: str, max_depth: int = MAX_YAML_DEPTH,
                 max_aliases: int = MAX_YAML_ALIASES) -> str | None:
    """Why this YAML is refused before loading, or None (syntax errors are left to the load)."""
    depth = aliases = added = nodes = 0
    sizes: dict[str, int] = {}  # anchor -> nodes its value expands to
    open_anchors: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            if isinstance(event, yaml.NodeEvent) and not isinstance(event, yaml.AliasEvent):
                nodes += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    break
                open_anchors.append((event.anchor, nodes))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, start = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = nodes - start + 1
            elif isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                size = sizes.get(event.anchor or "", 1)
                nodes += size  # what loading it builds: nested aliases multiply
                added += size
                if aliases > max_aliases or added > MAX_ALIAS_NODES:
                    return (f"uses more than {max_aliases} YAML aliases or aliases that expand "
                            f"to over {MAX_ALIAS_NODES:,} values (refused: alias expansion "
                            "can exhaust memory)")
        else:
            return None
    except yaml.YAMLError as exc:
        if "nesting depth" not in str(exc):  # libyaml's own cap (1000 levels)
            return None
    return f"nests collections more than {max_depth} levels deep (refused)"


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to about 80 characters, whatever the value's size or depth."""
    return _REPR.repr(value)
