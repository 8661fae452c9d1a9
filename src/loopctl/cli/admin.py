"""`loopctl admin`: operator actions run on the server host, straight against the database."""

import asyncio
import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from loopctl.admin import service as admin
from loopctl.auth.keys import KeyHasher
from loopctl.database.bootstrap import Database, open_database, secret_of
from loopctl.database.connections import conninfo
from loopctl.database.embedded import MissingCluster
from loopctl.database.pgcluster import ClusterError
from loopctl.platform.config import Settings
from loopctl.platform.errors import AppError

app = typer.Typer(help="Operator actions (run on the server host).", no_args_is_help=True)


DataDirOption = Annotated[
    Path | None,
    typer.Option(
        envvar="LOOPCTL_DATA_DIR",
        help="The embedded database's data dir, as given to `serve`",
    ),
]


@contextmanager
def _database(data_dir: Path | None) -> Iterator[Database]:
    """The server's database; never creates an embedded cluster (one line and exit 1)."""
    if data_dir is not None:
        os.environ["LOOPCTL_DATA_DIR"] = str(data_dir)
    try:
        database = open_database(Settings(), migrate=False)
    except (MissingCluster, ClusterError) as exc:
        typer.echo(f"loopctl: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        yield database
    finally:
        database.stop()


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
    data_dir: DataDirOption = None,
) -> None:
    """Mint a superadmin key (the only way to get one). It is printed once."""
    with _database(data_dir) as database:
        raw = asyncio.run(_superadmin_key(database, name, expires_in_days))
    typer.echo(raw)


async def _set_status(database: Database, slug: str, status: str) -> str:
    async with await psycopg.AsyncConnection.connect(_admin_url(database)) as conn:
        row = await admin.set_tenant_status(
            conn, database.settings, slug=slug, status=status, operator=_operator()
        )
    return row.status


def _status_command(slug: str, status: str, data_dir: Path | None) -> None:
    with _database(data_dir) as database:
        try:
            result = asyncio.run(_set_status(database, slug, status))
        except AppError as exc:
            typer.echo(f"loopctl: {exc.message}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"loopctl: tenant {slug} is {result}")


@app.command("suspend-tenant")
def suspend_tenant(
    slug: Annotated[str, typer.Argument(help="The tenant's slug")],
    data_dir: DataDirOption = None,
) -> None:
    """Suspend a tenant: every request with its keys gets 403 tenant_suspended."""
    _status_command(slug, "suspended", data_dir)


@app.command("activate-tenant")
def activate_tenant(
    slug: Annotated[str, typer.Argument(help="The tenant's slug")],
    data_dir: DataDirOption = None,
) -> None:
    """Lift a suspension."""
    _status_command(slug, "active", data_dir)
