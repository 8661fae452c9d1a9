"""Small hand-built graphs and calls for the dependency tests."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from loopctl.epics.rows import EpicRow
from loopctl.platform.runtime import Runtime
from loopctl.projects.rows import ProjectRow
from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of
from tests.fixtures.work import make_epic, make_project, make_story

STORY_DEPS = f"{API}/story_dependencies"
EPIC_DEPS = f"{API}/epic_dependencies"


@dataclass
class World:
    """A project whose epics are numbered 1..n and whose stories are named "e.n"."""

    project: ProjectRow
    epics: dict[int, EpicRow] = field(default_factory=dict)
    stories: dict[str, StoryRow] = field(default_factory=dict)

    def s(self, number: str) -> UUID:
        return self.stories[number].id

    def e(self, number: int) -> UUID:
        return self.epics[number].id


async def build(
    runtime: Runtime,
    tenant: Tenant,
    layout: dict[int, list[str]],
    *,
    hours: Mapping[str, float] | None = None,
    positions: dict[int, int] | None = None,
) -> World:
    """Epics and stories, e.g. ``{1: ["1.1", "1.2"], 2: ["2.1"]}``."""
    world = World(await make_project(runtime, tenant))
    for number, stories in layout.items():
        position = (positions or {}).get(number, 0)
        world.epics[number] = await make_epic(
            runtime, tenant, world.project, number, position=position
        )
        for story in stories:
            world.stories[story] = await make_story(
                runtime, tenant, world.epics[number], story, hours=(hours or {}).get(story)
            )
    return world


async def story_edge(
    client: httpx.AsyncClient, key: Key, story: UUID, depends_on: UUID
) -> httpx.Response:
    body = {"story_id": str(story), "depends_on_story_id": str(depends_on)}
    return await client.post(STORY_DEPS, json=body, headers=key.headers)


async def epic_edge(
    client: httpx.AsyncClient, key: Key, epic: UUID, depends_on: UUID
) -> httpx.Response:
    body = {"epic_id": str(epic), "depends_on_epic_id": str(depends_on)}
    return await client.post(EPIC_DEPS, json=body, headers=key.headers)


async def link(
    client: httpx.AsyncClient,
    key: Key,
    world: World,
    stories: Sequence[tuple[str, str]] = (),
    epics: Sequence[tuple[int, int]] = (),
) -> None:
    """Create edges that must all be accepted."""
    for a, b in stories:
        data_of(await story_edge(client, key, world.s(a), world.s(b)), 201)
    for x, y in epics:
        data_of(await epic_edge(client, key, world.e(x), world.e(y)), 201)


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [item["number"] for item in items]
