"""The loop under real concurrency: many connections, each request its own transaction."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from loopctl.database.connections import create_pool
from loopctl.platform.runtime import Runtime
from tests.fixtures.app import SECRET, make_settings
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import audit_rows, client_for, data_of, error_of
from tests.fixtures.work import make_epic, make_project, make_story

AGENTS = 50


@asynccontextmanager
async def wide_runtime(urls: Urls, cluster: Cluster) -> AsyncIterator[Runtime]:
    """A runtime whose pool lets the requests really overlap (20 connections)."""
    pool = create_pool(urls.app, name="concurrency-tests", min_size=20, max_size=20)
    await pool.open()
    try:
        yield Runtime.build(make_settings(urls, cluster), pool, SECRET.encode())
    finally:
        await pool.close()


async def agents(runtime: Runtime, tenant: Tenant) -> list[Key]:
    return [await make_key(runtime, tenant, "agent") for _ in range(AGENTS)]


@pytest.mark.realdb
async def test_fifty_agents_claim_one_story_and_exactly_one_wins(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with wide_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        epic = await make_epic(runtime, tenant, await make_project(runtime, tenant), 1)
        story = await make_story(runtime, tenant, epic, "1.1", title="Contended")
        keys = await agents(runtime, tenant)
        async with client_for(runtime) as client:
            body = {"story_title": "Contended", "ac_count": 0}
            url = f"/api/v1/stories/{story.id}"
            data_of(await client.post(f"{url}/contract", json=body, headers=keys[0].headers))

            async def claim(key: Key) -> httpx.Response:
                return await client.post(f"{url}/claim", headers=key.headers)

            responses = await asyncio.gather(*(claim(k) for k in keys))
        winners = [r for r in responses if r.status_code == 200]
        assert len(winners) == 1
        for response in responses:
            if response.status_code != 200:
                error_of(response, 409, "already_claimed")
        async with runtime.connections.connection() as conn, conn.transaction():
            rows = await audit_rows(conn, tenant.id, entity_id=story.id)
        claims = [r for r in rows if (r.after or {}).get("transition") == "claim"]
        assert len(claims) == 1


@pytest.mark.realdb
async def test_fifty_agents_claim_next_get_fifty_different_stories(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with wide_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        project = await make_project(runtime, tenant)
        epic = await make_epic(runtime, tenant, project, 1)
        for n in range(1, AGENTS + 1):
            await make_story(runtime, tenant, epic, f"1.{n}")
        keys = await agents(runtime, tenant)
        async with client_for(runtime) as client:

            async def claim_next(key: Key) -> httpx.Response:
                body = {"project_id": str(project.id)}
                return await client.post(
                    "/api/v1/stories/claim-next", json=body, headers=key.headers
                )

            responses = await asyncio.gather(*(claim_next(k) for k in keys))
            claimed = [data_of(r) for r in responses]
            assert len({c["id"] for c in claimed}) == AGENTS
            for key, story in zip(keys, claimed, strict=True):
                assert story["assigned_agent_id"] == str(key.agent_id)
                assert story["agent_status"] == "assigned"
            error_of(await claim_next(keys[0]), 404, "no_ready_story")
