"""SECURITY DEFINER functions: search_path pinned with pg_temp last; keys in grace say so;
the statistics function analyzes only after the caller's own bulk load.

- search_path: PostgreSQL searches the session's temporary schema first unless the path
  names it; with ``pg_temp`` last, a temporary table cannot stand in for one of ours inside
  a function running as the owner.
- ``loopctl_resolve_api_key`` also returns ``in_grace``: the key was replaced by rotation
  and works only until its grace period ends. Such a key may not manage keys.
- ``loopctl_analyze_work_breakdown`` analyzes a table only if the calling transaction has
  itself inserted rows into it (an import). Before, the app role could have the owner
  ANALYZE every tenant's rows of any work-breakdown table at will.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import importlib
import textwrap

from alembic import op

from loopctl.kit import migration as m

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_RESOLVE = """
CREATE FUNCTION loopctl_resolve_api_key(p_key_hash text)
RETURNS TABLE (key_id uuid, tenant_id uuid, role text, agent_id uuid, key_name text,
               key_prefix text, tenant_status text, agent_name text{in_grace_column})
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {search_path} AS $$
#variable_conflict use_column
DECLARE
  k record;
BEGIN
  SELECT a.id, a.tenant_id, a.role, a.agent_id, a.name, a.key_prefix, a.rotated_at INTO k
    FROM api_keys a
   WHERE a.key_hash = p_key_hash AND a.revoked_at IS NULL
     AND (a.expires_at IS NULL OR a.expires_at > now());
  IF FOUND THEN
    -- The rest of the transaction runs as this key's tenant.
    PERFORM set_config('app.tenant_id', k.tenant_id::text, true);
    RETURN QUERY
      SELECT k.id, k.tenant_id, k.role, k.agent_id, k.name, k.key_prefix, t.status,
             g.name{in_grace_key}
        FROM tenants t
        LEFT JOIN agents g ON g.tenant_id = t.id AND g.id = k.agent_id
       WHERE t.id = k.tenant_id;
    RETURN;
  END IF;
  PERFORM set_config('app.tenant_id', '', true);
  RETURN QUERY
    SELECT s.id, NULL::uuid, 'superadmin'::text, NULL::uuid, s.name, s.key_prefix,
           'active'::text, NULL::text{in_grace_superadmin}
      FROM superadmin_keys s
     WHERE s.key_hash = p_key_hash AND s.revoked_at IS NULL
       AND (s.expires_at IS NULL OR s.expires_at > now());
END $$;
REVOKE ALL ON FUNCTION loopctl_resolve_api_key(text) FROM PUBLIC;
"""

_ANALYZE = """
CREATE FUNCTION loopctl_analyze_work_breakdown(p_table text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF p_table NOT IN ('epics', 'stories', 'story_dependencies', 'epic_dependencies') THEN
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
    ANALYZE (SKIP_LOCKED) story_dependencies;
  ELSE
    ANALYZE (SKIP_LOCKED) epic_dependencies;
  END IF;
END $$;
REVOKE ALL ON FUNCTION loopctl_analyze_work_breakdown(text) FROM PUBLIC;
"""

# As migration 0005 created it: its own text, so the downgrade restores it exactly.
_ANALYZE_0005 = textwrap.dedent(
    importlib.import_module(
        "loopctl.database.migrations.versions.0005_bulk_load_statistics"
    ).ANALYZE
)

# What this migration adds to the key lookup (upgrade) and takes away again (downgrade).
_IN_GRACE = {
    "in_grace_column": ", in_grace boolean",
    "in_grace_key": ", k.rotated_at IS NOT NULL",
    "in_grace_superadmin": ", false",
    "search_path": "pg_catalog, public, pg_temp",
}
_BEFORE = dict.fromkeys(_IN_GRACE, "") | {"search_path": "pg_catalog, public"}


def _replace(resolve: str, analyze: str) -> None:
    app = m.ident(m.roles().app)
    op.execute("DROP FUNCTION loopctl_resolve_api_key(text);")
    op.execute("DROP FUNCTION loopctl_analyze_work_breakdown(text);")
    op.execute(resolve)
    op.execute(analyze)
    op.execute(f"GRANT EXECUTE ON FUNCTION loopctl_resolve_api_key(text) TO {app};")
    op.execute(f"GRANT EXECUTE ON FUNCTION loopctl_analyze_work_breakdown(text) TO {app};")


def upgrade() -> None:
    _replace(_RESOLVE.format(**_IN_GRACE), _ANALYZE)


def downgrade() -> None:
    _replace(_RESOLVE.format(**_BEFORE), _ANALYZE_0005)
