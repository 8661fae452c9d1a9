"""The graph part of the claim order: per unverified story, the weight of the heaviest
chain of unverified stories starting at it, and how many stories wait for it directly.

Weights are the critical path's (graph_service.critical_path): a story's estimated hours
when every unverified story of the project has an estimate, else 1 per story. They are
added as integers (hundredths of an hour), so that two chains of equal weight compare
equal in claim order whatever order their stories were added in.

A story waiting for nothing starts the critical path exactly when its chain equals the
path's total, so claim-next, which takes the greatest chain first, takes the critical
path's first story when it is claimable, or another story starting a chain as heavy.
"""

from typing import Any
from uuid import UUID

from psycopg import Connection as SyncConnection

from loopctl.database.connections import Connection
from loopctl.dependencies import graph_path_repository as repository
from loopctl.dependencies.graph_path import chains_below, direct_dependents
from loopctl.dependencies.graph_path_repository import (
    CLAIM_ORDER_SQL,
    PATH_GRAPH_SQL,
    PathGraph,
    graph_of,
)

HUNDREDTHS = 100


def claim_keys(graph: PathGraph) -> tuple[list[float], list[int]]:
    """(chain, unblocks) of each story of the graph, in the graph's order."""
    if graph.all_estimated:
        weights = [round(hours * HUNDREDTHS) for hours in graph.hours]
        scale = HUNDREDTHS
    else:
        weights = [1] * len(graph.ids)
        scale = 1
    chains = chains_below(
        weights, graph.epic_of, graph.epic_count, graph.story_edges, graph.epic_edges
    )
    unblocks = direct_dependents(
        graph.epic_of, graph.epic_count, graph.story_edges, graph.epic_edges
    )
    return [chain / scale for chain in chains], unblocks


async def lock(conn: Connection, project_id: UUID) -> None:
    """Take the lock every writer of the project's claim order holds (the project row's,
    which structural edits take first), before changing what the order is computed from.
    A transition verifying a story out of dependency order takes it before its update,
    so that it never waits for a refresh while holding a row the refresh waits for."""
    await repository.lock_project(conn, project_id)


async def refresh(conn: Connection, project_id: UUID) -> None:
    """Recompute the project's claim order after a change to its graph, in the same
    transaction: dependency edits, story create, delete and estimate edits, epic deletion,
    import, a verification out of dependency order or undone. Linear in the project's
    graph; rows that do not change are not written."""
    await repository.lock_project(conn, project_id)
    graph = await repository.path_graph(conn, project_id)
    chains, unblocks = claim_keys(graph)
    await repository.write_claim_order(conn, graph.ids, chains, unblocks)


def backfill(conn: SyncConnection[Any]) -> None:
    """Every project's claim order, from a synchronous connection that sees every tenant
    (migration 0012, as the owner with the forced policies lifted)."""
    projects = [row[0] for row in conn.execute("SELECT id FROM projects").fetchall()]
    for project_id in projects:
        with conn.cursor(binary=True) as cur:
            cur.execute(PATH_GRAPH_SQL, {"project": project_id})
            row = cur.fetchone()
        assert row is not None  # aggregates without GROUP BY always return one row
        graph = graph_of(row)
        chains, unblocks = claim_keys(graph)
        conn.execute(CLAIM_ORDER_SQL, {"ids": graph.ids, "chains": chains, "unblocks": unblocks})
