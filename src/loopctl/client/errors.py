"""The client's exceptions: one class per error class, each carrying status, code, message, details.

A server answer in our envelope ``{"error": {"status", "code", "message", "details"}}`` becomes
the class for its status; an answer without it (a proxy's page) keeps the status and gets the
code ``http_<status>``. No answer at all is a ``NetworkError`` (status ``None``).
"""

from collections.abc import Mapping
from typing import Any


class LoopctlError(Exception):
    """Any failure of a client call; match on ``code``, which is stable."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details) if details else {}


class AuthError(LoopctlError):
    """401: no key, or the server refused it."""


class ForbiddenError(LoopctlError):
    """403: the key's role may not do this, or the tenant is suspended."""


class NotFoundError(LoopctlError):
    """404: no such resource, or it belongs to another tenant."""


class ConflictError(LoopctlError):
    """409 (and 412): the change conflicts with the current state."""


class ValidationError(LoopctlError):
    """400, 413, 414, 422, 431: the server refused the input; ``details.errors`` names fields."""


class RateLimitedError(LoopctlError):
    """429: retry after ``retry_after`` seconds (from ``Retry-After``), when the server says."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, details)
        self.retry_after = retry_after


class ServerError(LoopctlError):
    """5xx, or an answer that is not a loopctl server's."""


class NetworkError(LoopctlError):
    """No answer: connection refused or reset, timeout, unknown host, TLS failure."""


class ConfigurationError(LoopctlError):
    """The client was given (or the environment holds) a bad server URL or port."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(None, code, message)


_BY_STATUS: dict[int, type[LoopctlError]] = {
    400: ValidationError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: ConflictError,
    413: ValidationError,
    414: ValidationError,
    422: ValidationError,
    429: RateLimitedError,
    431: ValidationError,
}


def error_class(status: int) -> type[LoopctlError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, LoopctlError)


def _retry_after(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None  # an HTTP date; callers fall back to details.retry_after_seconds


def from_answer(
    status: int, body: Any, reason: str = "", retry_after: str | None = None
) -> LoopctlError:
    """The exception for an error answer: our envelope's code, message and details, if present."""
    cls = error_class(status)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = error.get("details")
        code, message = error["code"], str(error.get("message") or f"HTTP {status}")
        details = details if isinstance(details, dict) else None
    else:
        code, message, details = f"http_{status}", f"HTTP {status} {reason}".strip(), None
    if cls is RateLimitedError:
        return RateLimitedError(status, code, message, details, _retry_after(retry_after))
    return cls(status, code, message, details)
