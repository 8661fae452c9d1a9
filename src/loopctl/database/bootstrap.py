"""Getting a database ready before serving: embedded start, migration, schema check, first tenant."""

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pydantic import SecretStr

from loopctl.admin import service as admin
from loopctl.auth.keys import KeyHasher
from loopctl.database import schema
from loopctl.database.connections import SingleConnection, conninfo, tenant_transaction
from loopctl.database.embedded import LOCAL_KEY, EmbeddedPostgres, open_existing, write_private
from loopctl.kit.migration import Roles
from loopctl.platform.config import Settings
from loopctl.tenants import service as tenants
from loopctl.tenants.schemas import TenantRegister


def roles_of(settings: Settings) -> Roles:
    return Roles(owner=settings.owner_role, app=settings.app_role, admin=settings.admin_role)


@dataclass
class Database:
    settings: Settings
    embedded: EmbeddedPostgres | None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings, *, migrate: bool, create: bool = False) -> Database:
    """Start the embedded server when no LOOPCTL_DATABASE_URL is set; migrate if asked.

    With ``create`` (only for `serve`, which holds the data dir's lock), a missing cluster
    is created and any server left running is restarted as this process's own. Without it,
    a missing cluster raises MissingCluster, and a running `serve`'s server is used as it
    is (see ``embedded.open_existing``). The resulting URLs and secret go into the environment too, because
    uvicorn's worker processes build their settings from it.
    """
    if not settings.embedded:
        return Database(settings, None)
    if create:
        embedded = EmbeddedPostgres(settings.data_dir, roles_of(settings))
        urls = embedded.start()
    else:
        embedded, urls = open_existing(settings.data_dir, roles_of(settings))
    if migrate:
        try:
            schema.upgrade(urls.owner, roles_of(settings))
        except BaseException:
            embedded.stop()
            raise
    values = {
        "database_url": urls.app,
        "admin_database_url": urls.admin,
        "owner_database_url": urls.owner,
        "secret_key": embedded.secret_key(),
    }
    os.environ.update({f"LOOPCTL_{k.upper()}": v for k, v in values.items()})
    os.environ["LOOPCTL_DATA_DIR"] = str(settings.data_dir)
    updated = settings.model_copy(update={k: SecretStr(v) for k, v in values.items()})
    return Database(updated, embedded)


def schema_problem(settings: Settings) -> str | None:
    assert settings.database_url is not None
    url = conninfo(settings.database_url.get_secret_value(), application_name="loopctl-check")
    with psycopg.connect(url) as conn:
        return schema.status_of(schema.read_revision_sync(conn)).problem()


def secret_of(settings: Settings) -> bytes:
    if settings.secret_key is None:
        raise RuntimeError("LOOPCTL_SECRET_KEY is not set (see `loopctl db init`)")
    return settings.secret_key.get_secret_value().encode()


async def ensure_local_tenant(settings: Settings) -> tuple[str, Path] | None:
    """On an empty database, create tenant ``local`` and save its user key (mode 0600).

    Returns the raw key and where it was saved, or None when tenants already exist.
    """
    if settings.admin_database_url is None or settings.database_url is None:
        return None
    admin_url = conninfo(settings.admin_database_url.get_secret_value(), application_name="loopctl")
    async with await psycopg.AsyncConnection.connect(admin_url) as conn:
        if await admin.count_tenants(conn) > 0:
            return None
    app_url = conninfo(settings.database_url.get_secret_value(), application_name="loopctl")
    async with (
        await psycopg.AsyncConnection.connect(app_url) as conn,
        tenant_transaction(SingleConnection(conn), None) as tx,
    ):
        _, _, raw = await tenants.register(
            tx,
            TenantRegister(name="Local", slug="local"),
            KeyHasher(secret_of(settings)),
            settings,
            actor_label="system:first-start",
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = settings.data_dir / LOCAL_KEY
    write_private(path, raw + "\n")
    return raw, path
