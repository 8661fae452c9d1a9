"""feed.py's query plans: a poll at the old cursor and a live stream's probe, as the app
role with the tenant set (row-level security in force), as the server runs them."""

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from loopctl.changes.repository import FeedQuery, Horizon, joined

EXPLAIN = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ")
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"


def _tenant_set(conn: psycopg.Connection[Any], tenant: str) -> int:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
    found = conn.execute(HORIZON).fetchone()
    assert found is not None
    return int(found[0])


def poll_plan(app_url: str, tenant: str, cursor: str, page: int) -> str:
    """The plan of a poll at ``cursor`` (repository.joined: the read, its JSON, joined)."""
    txid, row_id = cursor.split(".")
    with psycopg.connect(app_url) as conn:
        xmin = _tenant_set(conn, tenant)
        statement, params = joined(
            FeedQuery(int(txid), UUID(hex=row_id)), Horizon(xmin, None), page
        )
        rows = conn.execute(EXPLAIN + statement, params).fetchall()
        conn.rollback()
    return "\n".join(str(row[0]) for row in rows)


# A live stream's probe after each read (repository.held_back).
PROBE = """
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT EXISTS (SELECT 1 FROM audit_log WHERE txid >= %s::xid8)
"""


def probe_plan(app_url: str, tenant: str) -> str:
    with psycopg.connect(app_url) as conn:
        xmin = _tenant_set(conn, tenant)
        plan = "\n".join(str(row[0]) for row in conn.execute(PROBE, [str(xmin)]).fetchall())
        conn.rollback()
    return plan
