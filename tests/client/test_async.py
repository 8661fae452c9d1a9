"""A few calls through the async client: the same methods, errors and retries as the sync one."""

import asyncio
import json
from typing import Any
from uuid import uuid4

import pytest

from loopctl.client import AsyncClient, NotFoundError, ServerError
from tests.client.conftest import QUICK, Live, Roles
from tests.client.test_errors import AGENT, AGENT_ID

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

Flaky = Any


async def test_plan_and_claim_concurrently(live: Live, keys: Roles) -> None:
    slug = f"async-{uuid4().hex[:8]}"
    async with (
        AsyncClient(live.url, keys.orchestrator, retry=QUICK) as orch,
        AsyncClient(live.url, keys.agent, retry=QUICK) as agent,
    ):
        tenant = await orch.get_tenant()
        assert tenant.slug == "local"
        project = await orch.create_project("Async", slug)
        epic = await orch.create_epic(project.id, 1, "Epic")
        created = await asyncio.gather(
            *(orch.create_story(epic.id, f"1.{n}", f"Story {n}") for n in (1, 2, 3))
        )
        assert sorted(s.number for s in created) == ["1.1", "1.2", "1.3"]
        stories = await agent.list_stories(project_id=project.id)
        assert stories.meta.total == 3
        claimed = await agent.claim_next(project_id=project.id)
        assert claimed.agent_status == "assigned"
        me = await agent.get_my_api_key()
        assert claimed.lease is not None
        assert claimed.lease.agent_id == me.agent_id


async def test_errors_map_the_same(live: Live, keys: Roles) -> None:
    async with AsyncClient(live.url, keys.agent) as agent:
        with pytest.raises(NotFoundError) as raised:
            await agent.get_project(uuid4())
    assert (raised.value.status, raised.value.code) == (404, "project_not_found")


async def test_a_get_is_retried_and_a_post_is_not(flaky: Flaky) -> None:
    server = flaky(2, json.dumps({"data": AGENT}).encode())
    async with AsyncClient(server.url, "k", retry=QUICK) as client:
        agent = await client.get_agent(AGENT_ID)
        assert agent.name == "flaky"
    assert server.methods == ["GET", "GET", "GET"]
    refusing = flaky(2)
    async with AsyncClient(refusing.url, "k", retry=QUICK) as client:
        with pytest.raises(ServerError):
            await client.claim_next()
    assert refusing.methods == ["POST"]
