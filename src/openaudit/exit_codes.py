"""Exit codes: the documented contract, decided in exactly one function."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from openaudit.models import Verdict


class ExitCode(IntEnum):
    """Process exit status (documented in the README and in ``--help``)."""

    OK = 0
    VERDICT_FAILED = 1
    USAGE_ERROR = 2
    NOT_AUDITED = 3


class FailOn(StrEnum):
    """The worst verdict that still exits 0 is the one just better than this threshold."""

    NON_COMPLIANT = "non-compliant"
    POTENTIALLY_COMPLIANT = "potentially-compliant"
    NEVER = "never"


def exit_code_for(
    verdicts: list[Verdict], fail_on: FailOn, *, usage_error: bool = False, not_audited: int = 0
) -> ExitCode:
    """Decide the exit code.

    A usage/config error wins (nothing was audited); then any target that could not be audited
    (an unknown is never a pass); then the verdicts against the ``--fail-on`` threshold.
    """
    if usage_error:
        return ExitCode.USAGE_ERROR
    if not_audited:
        return ExitCode.NOT_AUDITED
    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = Verdict(fail_on.value).rank
    if any(v.rank >= threshold for v in verdicts):
        return ExitCode.VERDICT_FAILED
    return ExitCode.OK
