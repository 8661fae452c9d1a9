"""`loopctl admin`: operator actions run on the server host, straight against the database."""

import asyncio
import getpass
import socket
from datetime import UTC, datetime, timedelta
from typing import Annotated

import psycopg
import typer

from loopctl.admin import service as admin
from loopctl.auth.keys import KeyHasher
from loopctl.database.bootstrap import Database, open_database, secret_of
from loopctl.database.connections import conninfo
from loopctl.platform.config import Settings
from loopctl.platform.errors import AppError

app = typer.Typer(help="Operator actions (run on the server host).", no_args_is_help=True)


def _operator() -> str:
    return f"operator:{getpass.getuser()}@{socket.gethostname()}"


def _admin_url(database: Database) -> str:
    url = database.settings.admin_database_url
    if url is None:
        typer.echo("loopctl: set LOOPCTL_ADMIN_DATABASE_URL (the admin role) first", err=True)
        raise typer.Exit(2)
    return conninfo(url.get_secret_value(), application_name="loopctl-admin")


async def _superadmin_key(database: Database, name: str, days: int | None) -> str:
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    hasher = KeyHasher(secret_of(database.settings))
    async with await psycopg.AsyncConnection.connect(_admin_url(database)) as conn:
        _, raw = await admin.create_superadmin_key(
            conn, hasher, name=name, expires_at=expires, operator=_operator()
        )
    return raw


@app.command("create-superadmin-key")
def create_superadmin_key(
    name: Annotated[str, typer.Option(help="What the key is for")] = "superadmin",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Days until the key stops working [default: never]")
    ] = None,
) -> None:
    """Mint a superadmin key (the only way to get one). It is printed once."""
    database = open_database(Settings(), migrate=False)
    try:
        raw = asyncio.run(_superadmin_key(database, name, expires_in_days))
    finally:
        database.stop()
    typer.echo(raw)


async def _set_status(database: Database, slug: str, status: str) -> str:
    async with await psycopg.AsyncConnection.connect(_admin_url(database)) as conn:
        row = await admin.set_tenant_status(
            conn, database.settings, slug=slug, status=status, operator=_operator()
        )
    return row.status


def _status_command(slug: str, status: str) -> None:
    database = open_database(Settings(), migrate=False)
    try:
        result = asyncio.run(_set_status(database, slug, status))
    except AppError as exc:
        typer.echo(f"loopctl: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.stop()
    typer.echo(f"loopctl: tenant {slug} is {result}")


@app.command("suspend-tenant")
def suspend_tenant(slug: Annotated[str, typer.Argument(help="The tenant's slug")]) -> None:
    """Suspend a tenant: every request with its keys gets 403 tenant_suspended."""
    _status_command(slug, "suspended")


@app.command("activate-tenant")
def activate_tenant(slug: Annotated[str, typer.Argument(help="The tenant's slug")]) -> None:
    """Lift a suspension."""
    _status_command(slug, "active")
