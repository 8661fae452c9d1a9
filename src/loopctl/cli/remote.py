"""Remote commands: the connection and output options declared once, for every command.

A command that talks to a server declares only its own arguments and takes ``@remote``
(under ``@app.command``); it gets ``--server``, ``--api-key/--key``, ``--profile``,
``--data-dir``, ``--timeout`` (panel "Connection") and ``--format/-f``, ``--json`` (panel
"Output"), and reaches them through the context::

    @app.command("show")
    @remote
    def show(ctx: typer.Context, ref: str) -> None:
        with client_for(ctx) as client:
            found = client.get_project(handles.project_id(client, ref))
        emit_for(ctx, found)

``client_for`` yields the typed ``loopctl.client.Client`` and turns its errors into CLI
errors (and so exit codes); ``emit_for`` prints in the chosen format. The options reach
the command's function only through ``connection(ctx)``; its own parameters keep their
names, so a command may have a ``--timeout`` of its own under another parameter name.
"""

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, get_type_hints

import typer
from typer.models import ArgumentInfo, ParameterInfo

from loopctl.cli.errors import ApiError, CliError, NoApiKey, UsageProblem
from loopctl.cli.errors import NetworkError as CliNetworkError
from loopctl.cli.exit_codes import ExitCode
from loopctl.cli.options import (
    ApiKeyOption,
    DataDirOption,
    ProfileOption,
    ServerOption,
    TimeoutOption,
    typed,
)
from loopctl.cli.output import Format, FormatOption, JsonFlag, chosen, emit
from loopctl.cli.sources import (
    Server,
    data_dir,
    default_project,
    find_key,
    profile_for,
    resolve_server,
)
from loopctl.client import (
    AuthError,
    Client,
    ConfigurationError,
    LoopctlError,
    NetworkError,
    ServerError,
)
from loopctl.client.clients import DEFAULT_TIMEOUT
from loopctl.client.config import Profile

P = ParamSpec("P")
R = TypeVar("R")
_META = "loopctl.remote"
_PROFILE = "loopctl.profile"
_CONTEXT = "remote_context"
_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD

# The parameters @remote adds: prefixed, so that they never clash with a command's own.
_ADDED = {
    "remote_server": (ServerOption, None),
    "remote_api_key": (ApiKeyOption, None),
    "remote_profile": (ProfileOption, None),
    "remote_data_dir": (DataDirOption, None),
    "remote_timeout": (TimeoutOption, DEFAULT_TIMEOUT),
    "remote_format": (FormatOption, None),
    "remote_json": (JsonFlag, False),
}


CONNECTION_FLAGS = ("--server", "--api-key", "--key", "--profile", "--data-dir", "--timeout")
SHARED_FLAGS = frozenset((*CONNECTION_FLAGS, "--format", "-f", "--json"))


@dataclass(frozen=True)
class Connection:
    """What the options said; a flag is kept only if typed (sources read the environment)."""

    server: str | None
    api_key: str | None
    profile: str | None
    data_dir: Path | None
    timeout: float
    format: Format | None
    as_json: bool


def _connection(ctx: typer.Context, given: dict[str, Any]) -> Connection:
    def flag(name: str) -> Any:
        return given[name] if typed(ctx, name) else None

    return Connection(
        server=flag("remote_server"),
        api_key=flag("remote_api_key"),
        profile=given["remote_profile"],
        data_dir=flag("remote_data_dir"),
        timeout=given["remote_timeout"],
        format=given["remote_format"],
        as_json=given["remote_json"],
    )


def _own_flags(param: inspect.Parameter) -> set[str]:
    """The flags a command's own parameter declares (an argument or the Context: none)."""
    infos = [
        m for m in getattr(param.annotation, "__metadata__", ()) if isinstance(m, ParameterInfo)
    ]
    if isinstance(param.default, ParameterInfo):
        infos.append(param.default)
    if param.annotation is typer.Context or any(isinstance(i, ArgumentInfo) for i in infos):
        return set()
    if not infos and param.default is inspect.Parameter.empty:
        return set()  # a plain parameter without a default is an argument too
    # In Annotated[…, typer.Option("--x")] the first flag sits in ``default``.
    declared = [
        d for info in infos for d in (info.default, *(info.param_decls or ())) if isinstance(d, str)
    ]
    names = {part for d in declared for part in d.split("/") if part.startswith("-")}
    return names or {"--" + param.name.replace("_", "-")}


