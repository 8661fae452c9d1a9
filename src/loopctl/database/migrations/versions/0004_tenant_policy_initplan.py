"""Tenant policies evaluate the current tenant once per statement, not once per row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op
from sqlalchemy import text

from loopctl.kit import migration as m

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _policy_tables() -> list[str]:
    rows = op.get_bind().execute(
        text(
            "SELECT tablename FROM pg_policies "
            "WHERE schemaname = current_schema() AND policyname = 'tenant_isolation' "
            "ORDER BY tablename"
        )
    )
    return [row[0] for row in rows]


def _rewrite(tenant: str) -> None:
    for table in _policy_tables():
        column = "id" if table == "tenants" else "tenant_id"
        op.execute(m.set_tenant_policy(table, tenant, column))


def upgrade() -> None:
    _rewrite(m.CURRENT_TENANT)


def downgrade() -> None:
    _rewrite(m.ROW_BY_ROW_TENANT)
