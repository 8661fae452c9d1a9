"""Fixtures of the progress tests: a story to move through the loop and a second agent."""

import pytest

from loopctl.platform.runtime import Runtime
from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.work import make_epic, make_project, make_story


@pytest.fixture
async def story(runtime: Runtime, tenant: Tenant) -> StoryRow:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    return await make_story(runtime, tenant, epic, "1.1", title="Checkout")


@pytest.fixture
async def other_agent(runtime: Runtime, tenant: Tenant) -> Key:
    return await make_key(runtime, tenant, "agent")
