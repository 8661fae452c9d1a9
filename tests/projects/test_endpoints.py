"""/api/v1/projects: create, list, show, change, archive and reactivate."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.kit.schemas import METADATA_MAX_BYTES
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import (
    API,
    audit_rows,
    client_for,
    data_of,
    error_of,
    invalid,
    rollback_runtime,
)
from tests.fixtures.work import make_epic, make_project, make_story

PROJECTS = f"{API}/projects"


def new(slug: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"Project {slug}", "slug": slug, **extra}


async def archive(client: httpx.AsyncClient, key: Key, project_id: Any) -> None:
    data_of(await client.delete(f"{PROJECTS}/{project_id}", headers=key.headers))


# --- access -------------------------------------------------------------------------------


class TestAccess(RouteAccess):
    ROUTES = (
        Route("POST", "/projects", "orchestrator", new("made-here")),
        Route("GET", "/projects", "agent"),
        Route("GET", "/projects/{project}", "agent", missing="project_not_found"),
        Route(
            "PATCH", "/projects/{project}", "orchestrator", {"name": "Renamed"}, "project_not_found"
        ),
        Route("DELETE", "/projects/{project}", "user", missing="project_not_found"),
        Route("GET", "/projects/{project}/progress", "agent", missing="project_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return {"project": str((await make_project(runtime, tenant)).id)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "body.slug"),
        (new("Upper"), "body.slug"),
        (new("a"), "body.slug"),
        (new("ok-slug", name="  "), "body.name"),
        (new("ok-slug", repo_url="ftp://example.com/x"), "body.repo_url"),
        (new("ok-slug", repo_url="https://exa mple.com"), "body.repo_url"),
        (new("ok-slug", description="nul\x00"), "body.description"),
        (new("ok-slug", tech_stack="x" * 501), "body.tech_stack"),
        (new("ok-slug", metadata=[]), "body.metadata"),
        (new("ok-slug", metadata={"x": "y" * METADATA_MAX_BYTES}), "body.metadata"),
        (new("ok-slug", status="archived"), "body.status"),
    ],
)
async def test_create_rejects_a_bad_body(
    client: httpx.AsyncClient, orchestrator_key: Key, body: dict[str, Any], field: str
) -> None:
    invalid(await client.post(PROJECTS, json=body, headers=orchestrator_key.headers), field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"metadata": None}, "body.metadata"),
        ({"status": None}, "body.status"),
        ({"status": "deleted"}, "body.status"),
        ({"repo_url": "not a url"}, "body.repo_url"),
        ({"slug": "new-slug"}, "body.slug"),
        ({"epic_count": 3}, "body.epic_count"),
    ],
)
async def test_update_rejects_a_bad_body(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    project = await make_project(runtime, tenant)
    response = await client.patch(f"{PROJECTS}/{project.id}", json=body, headers=user_key.headers)
    invalid(response, field)


@pytest.mark.parametrize(
    "params",
    [{"sort": "slug"}, {"status": "deleted"}, {"include_archived": "maybe"}, {"archived": "1"}],
)
async def test_list_rejects_bad_or_unknown_query_parameters(
    client: httpx.AsyncClient, agent_key: Key, params: dict[str, str]
) -> None:
    response = await client.get(PROJECTS, params=params, headers=agent_key.headers)
    invalid(response, f"query.{next(iter(params))}")


# --- create -------------------------------------------------------------------------------


async def test_create_returns_the_project_and_audits_it(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, orchestrator_key: Key
) -> None:
    body = new(
        "web-shop",
        description="The shop",
        repo_url="https://github.com/acme/shop",
        tech_stack="python, postgres",
        mission="Let customers pay in two clicks",
        metadata={"team": "blue"},
    )
    project = data_of(await client.post(PROJECTS, json=body, headers=orchestrator_key.headers), 201)
    assert {k: project[k] for k in body} == body
    assert project["status"] == "active"
    assert project["archived_at"] is None
    assert set(project) == {
        "id",
        "name",
        "slug",
        "description",
        "repo_url",
        "tech_stack",
        "mission",
        "status",
        "metadata",
        "archived_at",
        "created_at",
        "updated_at",
    }
    [row] = await audit_rows(conn, tenant.id, entity_type="project")
    assert (row.action, str(row.entity_id), str(row.project_id)) == (
        "created",
        project["id"],
        project["id"],
    )
    assert row.actor_role == "orchestrator"
    assert row.after == project


async def test_slugs_are_unique_per_tenant_only(
    client: httpx.AsyncClient, runtime: Runtime, other_tenant: Tenant, user_key: Key
) -> None:
    await make_project(runtime, other_tenant, slug="shared-slug")
    data_of(await client.post(PROJECTS, json=new("shared-slug"), headers=user_key.headers), 201)
    response = await client.post(PROJECTS, json=new("shared-slug"), headers=user_key.headers)
    error = error_of(response, 409, "project_slug_taken")
    assert error["details"] == {"slug": "shared-slug"}


async def test_an_archived_projects_slug_stays_taken(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    project = await make_project(runtime, tenant, slug="old-slug")
    await archive(client, user_key, project.id)
    response = await client.post(PROJECTS, json=new("old-slug"), headers=user_key.headers)
    error_of(response, 409, "project_slug_taken")


async def test_active_projects_are_limited_and_archived_ones_do_not_count(
    session_db: Urls,
    cluster: Cluster,
    conn: Connection,
    user_key: Key,
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, max_projects=2)
    async with client_for(runtime) as client:
        first = data_of(
            await client.post(PROJECTS, json=new("p-one"), headers=user_key.headers), 201
        )
        data_of(await client.post(PROJECTS, json=new("p-two"), headers=user_key.headers), 201)
        response = await client.post(PROJECTS, json=new("p-three"), headers=user_key.headers)
        error = error_of(response, 409, "project_limit_reached")
        assert error["details"] == {"limit": 2}

        await archive(client, user_key, first["id"])
        data_of(await client.post(PROJECTS, json=new("p-three"), headers=user_key.headers), 201)
        # Reactivating would make three active projects.
        response = await client.patch(
            f"{PROJECTS}/{first['id']}", json={"status": "active"}, headers=user_key.headers
        )
        error_of(response, 409, "project_limit_reached")


# --- list ---------------------------------------------------------------------------------


async def test_list_hides_archived_projects_unless_asked_and_sorts_by_name(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, user_key: Key
) -> None:
    for slug, name in [("c-slug", "Charlie"), ("a-slug", "Alpha"), ("b-slug", "Bravo")]:
        data_of(
            await client.post(PROJECTS, json=new(slug, name=name), headers=user_key.headers), 201
        )
    await make_project(runtime, other_tenant, slug="not-mine")
    archived = await make_project(runtime, tenant, slug="z-archived")
    await archive(client, user_key, archived.id)

    async def slugs(**params: Any) -> tuple[list[str], dict[str, int]]:
        response = await client.get(PROJECTS, params=params, headers=user_key.headers)
        return [p["slug"] for p in data_of(response)], response.json()["meta"]

    assert await slugs() == (
        ["a-slug", "b-slug", "c-slug"],
        {"total": 3, "total_count": 3, "limit": 50, "offset": 0},
    )
    assert (await slugs(sort="-name"))[0] == ["c-slug", "b-slug", "a-slug"]
    assert (await slugs(sort="-created_at"))[0] == ["b-slug", "a-slug", "c-slug"]
    assert await slugs(sort="created_at", include_archived="true") == (
        ["c-slug", "a-slug", "b-slug", "z-archived"],
        {"total": 4, "total_count": 4, "limit": 50, "offset": 0},
    )
    assert await slugs(status="archived") == (
        ["z-archived"],
        {"total": 1, "total_count": 1, "limit": 50, "offset": 0},
    )
    assert (await slugs(status="active", include_archived="true"))[0] == [
        "a-slug",
        "b-slug",
        "c-slug",
    ]


async def test_list_pages_with_limit_offset_and_the_page_aliases(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    for n in range(5):
        data_of(
            await client.post(
                PROJECTS, json=new(f"page-{n}", name=f"P{n}"), headers=user_key.headers
            ),
            201,
        )
    response = await client.get(
        PROJECTS, params={"limit": 2, "offset": 1}, headers=agent_key.headers
    )
    assert [p["name"] for p in data_of(response)] == ["P1", "P2"]
    assert response.json()["meta"] == {"total": 5, "total_count": 5, "limit": 2, "offset": 1}
    response = await client.get(
        PROJECTS, params={"page": 3, "page_size": 2}, headers=agent_key.headers
    )
    assert [p["name"] for p in data_of(response)] == ["P4"]
    assert response.json()["meta"] == {"total": 5, "total_count": 5, "limit": 2, "offset": 4}


# --- show ---------------------------------------------------------------------------------


async def test_show_adds_epic_and_story_counts(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, agent_key: Key
) -> None:
    project = await make_project(runtime, tenant)
    other = await make_project(runtime, tenant)
    e1 = await make_epic(runtime, tenant, project, 1)
    e2 = await make_epic(runtime, tenant, project, 2)
    for number in ("1.1", "1.2"):
        await make_story(runtime, tenant, e1, number)
    await make_story(runtime, tenant, e2, "2.1")
    await make_story(runtime, tenant, await make_epic(runtime, tenant, other, 1), "1.1")

    shown = data_of(await client.get(f"{PROJECTS}/{project.id}", headers=agent_key.headers))
    assert (shown["id"], shown["epic_count"], shown["story_count"]) == (str(project.id), 2, 3)
    empty = data_of(
        await client.get(
            f"{PROJECTS}/{(await make_project(runtime, tenant)).id}", headers=agent_key.headers
        )
    )
    assert (empty["epic_count"], empty["story_count"]) == (0, 0)
