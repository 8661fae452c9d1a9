"""Bad and hostile epic bodies: always a 422 naming the field, never a 500, nothing stored."""

import json
from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.kit.schemas import METADATA_MAX_BYTES, METADATA_MAX_DEPTH
from loopctl.platform.runtime import Runtime
from tests.epics.world import make_world
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import audit_rows, data_of, invalid

NESTED: dict[str, Any] = {"a": 1}
for _ in range(METADATA_MAX_DEPTH):
    NESTED = {"a": NESTED}

# Bodies that are bad for both create and update, with the field named.
BAD_EITHER: list[tuple[dict[str, Any], str]] = [
    ({"title": ""}, "body.title"),
    ({"title": "   "}, "body.title"),
    ({"title": "x" * 501}, "body.title"),
    ({"title": "nul\x00"}, "body.title"),
    ({"title": 5}, "body.title"),
    ({"description": "x" * 50_001}, "body.description"),
    ({"description": "\x00"}, "body.description"),
    ({"phase": "x" * 101}, "body.phase"),
    ({"phase": "a\x00"}, "body.phase"),
    ({"position": -1}, "body.position"),
    ({"position": 2**31}, "body.position"),
    ({"position": 10**40}, "body.position"),
    ({"position": 1.5}, "body.position"),
    ({"position": 1e300}, "body.position"),
    ({"position": "first"}, "body.position"),
    ({"position": True}, "body.position"),
    ({"metadata": []}, "body.metadata"),
    ({"metadata": "x"}, "body.metadata"),
    ({"metadata": {"x": "y" * METADATA_MAX_BYTES}}, "body.metadata"),
    ({"metadata": {"a\x00": 1}}, "body.metadata"),
    ({"metadata": {"a": "x\x00y"}}, "body.metadata"),
    ({"metadata": {"a": [{"b": ["\x00"]}]}}, "body.metadata"),
    ({"metadata": {"a": "\ud800"}}, "body.metadata"),
    ({"metadata": {"\udfff": 1}}, "body.metadata"),
    ({"metadata": {"a": 2**63}}, "body.metadata"),
    ({"metadata": {"a": -(10**400)}}, "body.metadata"),
    ({"metadata": {"a": 1.5e300}}, "body.metadata"),
    ({"metadata": {"a": [-1e19]}}, "body.metadata"),
    ({"metadata": NESTED}, "body.metadata"),
]
# Raw JSON, for what json.dumps would not write by default.
BAD_RAW: list[tuple[str, str]] = [
    ('{"metadata": {"a": NaN}}', "body.metadata"),
    ('{"metadata": {"a": [-Infinity]}}', "body.metadata"),
    ('{"position": NaN}', "body.position"),
    ('{"title": "\\ud800"}', "body.title"),
    ('{"phase": "\\u0000"}', "body.phase"),
]


def create_body(**fields: Any) -> dict[str, Any]:
    return {"number": 2, "title": "Two", **fields}


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
    url = world.url("/epics/{epic}")
    # json.dumps writes lone surrogates as \ud800 escapes, which httpx's json= cannot.
    content = json.dumps(body).encode()
    headers = {**orchestrator_key.headers, "content-type": "application/json"}
    invalid(await client.patch(url, content=content, headers=headers), field)
    shown = data_of(await client.get(url, headers=orchestrator_key.headers))
    assert (shown["title"], shown["position"], shown["metadata"]) == ("Epic 1", 0, {})
    assert len(await audit_rows(conn, tenant.id, entity_type="epic")) == 1


@pytest.mark.parametrize(("body", "field"), BAD_EITHER)
async def test_create_rejects_a_bad_body(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    world = await make_world(runtime, tenant)
    content = json.dumps(create_body(**body)).encode()
    headers = {**orchestrator_key.headers, "content-type": "application/json"}
    response = await client.post(
        world.url("/projects/{project}/epics"), content=content, headers=headers
    )
    invalid(response, field)


@pytest.mark.parametrize(("raw", "field"), BAD_RAW)
async def test_update_rejects_json_that_cannot_be_stored_as_sent(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    raw: str,
    field: str,
) -> None:
    world = await make_world(runtime, tenant)
    headers = {**orchestrator_key.headers, "content-type": "application/json"}
    response = await client.patch(world.url("/epics/{epic}"), content=raw.encode(), headers=headers)
    invalid(response, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "No number"}, "body.number"),
        ({"number": 1}, "body.title"),
        (create_body(number=0), "body.number"),
        (create_body(number=-3), "body.number"),
        (create_body(number=2**31), "body.number"),
        (create_body(number=10**30), "body.number"),
        (create_body(number=2.5), "body.number"),
        (create_body(number=True), "body.number"),
        (create_body(number="two"), "body.number"),
        (create_body(number=None), "body.number"),
        (create_body(metadata=None), "body.metadata"),
    ],
)
async def test_create_rejects_a_bad_number_or_missing_fields(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    orchestrator_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.post(
        world.url("/projects/{project}/epics"), json=body, headers=orchestrator_key.headers
    )
    invalid(response, field)


@pytest.mark.parametrize("field", ["title", "position", "metadata"])
async def test_update_cannot_null_a_required_field(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, field: str
) -> None:
    world = await make_world(runtime, tenant)
    response = await client.patch(
        world.url("/epics/{epic}"), json={field: None}, headers=user_key.headers
    )
    invalid(response, f"body.{field}")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'"title"', b"null", b"\xff\xfe"])
async def test_update_rejects_a_body_that_is_not_an_object(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, content: bytes
) -> None:
    world = await make_world(runtime, tenant)
    headers = {**user_key.headers, "content-type": "application/json"}
    response = await client.patch(world.url("/epics/{epic}"), content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_metadata_at_the_limits_is_stored_as_sent(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    world = await make_world(runtime, tenant)
    deep: dict[str, Any] = {"a": 1}
    for _ in range(METADATA_MAX_DEPTH - 2):
        deep = {"a": deep}
    for metadata in (
        {"deep": deep},
        {
            "big": 2**63 - 1,
            "small": -(2**63),
            "float": 1.5e18,
            "tiny": -2.5e-300,
            "text": "ünïcødé ✓",
        },
        {"x": "y" * (METADATA_MAX_BYTES - 20)},
    ):
        response = await client.patch(
            world.url("/epics/{epic}"), json={"metadata": metadata}, headers=user_key.headers
        )
        assert data_of(response)["metadata"] == metadata
        shown = data_of(await client.get(world.url("/epics/{epic}"), headers=user_key.headers))
        assert shown["metadata"] == metadata
