"""Creating the three database roles and the database, as a PostgreSQL superuser.

Used by the embedded mode on first start and by ``loopctl db init`` for an external server.
"""

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
from psycopg import sql

from loopctl.kit.migration import Roles

logger = logging.getLogger("loopctl.database.provision")

# Large objects live outside every table, so row-level security cannot scope them, and
# loopctl never uses them: no role of the database may create one (lo_compat_privileges,
# a superuser setting, stays off, so nobody reads or writes another role's either).
_LARGE_OBJECT_CREATORS = (
    "lo_create(oid)",
    "lo_creat(integer)",
    "lo_from_bytea(oid, bytea)",
    "lo_import(text)",
    "lo_import(text, oid)",
)


@dataclass(frozen=True)
class Passwords:
    owner: str
    app: str
    admin: str

    @classmethod
    def generate(cls) -> "Passwords":
        return cls(*(secrets.token_urlsafe(24) for _ in range(3)))


@dataclass(frozen=True)
class RoleOutcome:
    role: str
    created: bool


# Role attributes: only the admin role may bypass row-level security; none is a superuser.
_ATTRIBUTES = {
    "owner": "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
    "app": "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
    "admin": "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS",
}


def _ensure_role(
    conn: psycopg.Connection[object], name: str, attributes: str, password: str, reset: bool
) -> RoleOutcome:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    # Utility statements take no bind parameters; the password is ours (URL-safe base64)
    # and sql.Literal quotes it.
    if exists is None:
        conn.execute(
            sql.SQL("CREATE ROLE {} " + attributes + " PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
        return RoleOutcome(name, created=True)
    conn.execute(sql.SQL("ALTER ROLE {} " + attributes).format(sql.Identifier(name)))
    if reset:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
        )
    return RoleOutcome(name, created=False)


def provision(
    superuser_url: str,
    database: str,
    roles: Roles,
    passwords: Passwords,
    *,
    reset_passwords: bool = False,
) -> list[RoleOutcome]:
    """Create (or bring up to date) the roles, the database and its schema privileges."""
    outcomes = []
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for kind, name in (("owner", roles.owner), ("app", roles.app), ("admin", roles.admin)):
            password = getattr(passwords, kind)
            outcomes.append(_ensure_role(conn, name, _ATTRIBUTES[kind], password, reset_passwords))
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if found is None:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(roles.owner)
                )
            )
        db, owner = sql.Identifier(database), sql.Identifier(roles.owner)
        app, admin = sql.Identifier(roles.app), sql.Identifier(roles.admin)
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, owner))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(db, app, admin))
    with psycopg.connect(with_database(superuser_url, database), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(owner))
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}").format(app, admin))
        _forbid_large_objects(conn)
    return outcomes


def _forbid_large_objects(conn: psycopg.Connection[object]) -> None:
    """Revoke the large-object constructors from PUBLIC in this database (superuser only)."""
    try:
        with conn.transaction():
            for function in _LARGE_OBJECT_CREATORS:
                conn.execute(
                    sql.SQL("REVOKE EXECUTE ON FUNCTION pg_catalog.{} FROM PUBLIC").format(
                        sql.SQL(function)
                    )
                )
    except psycopg.errors.InsufficientPrivilege:
        # A managed server's administrator is often not a real superuser.
        logger.warning(
            "could not revoke the large-object functions from PUBLIC (needs a superuser); "
            "the app role can still create large objects"
        )


def with_database(url: str, database: str) -> str:
    """The same server address with another database name (URL or key=value form)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})


def role_url(base_url: str, role: str, password: str, database: str) -> str:
    """A postgresql:// URL for ``role`` on the server that ``base_url`` points at."""
    info = psycopg.conninfo.conninfo_to_dict(base_url)
    host = str(info.get("host", ""))
    port = info.get("port")
    query: list[str] = []
    if host.startswith("/"):
        netloc = ""
        query.append(f"host={quote(host, safe='')}")
    else:
        netloc = host + (f":{port}" if port else "")
    if host.startswith("/") and port:
        query.append(f"port={port}")
    for key in ("sslmode", "sslrootcert"):
        if key in info:
            query.append(f"{key}={quote(str(info[key]), safe='')}")
    suffix = ("?" + "&".join(query)) if query else ""
    return f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}@{netloc}/{quote(database, safe='')}{suffix}"
