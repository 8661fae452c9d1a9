"""The typed client (``loopctl.client``) for a command, its errors turned into CLI errors.

Server and key come from the same options and sources as every command (cli/options.py);
a ``LoopctlError`` becomes an ``ApiError`` with the server's code and message (exit code by
status, cli/exit_codes.py), a ``NetworkError`` or a bad URL keeps its own exit code.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from loopctl.cli.errors import ApiError, CliError, NoApiKey, UsageProblem
from loopctl.cli.errors import NetworkError as CliNetworkError
from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.options import typed
from loopctl.cli.sources import data_dir, find_key, resolve_server
from loopctl.client import (
    AuthError,
    Client,
    ConfigurationError,
    LoopctlError,
    NetworkError,
    ServerError,
)


def as_cli_error(exc: LoopctlError) -> CliError:
    """The CLI error (and so the exit code) for a client error."""
    if isinstance(exc, ConfigurationError):
        return UsageProblem(exc.code, exc.message)
    if isinstance(exc, NetworkError) or exc.status is None:
        return CliNetworkError(exc.code, exc.message)
    error = ApiError(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, ServerError):  # also a 2xx answer the client cannot read
        error.exit_code = ExitCode.SERVER
    return error


@contextmanager
def client_for(
    ctx: typer.Context,
    server: str | None,
    api_key: str | None,
    data_directory: Path | None,
    timeout: float,
) -> Iterator[Client]:
    """A ``loopctl.client.Client`` for the options; client errors leave as ``CliError``s."""
    target = resolve_server(server if typed(ctx, "server") else None)
    lookup = find_key(
        api_key if typed(ctx, "api_key") else None,
        target,
        data_dir(data_directory if typed(ctx, "data_dir") else None),
    )
    if lookup.key is None:
        raise NoApiKey(lookup.tried)
    try:
        with Client(
            target.url,
            lookup.key.value,
            timeout=timeout,
            server_source=target.source,
            key_source=lookup.key.source,
        ) as client:
            yield client
    except LoopctlError as exc:
        error = as_cli_error(exc)
        if isinstance(exc, AuthError):
            error.message += f" (the key from {lookup.key.source}; server {target.url})"
        raise error from None
