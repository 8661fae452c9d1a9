"""The change feed's events are written once, when their audit row is.

A poll of 1,000 events spent most of its database time writing each event's JSON
(``row_to_json`` and ``to_char`` per row, every read again); the rows never change (the
log is append-only), so neither does their JSON. ``loopctl_audit_event`` is the one
definition of an event's JSON (the API's ``ChangeEvent``: the audit entry's fields in the
response model's order, its timestamp as the API writes timestamps, and its cursor); a
trigger stores it in ``audit_log.event`` as each row is inserted, overwriting whatever
the insert gave, so no writer can put anything else there. Rows written before this
migration keep ``event`` NULL and the feed writes theirs with the same function as it
reads them: no history is rewritten. docs/architecture.md ("The change feed") weighs the
cost: about as many bytes again per row as the event's JSON, and a few microseconds per
insert.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE audit_log ADD COLUMN event text;

        CREATE FUNCTION loopctl_audit_event(entry audit_log) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp AS $$
          SELECT row_to_json(event)::text
            FROM (SELECT entry.id, entry.project_id, entry.entity_type, entry.entity_id,
                         entry.action, entry.actor_role, entry.actor_key_id,
                         entry.actor_agent_id, entry.actor_label, entry.before, entry.after,
                         entry.request_id,
                         to_char(entry.created_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
                         entry.txid::text || '.' || replace(entry.id::text, '-', '') AS cursor
                 ) AS event
        $$;

        CREATE FUNCTION loopctl_audit_event_written() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
        BEGIN
          NEW.event := loopctl_audit_event(NEW);
          RETURN NEW;
        END $$;
        CREATE TRIGGER audit_log_event BEFORE INSERT ON audit_log
          FOR EACH ROW EXECUTE FUNCTION loopctl_audit_event_written();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER audit_log_event ON audit_log;
        DROP FUNCTION loopctl_audit_event_written();
        DROP FUNCTION loopctl_audit_event(audit_log);
        ALTER TABLE audit_log DROP COLUMN event;
        """
    )
