"""The exit-code contract, as a table."""

from __future__ import annotations

import pytest

from openaudit.exit_codes import ExitCode, FailOn, exit_code_for
from openaudit.models import Verdict

C, P, N = Verdict.COMPLIANT, Verdict.POTENTIALLY_COMPLIANT, Verdict.NON_COMPLIANT


@pytest.mark.parametrize(
    ("verdicts", "fail_on", "expected"),
    [
        ([C], FailOn.NON_COMPLIANT, ExitCode.OK),
        ([P], FailOn.NON_COMPLIANT, ExitCode.OK),
        ([N], FailOn.NON_COMPLIANT, ExitCode.VERDICT_FAILED),
        ([C], FailOn.POTENTIALLY_COMPLIANT, ExitCode.OK),
        ([P], FailOn.POTENTIALLY_COMPLIANT, ExitCode.VERDICT_FAILED),
        ([N], FailOn.POTENTIALLY_COMPLIANT, ExitCode.VERDICT_FAILED),
        ([N], FailOn.NEVER, ExitCode.OK),
        ([C, N], FailOn.NON_COMPLIANT, ExitCode.VERDICT_FAILED),
    ],
)
def test_verdict_against_threshold(verdicts: list[Verdict], fail_on: FailOn,
                                   expected: ExitCode) -> None:
    assert exit_code_for(verdicts, fail_on) is expected


def test_usage_error_wins_over_everything() -> None:
    assert exit_code_for([N], FailOn.NON_COMPLIANT, usage_error=True,
                         not_audited=1) is ExitCode.USAGE_ERROR


def test_not_audited_is_never_a_pass() -> None:
    assert exit_code_for([], FailOn.NEVER, not_audited=1) is ExitCode.NOT_AUDITED
    assert exit_code_for([C], FailOn.NON_COMPLIANT, not_audited=1) is ExitCode.NOT_AUDITED
