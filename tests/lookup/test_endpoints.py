"""GET /api/v1/lookup: a project by slug or id, an epic and a story by number, per tenant."""

from uuid import uuid4

import httpx
import pytest

from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, data_of, error_of, invalid
from tests.fixtures.work import make_epic, make_project, make_story

LOOKUP = f"{API}/lookup"


async def _world(runtime: Runtime, tenant: Tenant) -> Ids:
    project = await make_project(runtime, tenant)
    first = await make_epic(runtime, tenant, project, 1)
    second = await make_epic(runtime, tenant, project, 2)
    story = await make_story(runtime, tenant, first, "1.1")
    other = await make_story(runtime, tenant, second, "2.1")
    return {
        "project": str(project.id),
        "slug": project.slug,
        "epic": str(first.id),
        "epic2": str(second.id),
        "story": str(story.id),
        "story2": str(other.id),
    }


class TestAccess(RouteAccess):
    # Any role may look up; the ids of another tenant are not found (RLS).
    ROUTES = (
        Route("GET", "/lookup?project={project}", "agent", missing="project_not_found"),
        Route("GET", "/lookup?project={slug}&epic=1", "agent", missing="project_not_found"),
        Route("GET", "/lookup?project={slug}&story=1.1", "agent", missing="project_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return await _world(runtime, tenant)


async def test_a_slug_an_epic_and_a_story_resolve_to_their_ids(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    ids = await _world(runtime, tenant)
    url = f"{LOOKUP}?project={ids['slug']}&epic=1&story=1.1"
    found = data_of(await client.get(url, headers=agent_key.headers))
    assert found["project"] == {
        "id": ids["project"],
        "slug": ids["slug"],
        "name": "Project",
        "status": "active",
    }
    assert found["epic"] == {"id": ids["epic"], "number": 1, "title": "Epic 1"}
    assert found["story"]["id"] == ids["story"]
    assert (found["story"]["number"], found["story"]["epic_id"]) == ("1.1", ids["epic"])
    assert found["story"]["epic_number"] == 1
    by_id = data_of(
        await client.get(f"{LOOKUP}?project={ids['project']}", headers=agent_key.headers)
    )
    assert (by_id["project"]["slug"], by_id["epic"], by_id["story"]) == (ids["slug"], None, None)
    story_only = data_of(
        await client.get(f"{LOOKUP}?project={ids['slug']}&story=2.1", headers=agent_key.headers)
    )
    assert (story_only["story"]["id"], story_only["epic"]) == (ids["story2"], None)


async def test_a_slug_that_looks_like_an_id_is_found_by_slug(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    slug = str(uuid4())
    project = await make_project(runtime, tenant, slug)
    found = data_of(await client.get(f"{LOOKUP}?project={slug}", headers=agent_key.headers))
    assert found["project"]["id"] == str(project.id)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("project=no-such-project", "project_not_found"),
        ("project={slug}&epic=9", "epic_not_found"),
        ("project={slug}&story=9.9", "story_not_found"),
        # 2.1 exists, but not in epic 1.
        ("project={slug}&epic=1&story=2.1", "story_not_found"),
        ("project={slug}&epic=9&story=1.1", "epic_not_found"),
    ],
)
async def test_what_names_nothing_is_404_with_its_code(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    query: str,
    code: str,
) -> None:
    ids = await _world(runtime, tenant)
    response = await client.get(f"{LOOKUP}?{query.format(**ids)}", headers=agent_key.headers)
    error_of(response, 404, code)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "query.project"),
        ("project=", "query.project"),
        ("project=a%2Fb", "query.project"),
        ("project=shop&epic=0", "query.epic"),
        ("project=shop&epic=x", "query.epic"),
        ("project=shop&story=1..2", "query.story"),
        ("project=shop&story=a", "query.story"),
        ("project=" + "a" * 64, "query.project"),
    ],
)
async def test_a_malformed_handle_is_422_naming_it(
    client: httpx.AsyncClient, agent_key: Key, query: str, field: str
) -> None:
    invalid(await client.get(f"{LOOKUP}?{query}", headers=agent_key.headers), field)
