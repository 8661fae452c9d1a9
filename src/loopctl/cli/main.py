"""The `loopctl` command."""

import json
from typing import Annotated

import typer

from loopctl.cli import admin, db
from loopctl.cli.client import Client, ClientError, api_key, server_url
from loopctl.cli.serve import serve
from loopctl.platform.config import VERSION

app = typer.Typer(
    name="loopctl",
    help="loopctl: the shared, trustworthy record of an AI-driven software project.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(serve)
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")

ServerOption = Annotated[
    str | None, typer.Option(help="Server URL [env LOOPCTL_SERVER; default http://127.0.0.1:4000]")
]
KeyOption = Annotated[
    str | None,
    typer.Option(help="API key [env LOOPCTL_API_KEY…; default: the local server's saved key]"),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"loopctl {VERSION}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version")
    ] = False,
) -> None:
    """loopctl: the shared, trustworthy record of an AI-driven software project."""


@app.command()
def whoami(server: ServerOption = None, key: KeyOption = None) -> None:
    """Show the tenant the API key belongs to (JSON)."""
    base = server_url(server)
    client = Client(base, api_key(key, base))
    try:
        body = client.request("GET", "/api/v1/tenants/me")
    except ClientError as exc:
        typer.echo(json.dumps(exc.body), err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    typer.echo(json.dumps(body, indent=2))


def main() -> None:
    app()
