"""feed.py's query plans: the feed's read at a cursor and a live stream's probe."""

from typing import Any

import psycopg

# The feed's read at the old cursor as the app issues it (repository.after), the tenant
# named instead of set by row-level security: how much of a poll's time is SQL.
EXPLAIN = """
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT id, project_id, entity_type, entity_id, action, actor_key_id, actor_agent_id,
           actor_role, actor_label, before, after, request_id, created_at,
           txid::text::bigint AS txid FROM audit_log
     WHERE tenant_id = %(tenant)s AND (txid, id) > (%(txid)s::xid8, %(id)s::uuid)
       AND txid <= pg_snapshot_xmin(pg_current_snapshot())
       AND txid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY {order} LIMIT 1001
"""
# A bare "txid" in ORDER BY names the output column (txid::text::bigint), which no index
# has: the read sorts every row after the cursor. Qualified, it names the indexed column.
ORDERS = {"as issued": "txid, id", "qualified": "audit_log.txid, audit_log.id"}


def explain(conn: psycopg.Connection[Any], tenant: str, cursor: str, order: str) -> str:
    txid, row_id = cursor.split(".")
    params = {"tenant": tenant, "txid": txid, "id": row_id}
    statement = EXPLAIN.replace("{order}", order)
    return "\n".join(str(row[0]) for row in conn.execute(statement, params).fetchall())


# A live stream's probe after each read (repository.held_back), as the app role with the
# tenant set, as the server runs it.
PROBE = """
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT EXISTS (SELECT 1 FROM audit_log WHERE txid >= %s::xid8)
"""


def probe_plan(app_url: str, tenant: str) -> str:
    with psycopg.connect(app_url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
        found = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()
        assert found is not None
        plan = "\n".join(str(row[0]) for row in conn.execute(PROBE, [found[0]]).fetchall())
        conn.rollback()
    return plan
