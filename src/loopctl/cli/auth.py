"""`loopctl auth login|logout|whoami`: keep a key in a profile, after the server accepts it."""

import sys
from typing import Annotated

import typer

from loopctl.cli.errors import CliError, UsageProblem
from loopctl.cli.options import ServerOption, TimeoutOption, typed
from loopctl.cli.profiles import ProfileFlag, load_config, save_config, target_profile
from loopctl.cli.remote import cli_errors
from loopctl.cli.sources import Server, as_cli, resolve_server
from loopctl.cli.whoami import whoami
from loopctl.client import Client
from loopctl.client.clients import DEFAULT_TIMEOUT
from loopctl.client.config import Config, mask

app = typer.Typer(help="Log in (save a checked key in a profile), log out, whoami.")


def _read_key(from_stdin: bool) -> str:
    if from_stdin:
        key = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        key = typer.prompt("API key", hide_input=True).strip()
    else:
        raise UsageProblem(
            "no_terminal", "no terminal to prompt on: pipe the key with --with-key-stdin"
        )
    if not key:
        raise UsageProblem("no_api_key", "no key given")
    return key


def _server_for(ctx: typer.Context, flag: str | None, loaded: Config, name: str) -> Server:
    """--server, else LOOPCTL_SERVER, else the profile's server, else the local server."""
    with as_cli():
        existing = loaded.profile(name) if name in loaded.profiles else None
    return resolve_server(flag if typed(ctx, "server") else None, profile=existing)


@app.command("login")
def login(
    ctx: typer.Context,
    profile: ProfileFlag = None,
    server: ServerOption = None,
    with_key_stdin: Annotated[
        bool, typer.Option("--with-key-stdin", help="Read the key from stdin, not a prompt.")
    ] = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Check a key with the server, then save it and the server in a profile (0600)."""
    loaded = load_config()
    name = target_profile(profile, loaded)
    target = _server_for(ctx, server, loaded, name)
    url = target.url
    key = _read_key(with_key_stdin)
    with cli_errors(target, "the key given", timeout), Client(url, key, timeout=timeout) as client:
        me = client.get_my_api_key()
        tenant = client.get_tenant()
    loaded.profiles.setdefault(name, {}).update(server=url, api_key=key)
    loaded.default_profile = loaded.default_profile or name
    save_config(loaded)
    typer.echo(
        f"Logged in to {url}: {me.role} key {me.key_prefix}…, tenant {tenant.slug}; "
        f"saved in profile {name} ({loaded.path})",
        err=True,
    )


@app.command("logout")
def logout(
    profile: ProfileFlag = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove the profile's saved key (the key itself stays valid: `keys revoke` ends it)."""
    loaded = load_config()
    name = target_profile(profile, loaded)
    key = loaded.profiles.get(name, {}).get("api_key")
    if key is None:
        raise CliError("not_logged_in", f"profile {name} has no saved key")
    if not yes and not typer.confirm(f"Remove the key {mask(key)} from profile {name}?"):
        raise typer.Exit(1)
    del loaded.profiles[name]["api_key"]
    save_config(loaded)
    typer.echo(f"Removed the key from profile {name} ({loaded.path})", err=True)


app.command("whoami")(whoami)
