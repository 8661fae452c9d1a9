"""Bad and hostile story bodies: a 422 naming the field, never a 500, nothing stored."""

import json
from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.kit.schemas import METADATA_MAX_BYTES
from loopctl.platform.runtime import Runtime
from tests.epics.world import make_world
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import audit_rows, data_of, invalid

# Bad for create and update alike.
BAD_EITHER: list[tuple[dict[str, Any], str]] = [
    ({"title": ""}, "body.title"),
    ({"title": "x" * 501}, "body.title"),
    ({"title": "a\x00b"}, "body.title"),
    ({"title": "\ud800"}, "body.title"),
    ({"title": ["list"]}, "body.title"),
    ({"description": "x" * 50_001}, "body.description"),
    ({"description": "\x00"}, "body.description"),
    ({"estimated_hours": -1}, "body.estimated_hours"),
    ({"estimated_hours": 1_000_000}, "body.estimated_hours"),
    ({"estimated_hours": 10**40}, "body.estimated_hours"),
    ({"estimated_hours": 1e308}, "body.estimated_hours"),
    ({"estimated_hours": "1e999999999"}, "body.estimated_hours"),
    ({"estimated_hours": 1.001}, "body.estimated_hours"),
    ({"estimated_hours": "NaN"}, "body.estimated_hours"),
    ({"estimated_hours": "-Infinity"}, "body.estimated_hours"),
    ({"estimated_hours": "two"}, "body.estimated_hours"),
    ({"estimated_hours": True}, "body.estimated_hours"),
    ({"metadata": []}, "body.metadata"),
    ({"metadata": {"x": "y" * METADATA_MAX_BYTES}}, "body.metadata"),
    ({"metadata": {"k\x00": "v"}}, "body.metadata"),
    ({"metadata": {"k": {"deeper": "v\x00"}}}, "body.metadata"),
    ({"metadata": {"k": 10**20}}, "body.metadata"),
    ({"metadata": {"k": "\udc00"}}, "body.metadata"),
]
BAD_NUMBERS: list[Any] = [
    "",
    "1.",
    ".1",
    "1..2",
    "a.1",
    "01",
    "1.02",
    "-1",
    "1.2.3.4.5",
    "123456",
    "1 .2",
    " 1.2",
    "1.2\x00",
    1.5,
    -1,
    10**30,
    True,
    None,
    ["1"],
]


def raw(body: dict[str, Any]) -> bytes:
    # json.dumps escapes lone surrogates, which httpx's json= cannot encode.
    return json.dumps(body).encode()


@pytest.mark.parametrize(("body", "field"), BAD_EITHER)
async def test_update_rejects_a_bad_body_and_changes_nothing(
    client: httpx.AsyncClient,
    conn: Connection,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    world = await make_world(runtime, tenant)
    url = world.url("/stories/{story}")
    headers = {**orchestrator_key.headers, "content-type": "application/json"}
    invalid(await client.patch(url, content=raw(body), headers=headers), field)
    shown = data_of(await client.get(url, headers=headers))
    assert (shown["title"], shown["estimated_hours"], shown["metadata"]) == ("Story 1.1", None, {})
    assert len(await audit_rows(conn, tenant.id, entity_type="story")) == 1


@pytest.mark.parametrize(("body", "field"), BAD_EITHER)
@pytest.mark.parametrize("route", ["/epics/{epic}/stories", "/projects/{project}/stories"])
async def test_create_rejects_a_bad_body(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    body: dict[str, Any],
    field: str,
    route: str,
) -> None:
    world = await make_world(runtime, tenant)
    full = {"epic_number": 1, "number": "1.2", "title": "Two", **body}
    if "epics" in route:
        del full["epic_number"]
    headers = {**orchestrator_key.headers, "content-type": "application/json"}
    invalid(await client.post(world.url(route), content=raw(full), headers=headers), field)


@pytest.mark.parametrize("number", BAD_NUMBERS)
async def test_create_rejects_a_bad_story_number(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, number: Any
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.post(
        world.url("/epics/{epic}/stories"),
        json={"number": number, "title": "x"},
        headers=user_key.headers,
    )
    invalid(response, "body.number")


@pytest.mark.parametrize("epic_number", [0, -1, 2**31, 10**30, 1.5, True, "one", None, {"n": 1}])
async def test_create_in_a_project_rejects_a_bad_epic_number(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, epic_number: Any
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.post(
        world.url("/projects/{project}/stories"),
        json={"epic_number": epic_number, "number": "1.2", "title": "x"},
        headers=user_key.headers,
    )
    invalid(response, "body.epic_number")


@pytest.mark.parametrize("number", ["0", "0.0", "99999", "1.2.3.4", "99999.99999.99999.99999"])
async def test_the_widest_numbers_are_accepted(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, number: str
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.post(
        world.url("/epics/{epic}/stories"),
        json={"number": number, "title": "x", "estimated_hours": "999999"},
        headers=user_key.headers,
    )
    created = data_of(response, 201)
    assert (created["number"], created["estimated_hours"]) == (number, 999999.0)


@pytest.mark.parametrize("field", ["title", "acceptance_criteria", "metadata"])
async def test_update_cannot_null_a_required_field(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, field: str
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.patch(
        world.url("/stories/{story}"), json={field: None}, headers=user_key.headers
    )
    invalid(response, f"body.{field}")


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b"null", b'{"title": "x"', b'{"metadata": {"a": NaN}}'],
)
async def test_update_rejects_malformed_json(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, content: bytes
) -> None:
    world = await make_world(runtime, tenant)
    headers = {**user_key.headers, "content-type": "application/json"}
    response = await client.patch(world.url("/stories/{story}"), content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
