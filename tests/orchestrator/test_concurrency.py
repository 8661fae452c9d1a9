"""Checkpoints under real concurrent writers: of writers that read the same version, one wins."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg
import pytest

from loopctl.database.connections import create_pool, set_tenant
from loopctl.orchestrator import service
from loopctl.orchestrator.schemas import StateSave
from loopctl.platform.runtime import Runtime
from tests.fixtures.app import SECRET, make_settings
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, make_key, make_tenant
from tests.fixtures.http import API, audit_rows, client_for, data_of, error_of
from tests.fixtures.locks import wait_for_lock_wait
from tests.fixtures.work import make_project

WRITERS = 8
POOL_NAME = "state-writers"


@asynccontextmanager
async def writers_runtime(urls: Urls, cluster: Cluster) -> AsyncIterator[Runtime]:
    """A runtime whose pool gives each writer its own connection."""
    pool = create_pool(urls.app, name=POOL_NAME, min_size=WRITERS, max_size=WRITERS)
    await pool.open()
    try:
        yield Runtime.build(make_settings(urls, cluster), pool, SECRET.encode())
    finally:
        await pool.close()


@pytest.mark.realdb
async def test_writers_with_the_same_version_at_once_exactly_one_wins(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with writers_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        project = await make_project(runtime, tenant)
        keys = [await make_key(runtime, tenant, "orchestrator") for _ in range(WRITERS)]
        url = f"{API}/orchestrator/state/{project.id}"
        async with client_for(runtime) as client:
            data_of(await client.put(url, json={"state_data": {}}, headers=keys[0].headers))

            async def write(key: Key) -> httpx.Response:
                body = {"state_data": {"writer": str(key.agent_id)}, "version": 1}
                return await client.put(url, json=body, headers=key.headers)

            responses = await asyncio.gather(*(write(k) for k in keys))
            [winner] = [r for r in responses if r.status_code == 200]
            for response in responses:
                if response is not winner:
                    error = error_of(response, 409, "version_conflict")
                    assert error["details"]["current_version"] == 2
            history = data_of(await client.get(f"{url}/history", headers=keys[0].headers))
        assert [v["version"] for v in history] == [2, 1]
        assert history[0]["state_data"] == winner.json()["data"]["state_data"]
        async with runtime.connections.connection() as conn, conn.transaction():
            rows = await audit_rows(conn, tenant.id, entity_type="orchestrator_state")
        assert [(r.after or {}).get("version") for r in rows] == [1, 2]


@pytest.mark.realdb
async def test_a_writer_that_loses_the_race_waits_then_gets_the_winning_version(
    fresh_db: Urls, cluster: Cluster
) -> None:
    """The constraint path, made deterministic: the loser has read version 1 and inserts
    while the winner's version 2 is written but not committed."""
    async with writers_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        project = await make_project(runtime, tenant)
        key = await make_key(runtime, tenant, "orchestrator")
        url = f"{API}/orchestrator/state/{project.id}"
        async with client_for(runtime) as client:
            data_of(await client.put(url, json={"state_data": {}}, headers=key.headers))
            winner = await psycopg.AsyncConnection.connect(
                fresh_db.app, application_name="state-winner"
            )
            async with winner:
                await set_tenant(winner, tenant.id)
                body = StateSave(state_data={"by": "winner"}, version=1)
                await service.save(
                    winner, tenant.principal(), project.id, body, expected=1, max_bytes=1024
                )
                # The loser reads version 1 too (the winner has not committed), then waits
                # on the winner's row for version 2.
                loser_body = {"state_data": {"by": "loser"}, "version": 1}
                loser = asyncio.create_task(client.put(url, json=loser_body, headers=key.headers))
                await wait_for_lock_wait(fresh_db.app, POOL_NAME)
                await winner.commit()
            error = error_of(await loser, 409, "version_conflict")
            assert error["details"]["current_version"] == 2
            state = data_of(await client.get(url, headers=key.headers))
        assert (state["version"], state["state_data"]) == (2, {"by": "winner"})
