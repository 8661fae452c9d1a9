"""Claim order: claim-next reads its candidates from an index, in order.

``claim_order`` holds, per story, the keys claim-next sorts by (docs/progress.md): the
weight of the heaviest chain of unverified stories that starts at the story (``chain``,
weighted as the critical path is), how many stories wait for it directly (``unblocks``),
and copies of its epic's position and number and its own number. The graph part
(chain, unblocks) is computed in Python by ``dependencies/claim_order.py`` and rewritten
for a project in the transaction that changes its graph (dependency edits, story create,
delete and estimate edits, epic deletion, import, a verification out of dependency order
or undone); those writers hold the project row lock while they do it, and write the rows
in story order.

Two triggers keep the rest true to the other tables whatever path writes them:
- ``verified`` follows the story's verified_status, so the partial indexes (``WHERE NOT
  verified``) hold only the stories still to do;
- an epic's new position is copied to its stories' rows (locked in story order, the
  order a refresh writes them in).

Stories that exist when this runs get their rows here, computed by the same code.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

from loopctl.dependencies.claim_order import backfill
from loopctl.kit import migration as m

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "claim_order"
# The tables the backfill reads and writes as the owner, with the forced policy lifted.
BACKFILL_TABLES = ("projects", "epics", "stories", "story_dependencies", "epic_dependencies")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE claim_order (
          tenant_id uuid NOT NULL,
          story_id uuid NOT NULL,
          project_id uuid NOT NULL,
          epic_id uuid NOT NULL,
          chain double precision NOT NULL CHECK (chain >= 0),
          unblocks integer NOT NULL CHECK (unblocks >= 0),
          epic_position integer NOT NULL,
          epic_number integer NOT NULL,
          number_sort integer[] NOT NULL,
          verified boolean NOT NULL,
          PRIMARY KEY (tenant_id, story_id),
          CONSTRAINT claim_order_story_fkey FOREIGN KEY (tenant_id, project_id, story_id)
            REFERENCES stories (tenant_id, project_id, id) ON DELETE CASCADE
        );
        -- One index per claim-next scope, each in claim order, holding only unverified
        -- stories: the scan stops at the first claimable row.
        CREATE INDEX claim_order_project_idx ON claim_order
          (tenant_id, project_id, chain DESC, unblocks DESC, epic_position, epic_number,
           number_sort, story_id) WHERE NOT verified;
        CREATE INDEX claim_order_epic_idx ON claim_order
          (tenant_id, epic_id, chain DESC, unblocks DESC, number_sort, story_id)
          WHERE NOT verified;
        CREATE INDEX claim_order_tenant_idx ON claim_order
          (tenant_id, chain DESC, unblocks DESC, epic_position, epic_number, number_sort,
           story_id) WHERE NOT verified;

        -- Verifying a story with no estimate asks whether it was the project's last such
        -- story (the critical path's weights change then): one probe of this index.
        CREATE INDEX stories_unestimated_idx ON stories (tenant_id, project_id)
          WHERE estimated_hours IS NULL AND verified_status <> 'verified';

        CREATE FUNCTION loopctl_claim_order_verified() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE claim_order SET verified = (NEW.verified_status = 'verified')
           WHERE tenant_id = NEW.tenant_id AND story_id = NEW.id;
          RETURN NULL;
        END $$;

        CREATE TRIGGER stories_claim_order_verified AFTER UPDATE OF verified_status ON stories
          FOR EACH ROW
          WHEN ((OLD.verified_status = 'verified') IS DISTINCT FROM
                (NEW.verified_status = 'verified'))
          EXECUTE FUNCTION loopctl_claim_order_verified();

        CREATE FUNCTION loopctl_claim_order_epic_moved() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          -- Rows locked in story order, as a refresh writes them: the two never deadlock.
          -- (Not the project lock: an epic edit holds its epic row, which epic deletion
          -- and imports lock after the project's.)
          UPDATE claim_order SET epic_position = NEW.position, epic_number = NEW.number
           WHERE tenant_id = NEW.tenant_id AND story_id IN (
                 SELECT story_id FROM claim_order
                  WHERE tenant_id = NEW.tenant_id AND epic_id = NEW.id AND NOT verified
                  ORDER BY story_id FOR UPDATE);
          RETURN NULL;
        END $$;

        CREATE TRIGGER epics_claim_order_moved AFTER UPDATE OF position, number ON epics
          FOR EACH ROW
          WHEN (OLD.position IS DISTINCT FROM NEW.position
                OR OLD.number IS DISTINCT FROM NEW.number)
          EXECUTE FUNCTION loopctl_claim_order_epic_moved();
        """
    )
    op.execute(m.enable_tenant_rls(TABLE))
    op.execute(m.grant_app(TABLE, "SELECT, INSERT, UPDATE, DELETE"))
    op.execute(m.grant_admin(TABLE, "SELECT"))
    _backfill()


def _backfill() -> None:
    """Rows for the stories already there, computed as the service computes them."""
    tables = (*BACKFILL_TABLES, TABLE)
    for table in tables:
        op.execute(f"ALTER TABLE {m.ident(table)} NO FORCE ROW LEVEL SECURITY;")
    connection = op.get_bind().connection.driver_connection
    assert connection is not None  # an open psycopg connection while migrations run
    backfill(connection)
    for table in tables:
        op.execute(f"ALTER TABLE {m.ident(table)} FORCE ROW LEVEL SECURITY;")


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER epics_claim_order_moved ON epics;
        DROP FUNCTION loopctl_claim_order_epic_moved();
        DROP TRIGGER stories_claim_order_verified ON stories;
        DROP FUNCTION loopctl_claim_order_verified();
        DROP INDEX stories_unestimated_idx;
        DROP TABLE claim_order;
        """
    )
