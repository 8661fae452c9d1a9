"""The database schema version: running migrations and checking that it matches the code."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import AsyncConnection, Connection

from loopctl.database.connections import ConnectionSource, tenant_transaction
from loopctl.kit.migration import Roles


def alembic_config(owner_url: str | None = None, roles: Roles | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "loopctl.database:migrations")
    if owner_url is not None:
        config.attributes["url"] = owner_url
    if roles is not None:
        config.attributes["roles"] = roles
    return config


def upgrade(owner_url: str, roles: Roles, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url, roles), revision)


def downgrade(owner_url: str, roles: Roles, revision: str = "base") -> None:
    command.downgrade(alembic_config(owner_url, roles), revision)


_script: ScriptDirectory | None = None


def _scripts() -> ScriptDirectory:
    global _script
    if _script is None:
        _script = ScriptDirectory.from_config(alembic_config())
    return _script


def head() -> str:
    heads = _scripts().get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


class SchemaState(StrEnum):
    current = "current"
    empty = "empty"
    behind = "behind"
    ahead = "ahead"


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    revision: str | None
    head: str

    def problem(self) -> str | None:
        if self.state is SchemaState.current:
            return None
        if self.state is SchemaState.empty:
            return "the database has no loopctl schema; run `loopctl db migrate`"
        if self.state is SchemaState.behind:
            return (
                f"the database schema is at revision {self.revision}, this loopctl needs "
                f"{self.head}; run `loopctl db migrate`"
            )
        return (
            f"the database schema is at revision {self.revision}, which this loopctl does not "
            f"know (its newest is {self.head}); upgrade loopctl before serving this database"
        )


def status_of(revision: str | None) -> SchemaStatus:
    top = head()
    if revision is None:
        return SchemaStatus(SchemaState.empty, None, top)
    if revision == top:
        return SchemaStatus(SchemaState.current, revision, top)
    try:
        known = _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown id
        known = False
    return SchemaStatus(SchemaState.behind if known else SchemaState.ahead, revision, top)


_EXISTS = "SELECT to_regclass('public.alembic_version') IS NOT NULL"
_VERSION = "SELECT version_num FROM alembic_version"


async def read_revision(conn: AsyncConnection[Any]) -> str | None:
    exists = await (await conn.execute(_EXISTS)).fetchone()
    if not exists or not exists[0]:
        return None
    row = await (await conn.execute(_VERSION)).fetchone()
    return str(row[0]) if row else None


async def current_status(source: ConnectionSource) -> SchemaStatus:
    """The schema's state, read in a transaction of its own with no tenant set."""
    async with tenant_transaction(source, None) as conn:
        return status_of(await read_revision(conn))


def read_revision_sync(conn: Connection[Any]) -> str | None:
    exists = conn.execute(_EXISTS).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(_VERSION).fetchone()
    return str(row[0]) if row else None
