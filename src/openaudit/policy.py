"""The project policy file (``.openaudit.yaml``): strict loading, checks, and applying it.

Three steps, so that every error surfaces before anything is audited:

1. ``load_policy(path)`` reads and validates the file on its own (keys, types, dates, paths);
2. ``check_policy(policy, ruleset, today)`` checks it against the loaded rules (pack ids, rule
   ids with "did you mean", expired waivers);
3. ``apply_policy(result_or_report, policy, ruleset, today)`` waives findings (pure).

``rule_paths`` and ``effective_fail_on`` turn a policy into ``load_ruleset`` extras and the exit
threshold. Every error is a PolicyError (exit 2) naming the file, the key and what is expected.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import yaml

from openaudit.errors import PolicyError, UsageError
from openaudit.exit_codes import FailOn
from openaudit.models import AuditReport, RepoType
from openaudit.packs import Ruleset
from openaudit.safe_read import RefusedFile, inside, read_config_text
from openaudit.waivers import Waiver, apply_waivers, unread_under_waiver, unused_waivers
from openaudit.yaml_guard import short_repr, yaml_problem

if TYPE_CHECKING:
    from openaudit.pipeline import AuditResult

SCHEMA_VERSION = 1
POLICY_NAMES = (".openaudit.yaml", ".openaudit.yml")
TODAY_ENV = "OPENAUDIT_TODAY"
_TOP_KEYS = ("schema_version", "packs", "rules", "fail_on", "waivers")
_WAIVER_KEYS = ("rule", "reason", "expires", "target")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Policy:
    """A validated policy file.

    Attributes:
        path: The file it was read from (as given), for messages.
        packs: Pack id expected to judge each repo type (only the types the file names).
        rules: Extra rule files / pack directories, resolved against the file's folder.
        fail_on: Exit threshold; None when the file leaves it to the default.
        waivers: In file order (the first matching waiver gives a finding its reason).
    """

    path: Path
    packs: Mapping[RepoType, str] = field(default_factory=dict)
    rules: tuple[Path, ...] = ()
    fail_on: FailOn | None = None
    waivers: tuple[Waiver, ...] = ()


# ---- finding and loading -----------------------------------------------------------------------


def find_policy(folder: Path) -> Path | None:
    """The policy file in this folder (``.openaudit.yaml`` or ``.openaudit.yml``), if any."""
    # lexists: a FIFO or a dangling symlink is found too, and then refused by load_policy.
    found = [folder / name for name in POLICY_NAMES if os.path.lexists(folder / name)]
    if len(found) > 1:
        raise PolicyError(str(found[0]), f"{found[1].name} exists too; keep one policy file")
    return found[0] if found else None


def load_policy(path: Path, root: Path | None = None) -> Policy:
    """Read and validate a policy file on its own (the rules it names must exist).

    ``root``: the audited folder, for the folder's own policy. The file and every rule file it
    names must then lie inside it: a pull request must not make the audit read other files.
    """
    where = str(path)
    doc = _read(path, root)
    if doc is None:
        raise PolicyError(where, f"is empty; expected a mapping with schema_version: "
                          f"{SCHEMA_VERSION}")
    top = _mapping(doc, where, "")
    _keys(top, _TOP_KEYS, ("schema_version",), where, "")
    version = top["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:  # true and 1.0 are not 1
        raise PolicyError(where, f"unsupported schema_version {short_repr(version)} "
                          f"(expected {SCHEMA_VERSION})", "schema_version")
    return Policy(path=path, packs=_packs(top.get("packs"), where),
                  rules=_rules(top.get("rules"), path, root),
                  fail_on=_fail_on(top.get("fail_on"), where),
                  waivers=_waivers(top.get("waivers"), where))


# libyaml's parser when available: 30,000 waivers load in seconds, not half a minute.
if TYPE_CHECKING:
    _SAFE = yaml.SafeLoader
else:
    _SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE):
    """Safe YAML that keeps dates as text (parsed strictly below) and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {short_repr(key_node.value)}",
                        key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read(path: Path, root: Path | None) -> Any:
    where = str(path)
    if path.is_dir():
        raise PolicyError(where, "is a directory; expected a YAML policy file")
    try:
        text = read_config_text(path, root)
    except RefusedFile as exc:
        raise PolicyError(where, exc.reason) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(where, f"is not valid UTF-8 (byte {exc.object[exc.start]:#04x} at "
                          f"offset {exc.start})") from None
    problem = yaml_problem(text)
    if problem is not None:
        raise PolicyError(where, problem)
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc)[:200]
        raise PolicyError(where, f"invalid YAML{at}: {problem}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # A tag whose value cannot be built (e.g. `!!int x`, `!!timestamp x`).
        raise PolicyError(where, f"invalid YAML: a tagged value cannot be read "
                          f"({type(exc).__name__})") from None


def _mapping(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(where, f"expected a mapping, got {_kind(value)}", key)
    return value


def _keys(doc: Mapping[Any, Any], allowed: Sequence[str], required: Sequence[str], where: str,
          prefix: str) -> None:
    for key in sorted(set(doc) - set(allowed), key=str):
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise PolicyError(where, f"unknown key ({hint}allowed: {', '.join(allowed)})",
                          f"{prefix}.{key}" if prefix else str(key))
    for key in required:
        if key not in doc:
            raise PolicyError(where, "missing required key", f"{prefix}.{key}" if prefix else key)


def _text(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        got = "an empty string" if isinstance(value, str) else _kind(value)
        raise PolicyError(where, f"expected a non-empty string, got {got}", key)
    return value.strip()


def _list(value: Any, where: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise PolicyError(where, f"expected a list, got {_kind(value)}", key)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _packs(value: Any, where: str) -> dict[RepoType, str]:
    if value is None:
        return {}
    raw = _mapping(value, where, "packs")
    _keys(raw, [t.value for t in RepoType], (), where, "packs")
    return {RepoType(k): _text(v, where, f"packs.{k}") for k, v in sorted(raw.items())}


def _rules(value: Any, path: Path, root: Path | None) -> tuple[Path, ...]:
    if value is None:
        return ()
    where, base = str(path), path.parent
    resolved = []
    for index, item in enumerate(_list(value, where, "rules")):
        key = f"rules[{index}]"
        text = _text(item, where, key)
        try:
            rule_path = base / (Path(text) if root is not None else Path(text).expanduser())
            exists = rule_path.exists()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, ~nobody, too long
            raise PolicyError(where, f"not a usable path ({type(exc).__name__})", key) from None
        if not exists:
            raise PolicyError(where, f"no such file or directory: {rule_path} (paths are "
                              "relative to the policy file)", key)
        if root is not None:
            _inside(rule_path, root, where, key)
        resolved.append(rule_path)
    return tuple(resolved)


def _inside(rule_path: Path, root: Path, where: str, key: str) -> None:
    """The folder's own policy names rules inside the folder only (a pack's files too)."""
    members = sorted(rule_path.glob("*.yaml")) if rule_path.is_dir() else []
    for candidate in (rule_path, *members):
        if not inside(candidate, root):
            raise PolicyError(where, f"{candidate} leaves the audited folder (refused: the "
                              "folder's own policy may only name rules inside it)", key)


def _fail_on(value: Any, where: str) -> FailOn | None:
    if value is None:
        return None
    allowed = ", ".join(f.value for f in FailOn)
    if not isinstance(value, str) or value not in {f.value for f in FailOn}:
        raise PolicyError(where, f"expected one of {allowed}, got {short_repr(value)}", "fail_on")
    return FailOn(value)


def _waivers(value: Any, where: str) -> tuple[Waiver, ...]:
    if value is None:
        return ()
    waivers: list[Waiver] = []
    first: dict[tuple[str, str | None], Waiver] = {}  # a dict: 30,000 waivers stay linear
    for index, item in enumerate(_list(value, where, "waivers")):
        key = f"waivers[{index}]"
        raw = _mapping(item, where, key)
        _keys(raw, _WAIVER_KEYS, ("rule", "reason"), where, key)
        target = raw.get("target")
        waiver = Waiver(rule=_text(raw["rule"], where, f"{key}.rule"),
                        reason=_text(raw["reason"], where, f"{key}.reason"),
                        expires=_date(raw.get("expires"), where, f"{key}.expires"),
                        target=None if target is None else _text(target, where, f"{key}.target"),
                        where=key)
        earlier = first.setdefault((waiver.rule.upper(), waiver.target), waiver)
        if earlier is not waiver:
            on = "every target" if waiver.target is None else f"target '{waiver.target}'"
            raise PolicyError(where, f"duplicate waiver: {waiver.rule} on {on} is already "
                              f"waived by {earlier.where}", key)
        waivers.append(waiver)
    return tuple(waivers)


def _date(value: Any, where: str, key: str) -> date | None:
    if value is None:
        return None
    if type(value) is date:  # an explicit !!timestamp tag
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise PolicyError(where, f"{short_repr(value)} is not a real date ({exc})",
                              key) from None
    raise PolicyError(where, f"expected a date as YYYY-MM-DD, got {short_repr(value)}", key)


# ---- using a policy ----------------------------------------------------------------------------


def rule_paths(policy: Policy | None, extra: Sequence[Path] = ()) -> tuple[Path, ...]:
    """``load_ruleset`` extras: the policy's rules first, then ``--rules`` (which win)."""
    return (*(policy.rules if policy else ()), *extra)


def effective_fail_on(cli: FailOn | None, policy: Policy | None) -> FailOn:
    """An explicit ``--fail-on`` wins, then the policy's ``fail_on``, then non-compliant."""
    if cli is not None:
        return cli
    if policy is not None and policy.fail_on is not None:
        return policy.fail_on
    return FailOn.NON_COMPLIANT


def check_policy(policy: Policy, ruleset: Ruleset, today: date) -> None:
    """Check the policy against the loaded rules: pack ids, rule ids, expiry dates."""
    where = str(policy.path)
    loaded = {p.id: p for p in ruleset.packs.values()}
    for repo_type, pack_id in policy.packs.items():
        judging = ruleset.pack_for(repo_type).id
        if pack_id == judging:
            continue
        if pack_id in loaded:
            problem = (f"pack {short_repr(pack_id)} judges {loaded[pack_id].applies_to.value}s; "
                       f"{repo_type.value}s are judged by {short_repr(judging)}")
        else:
            problem = (f"unknown pack {short_repr(pack_id)} (loaded packs: "
                       f"{', '.join(sorted(loaded))})")
        raise PolicyError(where, problem, f"packs.{repo_type.value}",
                          "add the pack's directory to `rules:` (or --rules), or fix the id")
    ids = sorted(r.id for p in loaded.values() for r in p.rules)
    for waiver in policy.waivers:
        if waiver.rule not in ids:
            close = difflib.get_close_matches(waiver.rule.upper(), ids, n=3)
            raise PolicyError(where, f"no rule {short_repr(waiver.rule)} in the loaded packs "
                              f"({', '.join(sorted(loaded))})", f"{waiver.where}.rule",
                              ("did you mean: " + ", ".join(close)) if close
                              else "see `openaudit rules list`")
        if waiver.expired(today):
            raise PolicyError(where, f"the waiver for {waiver.rule} expired on "
                              f"{waiver.expires} (today is {today})",
                              f"{waiver.where}.expires",
                              "fix the finding and remove the waiver, or renew it with a new "
                              "date and reason")


@overload
def apply_policy(target: AuditReport, policy: Policy, ruleset: Ruleset,
                 today: date) -> AuditReport: ...


@overload
def apply_policy(target: AuditResult, policy: Policy, ruleset: Ruleset,
                 today: date) -> AuditResult: ...


def apply_policy(target: AuditReport | AuditResult, policy: Policy, ruleset: Ruleset,
                 today: date) -> AuditReport | AuditResult:
    """Check the policy, then waive the findings it accepts (pure; returns a new value)."""
    check_policy(policy, ruleset, today)
    report = target if isinstance(target, AuditReport) else target.report
    pack = next((p for p in ruleset.packs.values() if p.id == report.pack), None)
    if pack is None:
        raise ValueError(f"the report's pack {report.pack!r} is not in this ruleset")
    waived = apply_waivers(report, pack, policy.waivers)
    return waived if isinstance(target, AuditReport) else replace(target, report=waived)


def policy_notes(policy: Policy, reports: Iterable[AuditReport]) -> list[str]:
    """Lines for stderr: waivers no longer needed, and waivers that met unread evidence.

    A waiver is no longer needed when its rule passes wherever it applies. A waiver whose rule
    was not tested on a target it covers accepted nothing there: say so, so that nobody reads
    the waiver as having taken effect.
    """
    reports = list(reports)
    return ([f"{policy.path}: {w.where} waives {w.rule}, which passes now; the waiver can go"
             for w in unused_waivers(policy.waivers, reports)]
            + [f"{policy.path}: {w.where} waives {w.rule}, but {w.rule} was not tested on "
               f"{repo_id} and still counts: waivers never cover evidence that could not be read"
               for w, repo_id in unread_under_waiver(policy.waivers, reports)])


def today_from_env(environ: Mapping[str, str]) -> date:
    """The local date, or ``OPENAUDIT_TODAY`` (YYYY-MM-DD) when set, e.g. in tests."""
    value = environ.get(TODAY_ENV, "").strip()
    if not value:
        return date.today()
    if _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{TODAY_ENV}={short_repr(value)} is not a date",
                     "use YYYY-MM-DD, or unset it")
