"""The change feed: every audit row records the id of the transaction that wrote it.

A reader returns only rows whose transaction id is below the oldest transaction still
running (``pg_snapshot_xmin``), in (txid, id) order: every transaction below that horizon
has finished, so no row can appear later behind a cursor already handed out. The index
serves the feed's "rows after this cursor, in order" scan per tenant. docs/architecture.md
("The change feed") says why and what it costs.

Rows written before this migration all get the migration's own transaction id: they are
ordered among themselves by id (time-ordered UUIDs) and come before every later row.

A statement trigger notifies channel ``loopctl_changes`` with each tenant that got rows;
PostgreSQL delivers it at commit, and every server process's one listener wakes that
tenant's live streams (``changes/notifier.py``).

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

        CREATE FUNCTION loopctl_notify_changes() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
        BEGIN
          PERFORM pg_notify('loopctl_changes', t.tenant_id::text)
             FROM (SELECT DISTINCT tenant_id FROM added) AS t;
          RETURN NULL;
        END $$;
        CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
          REFERENCING NEW TABLE AS added FOR EACH STATEMENT
          EXECUTE FUNCTION loopctl_notify_changes();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER audit_log_notify ON audit_log;
        DROP FUNCTION loopctl_notify_changes();
        ALTER TABLE audit_log DROP COLUMN txid;
        """
    )
