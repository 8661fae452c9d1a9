"""Each story dependency knows whether the story it waits for is verified.

The ready and blocked lists ask, for every story of a project, whether any story it
depends on is unverified. Answering that by joining 30,000 edges to their target stories
on each request cost most of the query; with the answer kept on the edge (and a partial
index over the edges still waiting) it is one index scan.

Two triggers keep the flag true to the stories table:
- a story's verified_status changes: its incoming edges follow (row trigger on stories);
- edges are inserted: they take their target's current status (statement trigger). It
  first locks the targets FOR SHARE, so a concurrent status change either commits before
  (and is seen) or waits for the insert to commit (and then updates the new edges too).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE story_dependencies
          ADD COLUMN blocker_verified boolean NOT NULL DEFAULT false;

        -- The owner is subject to the forced tenant policy too; lift it for the backfill.
        ALTER TABLE story_dependencies NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE stories NO FORCE ROW LEVEL SECURITY;
        UPDATE story_dependencies d SET blocker_verified = true
          FROM stories s
         WHERE s.tenant_id = d.tenant_id AND s.id = d.depends_on_story_id
           AND s.verified_status = 'verified';
        ALTER TABLE story_dependencies FORCE ROW LEVEL SECURITY;
        ALTER TABLE stories FORCE ROW LEVEL SECURITY;

        CREATE INDEX story_dependencies_waiting_idx
          ON story_dependencies (tenant_id, project_id, story_id) WHERE NOT blocker_verified;

        CREATE FUNCTION loopctl_blocker_status_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE story_dependencies
             SET blocker_verified = (NEW.verified_status = 'verified')
           WHERE tenant_id = NEW.tenant_id AND depends_on_story_id = NEW.id
             AND blocker_verified <> (NEW.verified_status = 'verified');
          RETURN NULL;
        END $$;

        CREATE TRIGGER stories_blocker_status AFTER UPDATE OF verified_status ON stories
          FOR EACH ROW WHEN (OLD.verified_status IS DISTINCT FROM NEW.verified_status)
          EXECUTE FUNCTION loopctl_blocker_status_changed();

        CREATE FUNCTION loopctl_edges_take_blocker_status() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM 1 FROM stories s
           WHERE (s.tenant_id, s.id) IN (SELECT tenant_id, depends_on_story_id FROM added)
             FOR SHARE;
          UPDATE story_dependencies d SET blocker_verified = true
            FROM added a JOIN stories s
              ON s.tenant_id = a.tenant_id AND s.id = a.depends_on_story_id
           WHERE d.tenant_id = a.tenant_id AND d.id = a.id
             AND s.verified_status = 'verified';
          RETURN NULL;
        END $$;

        CREATE TRIGGER story_dependencies_blocker_status AFTER INSERT ON story_dependencies
          REFERENCING NEW TABLE AS added
          FOR EACH STATEMENT EXECUTE FUNCTION loopctl_edges_take_blocker_status();
        """
    )
    op.execute(m.grant_app("story_dependencies", "UPDATE (blocker_verified)"))


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER story_dependencies_blocker_status ON story_dependencies;
        DROP FUNCTION loopctl_edges_take_blocker_status();
        DROP TRIGGER stories_blocker_status ON stories;
        DROP FUNCTION loopctl_blocker_status_changed();
        DROP INDEX story_dependencies_waiting_idx;
        ALTER TABLE story_dependencies DROP COLUMN blocker_verified;
        """
    )
