"""The options every command that talks to a server takes, and the client they make.

Flags win over the environment; each option names its variable in --help. The key is
looked up by ``sources.find_key`` (not by Click) so that the CLI can say which source it
used, or every source it tried.
"""

from pathlib import Path
from typing import Annotated

import typer

from loopctl.cli.client import DEFAULT_TIMEOUT, Client
from loopctl.cli.errors import NoApiKey
from loopctl.cli.sources import (
    KEY_FLAG,
    KEY_VARIABLES,
    SERVER_DEFAULT_HELP,
    data_dir,
    find_key,
    resolve_server,
)

CONNECTION = "Connection"

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="LOOPCTL_SERVER",
        show_default=SERVER_DEFAULT_HELP,
        metavar="URL",
        help="The loopctl server to talk to.",
        rich_help_panel=CONNECTION,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        KEY_FLAG,
        "--key",
        envvar=list(KEY_VARIABLES),
        show_default="the local server's saved key",
        metavar="KEY",
        help="API key (never printed). The first variable set is used.",
        rich_help_panel=CONNECTION,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="LOOPCTL_PROFILE",
        show_default="the config's default_profile",
        metavar="NAME",
        help="The named profile of the config file to use (`loopctl config show`).",
        rich_help_panel=CONNECTION,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="LOOPCTL_DATA_DIR",
        show_default="as `loopctl serve`",
        metavar="DIR",
        help="The local server's data dir, where its saved key is.",
        rich_help_panel=CONNECTION,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        envvar="LOOPCTL_TIMEOUT",
        min=0.1,
        metavar="SECONDS",
        help="How long to wait for the server.",
        rich_help_panel=CONNECTION,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print JSON (the default when stdout is not a terminal)."),
]


def typed(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed the option (Click also fills it from its variables)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def connect(
    ctx: typer.Context,
    server: str | None,
    api_key: str | None,
    data_directory: Path | None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    key_required: bool = True,
) -> Client:
    """A client for the server and key the options and the environment name."""
    target = resolve_server(server if typed(ctx, "server") else None)
    lookup = find_key(
        api_key if typed(ctx, "api_key") else None,
        target,
        data_dir(data_directory if typed(ctx, "data_dir") else None),
    )
    if lookup.key is None and key_required:
        raise NoApiKey(lookup.tried)
    return Client(target, lookup.key, timeout=timeout, key_tried=lookup.tried)
