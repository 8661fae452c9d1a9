"""Let the app role refresh planner statistics of the work breakdown after a bulk load.

An import inserts thousands of stories and then tens of thousands of dependency edges in
one transaction. Each edge's foreign-key check is planned from the tables' statistics;
before the first ANALYZE (a new server) or while they are stale, the planner takes the
project's stories for a handful and checks every edge by scanning all of them: 30,000
edges took a minute instead of a second. The app role owns no table, so it cannot run
ANALYZE itself; this function, owned by the owner, analyzes one work-breakdown table.
The edges are analyzed after they are loaded too, so that the ready and blocked lists are
planned from true figures right after an import rather than after autovacuum's next visit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op

from loopctl.kit import migration as m

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Module-level (with op.execute's indentation, so the SQL sent is unchanged): migration
# 0007's downgrade restores the function from this text.
ANALYZE = """
        CREATE FUNCTION loopctl_analyze_work_breakdown(p_table text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
          IF p_table = 'epics' THEN
            ANALYZE (SKIP_LOCKED) epics;
          ELSIF p_table = 'stories' THEN
            ANALYZE (SKIP_LOCKED) stories;
          ELSIF p_table = 'story_dependencies' THEN
            ANALYZE (SKIP_LOCKED) story_dependencies;
          ELSIF p_table = 'epic_dependencies' THEN
            ANALYZE (SKIP_LOCKED) epic_dependencies;
          ELSE
            RAISE EXCEPTION 'not a work-breakdown table: %', p_table;
          END IF;
        END $$;
        REVOKE ALL ON FUNCTION loopctl_analyze_work_breakdown(text) FROM PUBLIC;
        """


def upgrade() -> None:
    # SKIP_LOCKED: a concurrent import holds the table's ANALYZE lock until it commits;
    # waiting for it would serialize imports, and skipping only costs speed.
    op.execute(ANALYZE)
    op.execute(
        "GRANT EXECUTE ON FUNCTION loopctl_analyze_work_breakdown(text) "
        f"TO {m.ident(m.roles().app)};"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION loopctl_analyze_work_breakdown(text);")
