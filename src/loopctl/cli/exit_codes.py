"""The exit codes of every `loopctl` command: one table, documented in docs/cli.md and --help.

Scripts and agents branch on these, so a code never changes meaning once released.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    AUTH = 3
    FORBIDDEN = 4
    NOT_FOUND = 5
    CONFLICT = 6
    VALIDATION = 7
    RATE_LIMITED = 8
    SERVER = 9
    NETWORK = 10
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILURE: "any other failure (a local problem, an unexpected error)",
    ExitCode.USAGE: "bad command line: unknown option, missing or malformed value",
    ExitCode.AUTH: "no API key found, or the server refused it (401)",
    ExitCode.FORBIDDEN: "the key's role may not do this, or the tenant is suspended (403)",
    ExitCode.NOT_FOUND: "no such resource, or it belongs to another tenant (404)",
    ExitCode.CONFLICT: "the change conflicts with the current state (409)",
    ExitCode.VALIDATION: "the server refused the input as invalid (400, 413, 422)",
    ExitCode.RATE_LIMITED: "rate limited: retry after the time the message gives (429)",
    ExitCode.SERVER: "the server failed (5xx) or did not answer as loopctl does",
    ExitCode.NETWORK: "no answer: connection refused, timeout, unknown host, TLS failure",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

_BY_STATUS = {
    400: ExitCode.VALIDATION,
    401: ExitCode.AUTH,
    403: ExitCode.FORBIDDEN,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT,
    412: ExitCode.CONFLICT,
    413: ExitCode.VALIDATION,
    422: ExitCode.VALIDATION,
    429: ExitCode.RATE_LIMITED,
}


def for_status(status: int) -> ExitCode:
    """The exit code for an HTTP error status."""
    if status >= 500:
        return ExitCode.SERVER
    return _BY_STATUS.get(status, ExitCode.FAILURE)


def markdown_table() -> str:
    """The table in Markdown (the --help epilog; docs/cli.md holds the same rows)."""
    rows = [f"| {code.value} | {MEANINGS[code]} |" for code in ExitCode]
    return "\n".join(["| exit | meaning |", "|---:|---|", *rows])
