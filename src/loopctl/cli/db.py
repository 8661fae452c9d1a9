"""`loopctl db`: create roles on an external server, migrate, check, back up, restore.

Every command that uses the embedded database needs one that already exists: only
`restore` creates a cluster. Errors are one line on stderr with every password removed.
"""

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import psycopg
import typer

from loopctl.database import archive, schema
from loopctl.database import backup as backups
from loopctl.database.bootstrap import Database, open_database, roles_of
from loopctl.database.connections import conninfo
from loopctl.database.embedded import (
    CREDENTIALS,
    DATABASE,
    LOCAL_KEY,
    DataDirLock,
    EmbeddedPostgres,
    write_private,
)
from loopctl.database.provision import Passwords, provision, role_url
from loopctl.database.urls import scrub, secrets_of
from loopctl.platform.config import Settings

app = typer.Typer(help="Database setup and maintenance.", no_args_is_help=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        help="The embedded database's data directory, as given to `serve` "
        "(env LOOPCTL_DATA_DIR; default: the platform's user data dir)"
    ),
]
# Exit codes: 1 the command failed, 2 it was refused as asked (missing setting or confirmation).
FAILED, REFUSED = 1, 2


def _fail(message: str, code: int = FAILED) -> NoReturn:
    typer.echo(f"loopctl: {message}", err=True)
    raise typer.Exit(code)


def _hidden(settings: Settings, *extra: str | None) -> list[str]:
    """Every credential this process may know: settings, environment, embedded credentials."""
    configured = [settings.database_url, settings.admin_database_url, settings.owner_database_url]
    configured.append(settings.secret_key)
    plain = [v.get_secret_value() if v is not None else None for v in configured]
    names = ("DATABASE_URL", "ADMIN_DATABASE_URL", "OWNER_DATABASE_URL", "SECRET_KEY")
    plain += [os.environ.get(f"LOOPCTL_{name}") for name in names]
    for name in (CREDENTIALS, LOCAL_KEY):
        try:
            text = (settings.data_dir / name).read_text()
            found = json.loads(text).values() if name == CREDENTIALS else [text.strip()]
        except (OSError, ValueError, AttributeError):
            continue
        plain += [value for value in found if isinstance(value, str)]
    return secrets_of([*plain, *extra])


