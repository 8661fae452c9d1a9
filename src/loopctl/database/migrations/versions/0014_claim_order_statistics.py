"""Bulk loads refresh the claim order's planner statistics too.

An import of thousands of stories writes as many ``claim_order`` rows (migration 0012) in
its transaction. Until something analyzed the table, PostgreSQL planned claim-next from
no statistics at all and walked every row per call: with 32 agents claiming right after
a 5,000-story import, a claim took seconds (docs/benchmarks.md). Autovacuum analyzes the
table eventually, minutes later at best. ``loopctl_analyze_work_breakdown`` now accepts
``claim_order``, with the rule it keeps for every table: only after the calling
transaction itself inserted rows into it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION loopctl_analyze_work_breakdown(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF p_table NOT IN ('epics', 'stories', 'story_dependencies', 'epic_dependencies'{more}) THEN
    RAISE EXCEPTION 'not a work-breakdown table: %', p_table;
  END IF;
  -- Only after a load: the rows this transaction inserted (savepoints included).
  IF pg_stat_get_xact_tuples_inserted(format('public.%I', p_table)::regclass) = 0 THEN
    RETURN;
  END IF;
  -- SKIP_LOCKED: a concurrent import holds the table's ANALYZE lock until it commits;
  -- waiting for it would serialize imports, and skipping only costs speed.
  IF p_table = 'epics' THEN
    ANALYZE (SKIP_LOCKED) epics;
  ELSIF p_table = 'stories' THEN
    ANALYZE (SKIP_LOCKED) stories;
  ELSIF p_table = 'story_dependencies' THEN
    ANALYZE (SKIP_LOCKED) story_dependencies;{claim_order}
  ELSE
    ANALYZE (SKIP_LOCKED) epic_dependencies;
  END IF;
END $$;
"""
_CLAIM_ORDER = """
  ELSIF p_table = 'claim_order' THEN
    ANALYZE (SKIP_LOCKED) claim_order;"""


def upgrade() -> None:
    # CREATE OR REPLACE keeps the function's owner and grants (the app role's EXECUTE).
    op.execute(_FUNCTION.format(more=", 'claim_order'", claim_order=_CLAIM_ORDER))


def downgrade() -> None:
    op.execute(_FUNCTION.format(more="", claim_order=""))
