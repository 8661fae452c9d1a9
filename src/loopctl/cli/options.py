"""The connection options every remote command takes (cli/remote.py adds them).

Flags win over the environment; each option names its variable in --help. Server and key
are looked up by ``sources`` (not by Click) so that the CLI can say which source it used,
or every source it tried: ``typed`` tells a typed flag from a variable Click read.
"""

from pathlib import Path
from typing import Annotated

import typer

from loopctl.cli.sources import (
    KEY_FLAG,
    KEY_VARIABLES,
    SERVER_DEFAULT_HELP,
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


def typed(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed the option (Click also fills it from its variables)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"
