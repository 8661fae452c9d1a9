"""A request PostgreSQL aborts to break a deadlock answers 409 concurrent_update, not 500."""

import asyncio

import psycopg
import pytest

from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import make_key, make_tenant
from tests.fixtures.http import client_for, error_of
from tests.fixtures.work import make_epic, make_project, make_story
from tests.progress.test_concurrency import wide_runtime


async def lock_waiters(watch: psycopg.AsyncConnection, role: str) -> None:
    """Wait until a statement of the app role waits for a row lock."""
    for _ in range(1000):
        cursor = await watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND usename = %s AND wait_event_type = 'Lock'",
            [role],
        )
        row = await cursor.fetchone()
        if row and row[0] >= 1:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never waited for the row lock")


@pytest.mark.realdb
async def test_a_deadlocked_bulk_claim_is_a_clean_409_and_changes_nothing(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with wide_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
        first, second = sorted(
            [await make_story(runtime, tenant, epic, f"1.{n}") for n in (1, 2)],
            key=lambda story: str(story.id),
        )
        key = await make_key(runtime, tenant, "agent")
        async with (
            await psycopg.AsyncConnection.connect(fresh_db.superuser) as other,
            await psycopg.AsyncConnection.connect(fresh_db.superuser, autocommit=True) as watch,
            client_for(runtime) as client,
        ):
            # The other session holds the second story; the bulk claim locks the first (rows
            # are locked in id order) and waits for the second; the other session then asks
            # for the first. The other session's deadlock check waits 10 s, the request's
            # the default 1 s, so PostgreSQL aborts the request.
            await other.execute("SET deadlock_timeout = '10s'")
            await other.execute("SELECT 1 FROM stories WHERE id = %s FOR UPDATE", [second.id])
            body = {"story_ids": [str(first.id), str(second.id)]}
            request = asyncio.create_task(
                client.post("/api/v1/stories/bulk/claim", json=body, headers=key.headers)
            )
            await lock_waiters(watch, cluster.roles.app)
            await other.execute("SELECT 1 FROM stories WHERE id = %s FOR UPDATE", [first.id])
            response = await request
            await other.rollback()
            error_of(response, 409, "concurrent_update")
            cursor = await watch.execute(
                "SELECT count(*) FROM stories WHERE id = ANY(%s) AND agent_status <> 'pending'",
                [[first.id, second.id]],
            )
            assert await cursor.fetchone() == (0,)
