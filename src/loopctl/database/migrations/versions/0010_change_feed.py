"""The change feed: every audit row records the id of the transaction that wrote it.

A reader returns only rows whose transaction id is below the oldest transaction still
running (``pg_snapshot_xmin``), in (txid, id) order: every transaction below that horizon
has finished, so no row can appear later behind a cursor already handed out. The index
serves the feed's "rows after this cursor, in order" scan per tenant. docs/architecture.md
("The change feed") says why and what it costs.

Rows written before this migration all get the migration's own transaction id: they are
ordered among themselves by id (time-ordered UUIDs) and come before every later row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE audit_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
        CREATE INDEX audit_log_feed_idx ON audit_log (tenant_id, txid, id);
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE audit_log DROP COLUMN txid;")
