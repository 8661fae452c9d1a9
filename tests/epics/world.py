"""A small work breakdown (one project, epic and story) and paths naming its parts."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from loopctl.database.connections import Connection
from loopctl.epics.rows import EpicRow
from loopctl.kit.ids import new_id
from loopctl.platform.runtime import Runtime
from loopctl.projects.rows import ProjectRow
from loopctl.stories.repository import StoryRow
from tests.fixtures.factories import Tenant
from tests.fixtures.http import API
from tests.fixtures.work import make_epic, make_project, make_story


@dataclass(frozen=True)
class World:
    project: ProjectRow
    epic: EpicRow
    story: StoryRow

    def ids(self) -> dict[str, str]:
        """The ids of its parts by the placeholders ``url`` fills in."""
        return {
            "project": str(self.project.id),
            "epic": str(self.epic.id),
            "story": str(self.story.id),
        }

    def url(self, template: str, **ids: object) -> str:
        """``template`` under /api/v1 with {project}, {epic} and {story} filled in."""
        names = {"project": self.project.id, "epic": self.epic.id, "story": self.story.id}
        return API + template.format(**{**names, **ids})


async def make_world(runtime: Runtime, tenant: Tenant) -> World:
    project = await make_project(runtime, tenant)
    epic = await make_epic(runtime, tenant, project, 1)
    return World(project, epic, await make_story(runtime, tenant, epic, "1.1"))


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.request(method, url, json=body, headers=headers or {})


async def add_story_edge(
    conn: Connection, tenant: Tenant, story: StoryRow, depends_on: StoryRow
) -> UUID:
    """Store a story dependency directly: these tests are about what deletion removes, not
    about the dependency endpoints and their checks."""
    edge = new_id()
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    await conn.execute(
        """
        INSERT INTO story_dependencies (tenant_id, id, project_id, story_id, story_epic_id,
                                        depends_on_story_id, depends_on_epic_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        """,
        [
            tenant.id,
            edge,
            story.project_id,
            story.id,
            story.epic_id,
            depends_on.id,
            depends_on.epic_id,
        ],
    )
    return edge


async def add_epic_edge(
    conn: Connection, tenant: Tenant, epic: EpicRow, depends_on: EpicRow
) -> UUID:
    edge = new_id()
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    await conn.execute(
        """
        INSERT INTO epic_dependencies (tenant_id, id, project_id, epic_id, depends_on_epic_id)
        VALUES (%s, %s, %s, %s, %s)
        """,
        [tenant.id, edge, epic.project_id, epic.id, depends_on.id],
    )
    return edge
