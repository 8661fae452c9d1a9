"""Story routes: who may call them, and what a foreign, malformed or unknown input gets
(behaviour is in test_crud.py, bad bodies in test_validation.py)."""

from typing import Any

import httpx
import pytest

from loopctl.db import Connection
from loopctl.runtime import Runtime
from tests.epics.world import make_world, request
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, UNKNOWN_KEY, audit_rows, bearer, data_of, error_of, invalid

NEW = {"number": "1.2", "title": "New"}
# (method, path, minimum role, a valid body, the error code of a foreign id in the path)
ROUTES: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    ("POST", "/epics/{epic}/stories", "orchestrator", NEW, "epic_not_found"),
    (
        "POST",
        "/projects/{project}/stories",
        "orchestrator",
        {**NEW, "epic_number": 1},
        "project_not_found",
    ),
    ("GET", "/epics/{epic}/stories", "agent", None, "epic_not_found"),
    ("GET", "/stories?project_id={project}", "agent", None, "project_not_found"),
    ("GET", "/stories/{story}", "agent", None, "story_not_found"),
    ("PATCH", "/stories/{story}", "orchestrator", {"title": "Renamed"}, "story_not_found"),
    ("DELETE", "/stories/{story}", "user", None, "story_not_found"),
]
WRITES = [r for r in ROUTES if r[2] != "agent"]
IN_PATH = [r for r in ROUTES if "?" not in r[1]]
BELOW = {"orchestrator": "agent", "user": "orchestrator"}


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), ROUTES)
@pytest.mark.parametrize(
    ("headers", "code"), [({}, "unauthorized"), (bearer(UNKNOWN_KEY), "invalid_api_key")]
)
async def test_every_route_needs_a_valid_key(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
    headers: dict[str, str],
    code: str,
) -> None:
    world = await make_world(runtime, tenant)
    error_of(await request(client, method, world.url(path), body, headers), 401, code)


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), WRITES)
async def test_a_role_below_the_minimum_is_forbidden_and_changes_nothing(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    orchestrator_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
) -> None:
    world = await make_world(runtime, tenant)
    before = len(await audit_rows(conn, tenant.id))
    key = {"agent": agent_key, "orchestrator": orchestrator_key}[BELOW[role]]
    response = await request(client, method, world.url(path), body, key.headers)
    error = error_of(response, 403, "insufficient_role")
    assert error["details"] == {"required_role": role, "role": BELOW[role]}
    assert len(await audit_rows(conn, tenant.id)) == before
    shown = data_of(await client.get(world.url("/stories/{story}"), headers=agent_key.headers))
    assert shown["title"] == "Story 1.1"


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), ROUTES)
async def test_the_minimum_role_is_enough(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    agent_key: Key,
    orchestrator_key: Key,
    user_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
) -> None:
    world = await make_world(runtime, tenant)
    key = {"agent": agent_key, "orchestrator": orchestrator_key, "user": user_key}[role]
    response = await request(client, method, world.url(path), body, key.headers)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), ROUTES)
async def test_another_tenants_ids_are_not_found(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    other_tenant: Tenant,
    user_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
) -> None:
    theirs = await make_world(runtime, other_tenant)
    response = await request(client, method, theirs.url(path), body, user_key.headers)
    error_of(response, 404, missing)
    shown = data_of(
        await client.get(theirs.url("/stories/{story}"), headers=other_tenant.user.headers)
    )
    assert shown["title"] == "Story 1.1"
    rows = await audit_rows(conn, other_tenant.id, entity_type="story")
    assert [r.action for r in rows] == ["created"]


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), IN_PATH)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "01a20f32-0f1f-731b-b8e4"])
async def test_a_malformed_id_in_the_path_is_not_found(
    client: httpx.AsyncClient,
    user_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
    bad_id: str,
) -> None:
    url = API + path.format(project=bad_id, epic=bad_id, story=bad_id)
    error_of(await request(client, method, url, body, user_key.headers), 404, "not_found")


@pytest.mark.parametrize("query", ["project_id=not-a-uuid", "project_id=", ""])
async def test_the_project_list_needs_a_well_formed_project_id(
    client: httpx.AsyncClient, agent_key: Key, query: str
) -> None:
    response = await client.get(f"{API}/stories?{query}", headers=agent_key.headers)
    invalid(response, "query.project_id")


@pytest.mark.parametrize(
    ("method", "path", "role", "body", "missing"), [r for r in ROUTES if r[3] is not None]
)
async def test_unknown_and_read_only_body_fields_are_rejected(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any],
    missing: str,
) -> None:
    world = await make_world(runtime, tenant)
    for extra in ("owner", "agent_status", "verified_status", "epic_id", "project_id", "id"):
        value = "verified" if extra.endswith("status") else str(world.epic.id)
        response = await request(
            client, method, world.url(path), {**body, extra: value}, user_key.headers
        )
        [error] = invalid(response, f"body.{extra}")
        assert error["type"] == "extra_forbidden"


@pytest.mark.parametrize(("method", "path", "role", "body", "missing"), ROUTES)
async def test_unknown_query_parameters_are_rejected(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    user_key: Key,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None,
    missing: str,
) -> None:
    world = await make_world(runtime, tenant)
    url = world.url(path) + ("&" if "?" in path else "?") + "colour=red"
    invalid(await request(client, method, url, body, user_key.headers), "query.colour")
