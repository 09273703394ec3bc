"""The project's own error tree: every error carries a user-facing message and a next step."""

from __future__ import annotations


class OpenAuditError(Exception):
    """Base class; ``message`` says what went wrong, ``hint`` what to do next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(OpenAuditError):
    """Bad arguments or options; nothing was audited."""


class RuleFileError(OpenAuditError):
    """A rule pack, licence catalogue or signal file is invalid; nothing was audited."""

    def __init__(self, path: str, message: str, rule_id: str = "", key: str = "") -> None:
        where = path
        if rule_id:
            where += f", rule {rule_id}"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}",
                         "fix the rule file; `openaudit rules list` loads it")
        self.path = path
        self.rule_id = rule_id
        self.key = key


class FetchError(OpenAuditError):
    """The target could not be audited (not found, unreachable, unreadable)."""


class TargetNotFound(FetchError):
    """The repository or revision does not exist (or is private)."""

    def __init__(self, message: str, hint: str = "", suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint)
        self.suggestions = suggestions


class AccessDenied(FetchError):
    """The Hub refused access to the whole repository (private, disabled, bad token)."""


class HubUnavailable(FetchError):
    """Network error, timeout, rate limit, server error or offline mode without a cache."""


class PolicyError(UsageError):
    """The project policy file (``.openaudit.yaml``) is invalid or stale; nothing was audited."""

    def __init__(self, path: str, message: str, key: str = "", hint: str = "") -> None:
        where = f"{path}, key '{key}'" if key else path
        super().__init__(f"{where}: {message}",
                         hint or "fix the policy file (see README, \"Project policy file\")")
        self.path = path
        self.key = key
