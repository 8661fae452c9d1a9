"""What the CLI can fail with, each carrying its exit code and a one-line message.

Every failure reaches the user as ``loopctl: <code>: <message>`` on stderr; the root
command (cli/group.py) prints it. Nothing printed here may hold a credential: messages
pass through ``redact`` and keys are named by their source, never shown.
"""

import re
from collections.abc import Mapping
from typing import Any

from loopctl.cli.exit_codes import ExitCode, for_status

# scheme://user:password@host -> scheme://user:***@host; keys (lc_ + body) -> lc_***.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE)
_KEY = re.compile(r"\blc_[A-Za-z0-9_-]{8,}")
_PASSWORD_PARAM = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_MAX_FIELDS = 3


def redact(text: str) -> str:
    """``text`` without passwords in URLs or conninfo strings, or API keys."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    text = _PASSWORD_PARAM.sub(r"\g<head>***", text)
    return _KEY.sub("lc_***", text)


def one_line(text: str) -> str:
    """Redacted, with newlines and terminal control characters (server text) flattened."""
    return _CONTROL.sub(" ", redact(text)).strip()


class CliError(Exception):
    """A failure the CLI reports in one line and turns into an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, code: str, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def line(self) -> str:
        return one_line(f"loopctl: {self.code}: {self.message}")


class UsageProblem(CliError):
    """A bad value the command line or the environment gave (exit 2, as Click's own)."""

    exit_code = ExitCode.USAGE


class NoApiKey(CliError):
    exit_code = ExitCode.AUTH

    def __init__(self, tried: list[str]) -> None:
        super().__init__("no_api_key", "no API key found; tried " + ", ".join(tried))


class NetworkError(CliError):
    """The server gave no answer: refused, timed out, unknown host, TLS or protocol failure."""

    exit_code = ExitCode.NETWORK


class ApiError(CliError):
    """The server answered with an error; ``code`` and ``message`` come from its envelope."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(code, message, exit_code=for_status(status))
        self.status = status
        self.details = dict(details) if details else {}

    @classmethod
    def from_body(cls, status: int, body: Any, reason: str = "") -> "ApiError":
        """From our envelope ``{"error": {status, code, message, details}}`` or any other body."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            details = error.get("details")
            return cls(
                status,
                error["code"],
                str(error.get("message") or f"HTTP {status}"),
                details if isinstance(details, dict) else None,
            )
        # Not our envelope: a proxy's or another server's page.
        return cls(status, f"http_{status}", f"HTTP {status} {reason}".strip())

    def line(self) -> str:
        return one_line(f"loopctl: {self.code}: {self.message}{self._hint()}")

    def _hint(self) -> str:
        """The details a reader needs to act, kept on the one line."""
        request_id = self.details.get("request_id")
        if request_id:
            return f" (request id {request_id})"
        errors = self.details.get("errors")
        if self.status == 422 and isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            if str(first.get("message")) in self.message:
                return ""  # the message already says it (a single-field error)
            shown = [
                f"{e.get('field')}: {e.get('message')}"
                for e in errors[:_MAX_FIELDS]
                if isinstance(e, dict)
            ]
            more = f"; and {len(errors) - _MAX_FIELDS} more" if len(errors) > _MAX_FIELDS else ""
            return " [" + "; ".join(shown) + more + "]"
        return ""


class Unexpected(CliError):
    """Any other exception: a bug or an environment problem, reported without its traceback."""

    def __init__(self, exc: BaseException) -> None:
        name = type(exc).__name__
        text = str(exc) or name
        super().__init__(
            "internal_error",
            f"{name}: {text} (LOOPCTL_DEBUG=1 or --debug shows the traceback)",
        )
