"""Alembic environment: runs as the owner role, with the role names from the settings."""

import os

from alembic import context
from sqlalchemy import create_engine, pool

from loopctl.kit import migration
from loopctl.platform.config import Settings


def _url() -> str:
    url = context.config.attributes.get("url") or os.environ.get("LOOPCTL_OWNER_DATABASE_URL")
    if not url:
        raise RuntimeError("set LOOPCTL_OWNER_DATABASE_URL (the owner role) to run migrations")
    return str(url).replace("postgresql://", "postgresql+psycopg://", 1)


def run() -> None:
    roles = context.config.attributes.get("roles")
    if roles is None:
        settings = Settings()
        roles = migration.Roles(
            owner=settings.owner_role, app=settings.app_role, admin=settings.admin_role
        )
    migration.configure(roles)
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