@contextmanager
def _reported(settings: Settings, *extra: str | None) -> Iterator[None]:
    """Turn any failure into one line on stderr, without passwords, secrets or keys."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # the CLI shows no traceback: they can carry connection URLs
        text = " ".join(str(exc).split()) or type(exc).__name__
        known = (backups.BackupError, archive.ArchiveError, psycopg.Error, OSError)
        prefix = "" if isinstance(exc, known) else f"unexpected error ({type(exc).__name__}): "
        _fail(prefix + scrub(text, _hidden(settings, *extra)))


def _settings(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        os.environ["LOOPCTL_DATA_DIR"] = str(data_dir)
    return Settings()


def _require_cluster(settings: Settings) -> None:
    """Refuse, rather than create one, when the embedded database does not exist."""
    if not settings.embedded:
        return
    data = settings.data_dir
    if not backups.cluster_exists(data) or not (data / CREDENTIALS).is_file():
        _fail(
            f"no loopctl database in {data}: pass the --data-dir that `loopctl serve` uses, "
            "or set LOOPCTL_DATABASE_URL for an external PostgreSQL"
        )


@contextmanager
def _database(data_dir: Path | None) -> Iterator[Database]:
    settings = _settings(data_dir)
    _require_cluster(settings)
    database = None
    with _reported(settings):
        try:
            database = open_database(settings, migrate=False)
            yield database
        finally:
            if database is not None:
                database.stop()


def _owner_url(database: Database) -> str:
    url = database.settings.owner_database_url
    if url is None:
        _fail("set LOOPCTL_OWNER_DATABASE_URL (the owner role) first", REFUSED)
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
    with _reported(settings, superuser_url, passwords.owner, passwords.app, passwords.admin):
        outcomes = provision(
            superuser_url, database, roles_of(settings), passwords, reset_passwords=reset_passwords
        )
        lines = ["# loopctl settings written by `loopctl db init`"]
        names = {
            "owner": "OWNER_DATABASE_URL",
            "app": "DATABASE_URL",
            "admin": "ADMIN_DATABASE_URL",
        }
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
    data_dir: DataDirOption = None,
) -> None:
    """Apply migrations (as the owner role) up to REVISION."""
    with _database(data_dir) as database:
        schema.upgrade(_owner_url(database), roles_of(database.settings), revision)
        typer.echo(f"loopctl: database schema at {revision} ({schema.head()} is the newest)")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Option(help="Target revision ('base' removes everything)")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops tables and data")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Undo migrations down to REVISION. Destroys the data of the dropped tables."""
    if not yes:
        _fail("downgrade drops tables and their data; pass --yes to confirm", REFUSED)
    with _database(data_dir) as database:
        schema.downgrade(_owner_url(database), roles_of(database.settings), revision)


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Show the schema revision of the database and the one this loopctl needs."""
    with _database(data_dir) as database:
        url = conninfo(_owner_url(database), application_name="loopctl-cli")
        with psycopg.connect(url) as conn:
            state = schema.status_of(schema.read_revision_sync(conn))
        typer.echo(
            f"revision: {state.revision or 'none'}\nnewest:   {state.head}\nstate:    {state.state}"
        )
        if state.problem():
            raise typer.Exit(1)


@app.command()
def backup(
    output: Annotated[Path, typer.Option(help="File to write (mode 0600; must not exist)")],
    data_dir: DataDirOption = None,
) -> None:
    """Write a backup: the rows (pg_dump) and the server secret the API keys need."""
    if output.exists():
        _fail(f"{output} already exists; choose a new file name", REFUSED)
    with _database(data_dir) as database:
        settings = database.settings
        if settings.admin_database_url is None or settings.secret_key is None:
            _fail(
                "set LOOPCTL_ADMIN_DATABASE_URL and LOOPCTL_SECRET_KEY: the backup reads as "
                "the admin role and must carry the server secret",
                REFUSED,
            )
        local_key = settings.data_dir / LOCAL_KEY
        manifest = backups.backup(
            settings.admin_database_url.get_secret_value(),
            settings.secret_key.get_secret_value(),
            output,
            local_key.read_text().strip()
            if database.embedded is not None and local_key.is_file()
            else None,
        )
        typer.echo(f"loopctl: wrote {output} (schema revision {manifest.schema_revision})")


def _confirm_replace(where: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        _fail(f"{where} already holds data; pass --yes to replace it with the backup", REFUSED)
    if not typer.confirm(f"{where} already holds data. Replace it with the backup?"):
        _fail("restore cancelled; nothing changed", REFUSED)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `loopctl db backup`")],
    data_dir: DataDirOption = None,
    superuser_url: Annotated[
        str | None, typer.Option(help="External PostgreSQL only: a superuser connection URL")
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(help="External PostgreSQL only: write the backup's LOOPCTL_SECRET_KEY here"),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace a database that holds data without asking")
    ] = False,
) -> None:
    """Restore a backup into a new (or, confirmed, an existing) database; keys keep working."""
    if not file.is_file():
        _fail(f"{file}: no such file", REFUSED)
    settings = _settings(data_dir)
    with _reported(settings):
        archive.peek(file)  # refuse a file that is not a backup before touching anything
    if settings.embedded:
        _restore_embedded(file, settings, yes)
    else:
        _restore_external(file, settings, superuser_url, env_file, yes)


def _restore_embedded(file: Path, settings: Settings, yes: bool) -> None:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = DataDirLock(data)
    try:
        lock.acquire()
    except RuntimeError as exc:
        _fail(str(exc))
    embedded = EmbeddedPostgres(data, roles_of(settings))
    try:
        with _reported(settings):
            urls = embedded.start()
            if backups.holds_data(urls.superuser, DATABASE):
                _confirm_replace(f"the database in {data}", yes)
            restored = backups.restore(
                file, urls.superuser, DATABASE, urls.owner, roles_of(settings)
            )
            _keep_secrets(data, restored.secrets.secret_key, restored.secrets.local_key)
    finally:
        embedded.stop()
        lock.release()
    typer.echo(
        f"loopctl: restored {file} (taken {restored.manifest.created_at}) into {data}; "
        f"start it with `loopctl serve --data-dir {data}`"
    )


def _keep_secrets(data: Path, secret_key: str, local_key: str | None) -> None:
    """Make the data dir verify the restored keys: the backup's secret, its local key."""
    path = data / CREDENTIALS
    credentials = json.loads(path.read_text())
    credentials["secret_key"] = secret_key
    write_private(path, json.dumps(credentials, indent=2) + "\n")
    saved = data / LOCAL_KEY
    if local_key is not None:
        write_private(saved, local_key + "\n")
    else:
        # The saved key belonged to the replaced database.
        saved.unlink(missing_ok=True)


def _restore_external(
    file: Path, settings: Settings, superuser_url: str | None, env_file: Path | None, yes: bool
) -> None:
    if superuser_url is None or settings.owner_database_url is None:
        _fail(
            "restoring into an external PostgreSQL needs --superuser-url and "
            "LOOPCTL_OWNER_DATABASE_URL (run `loopctl db init` first)",
            REFUSED,
        )
    owner_url = settings.owner_database_url.get_secret_value()
    with _reported(settings, superuser_url):
        database = str(psycopg.conninfo.conninfo_to_dict(owner_url).get("dbname", ""))
        if backups.holds_data(superuser_url, database):
            _confirm_replace(f"database {database}", yes)
        _, carried = archive.peek(file)
        same = settings.secret_key is not None and (
            settings.secret_key.get_secret_value() == carried.secret_key
        )
        if not same and env_file is None:
            _fail(
                "the backup's server secret differs from LOOPCTL_SECRET_KEY: pass "
                "--env-file FILE to receive it, or restored API keys will not verify",
                REFUSED,
            )
        restored = backups.restore(file, superuser_url, database, owner_url, roles_of(settings))
        if env_file is not None:
            write_private(env_file, f"LOOPCTL_SECRET_KEY={restored.secrets.secret_key}\n")
            typer.echo(f"loopctl: wrote the backup's LOOPCTL_SECRET_KEY to {env_file}")
    typer.echo(f"loopctl: restored {file} (taken {restored.manifest.created_at}) into {database}")