def remote(command: Callable[P, R]) -> Callable[P, R]:
    """Give ``command`` the connection and output options (see the module's docstring)."""
    signature = inspect.signature(command)
    hints = get_type_hints(command, include_extras=True)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    clash = set().union(*(_own_flags(p) for p in params)) & SHARED_FLAGS
    if clash:
        raise TypeError(f"{command.__name__}: {sorted(clash)} are the shared options of @remote")
    ctx_name = next((p.name for p in params if p.annotation is typer.Context), None)
    own_ctx = ctx_name is not None
    if ctx_name is None:
        ctx_name = _CONTEXT
        params.insert(0, inspect.Parameter(ctx_name, _KEYWORD, annotation=typer.Context))
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in _ADDED.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs[ctx_name] if own_ctx else kwargs.pop(ctx_name)
        ctx.meta[_META] = _connection(ctx, {name: kwargs.pop(name) for name in _ADDED})
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def connection(ctx: typer.Context) -> Connection:
    """The options of the ``@remote`` command running in ``ctx`` (or a parent of it)."""
    current: Any = ctx
    while current is not None:
        if _META in current.meta:
            found: Connection = current.meta[_META]
            return found
        current = current.parent
    raise TypeError(f"{ctx.command_path} is not a @remote command")


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


def profile(ctx: typer.Context) -> Profile | None:
    """The profile in force for the command (read once per command)."""
    options = connection(ctx)
    if _PROFILE not in ctx.meta:
        ctx.meta[_PROFILE] = profile_for(options.profile)
    found: Profile | None = ctx.meta[_PROFILE]
    return found


@contextmanager
def cli_errors(target: Server, key_source: str | None, timeout: float) -> Iterator[None]:
    """Client errors inside as ``CliError``s, saying which key and server were used."""
    try:
        yield
    except LoopctlError as exc:
        error = as_cli_error(exc)
        if isinstance(exc, AuthError):
            sent = f"the key from {key_source}" if key_source else "no key sent"
            error.message += f" ({sent}; server {target.url})"
        elif isinstance(error, CliNetworkError):
            if exc.code == "timeout":
                error.message = f"no answer from {target.url} within {timeout:g} s"
            error.message += f" (server from {target.source})"
            if exc.code == "connection_refused":
                error.message += "; is `loopctl serve` running there?"
        raise error from None


@contextmanager
def client_for(ctx: typer.Context, *, key_required: bool = True) -> Iterator[Client]:
    """A ``loopctl.client.Client`` for the command's options; its errors leave as ``CliError``s.

    ``key_required=False`` goes on without a key (for signing up, or ``loopctl api``).
    """
    options = connection(ctx)
    chosen_profile = profile(ctx)
    target = resolve_server(options.server, profile=chosen_profile)
    lookup = find_key(options.api_key, target, data_dir(options.data_dir), profile=chosen_profile)
    if lookup.key is None and key_required:
        raise NoApiKey(lookup.tried)
    key_source = lookup.key.source if lookup.key else None
    with (
        cli_errors(target, key_source, options.timeout),
        Client(
            target.url,
            lookup.key.value if lookup.key else None,
            timeout=options.timeout,
            server_source=target.source,
            key_source=key_source,
            default_project=default_project(profile=chosen_profile),
        ) as client,
    ):
        yield client


def format_for(ctx: typer.Context) -> Format:
    """The output format: --format/--json, else the profile's format, else by stdout (a
    terminal: table; else JSON)."""
    options = connection(ctx)
    if options.format is None and not options.as_json:
        chosen_profile = profile(ctx)
        if chosen_profile is not None and chosen_profile.format:
            return Format(chosen_profile.format)
    return chosen(options.format, options.as_json)


def emit_for(
    ctx: typer.Context,
    result: Any,
    columns: Sequence[str] | None = None,
    *,
    caption: str = "",
) -> None:
    """Print ``result`` (a model, a Page, a list of models or plain JSON) as the options say.

    ``columns`` are a list's columns in a table or CSV (all fields when not given).
    """
    emit(result, format_for(ctx), columns, caption=caption)


__all__ = [
    "Connection",
    "as_cli_error",
    "cli_errors",
    "client_for",
    "connection",
    "emit_for",
    "format_for",
    "profile",
    "remote",
]
