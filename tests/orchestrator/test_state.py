"""Checkpoints: versions, optimistic locking, If-Match, history, cursors, limits, audit."""

from typing import Any
from uuid import UUID

import httpx
import orjson
import psycopg
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from loopctl.projects.rows import ProjectRow
from tests.fixtures.factories import Key, Tenant
from tests.fixtures.http import API, audit_rows, data_of, error_of, invalid
from tests.fixtures.work import make_project

LIMIT = 262_144


@pytest.fixture
async def project(runtime: Runtime, tenant: Tenant) -> ProjectRow:
    return await make_project(runtime, tenant)


def url(project: ProjectRow, suffix: str = "") -> str:
    return f"{API}/orchestrator/state/{project.id}{suffix}"


async def save(
    client: httpx.AsyncClient,
    project: ProjectRow,
    key: Key,
    data: dict[str, Any],
    version: int | None = None,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {"state_data": data, **extra}
    if version is not None:
        body["version"] = version
    return await client.put(url(project), json=body, headers=key.headers)


async def test_the_first_save_is_version_1_and_each_save_adds_one(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    first = data_of(await save(client, project, orchestrator_key, {"phase": "plan"}))
    assert first["version"] == 1
    assert first["state_key"] == "main"
    assert first["project_id"] == str(project.id)
    assert first["saved_by_agent_id"] == str(orchestrator_key.agent_id)
    response = await save(client, project, orchestrator_key, {"phase": "build"}, 1)
    second = data_of(response)
    assert response.headers["etag"] == '"2"'
    assert (second["version"], second["state_data"]) == (2, {"phase": "build"})
    # One checkpoint: the id and creation time stay, the update time moves with versions.
    assert second["id"] == first["id"]
    assert second["inserted_at"] == first["inserted_at"]
    response = await client.get(url(project), headers=orchestrator_key.headers)
    assert data_of(response) == second
    assert response.headers["etag"] == '"2"'


async def test_a_stale_version_is_a_conflict_naming_the_current_one(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    project: ProjectRow,
    orchestrator_key: Key,
) -> None:
    data_of(await save(client, project, orchestrator_key, {"n": 1}))
    data_of(await save(client, project, orchestrator_key, {"n": 2}, 1))
    audited = len(await audit_rows(conn, tenant.id, entity_type="orchestrator_state"))
    for stale in (1, 0, 3, None):
        error = error_of(
            await save(client, project, orchestrator_key, {"n": 9}, stale), 409, "version_conflict"
        )
        assert error["details"] == {
            "current_version": 2,
            "expected_version": stale or 0,
            "state_key": "main",
        }
    state = data_of(await client.get(url(project), headers=orchestrator_key.headers))
    assert (state["version"], state["state_data"]) == (2, {"n": 2})
    assert len(await audit_rows(conn, tenant.id, entity_type="orchestrator_state")) == audited


async def test_a_version_for_a_state_that_does_not_exist_is_a_conflict(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    error = error_of(await save(client, project, orchestrator_key, {}, 4), 409, "version_conflict")
    assert error["details"]["current_version"] == 0
    assert data_of(await save(client, project, orchestrator_key, {}, 0))["version"] == 1


@pytest.mark.parametrize("tag", ["1", '"1"', 'W/"1"'])
async def test_if_match_carries_the_version(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key, tag: str
) -> None:
    data_of(await save(client, project, orchestrator_key, {"n": 1}))
    headers = {**orchestrator_key.headers, "If-Match": tag}
    body = {"state_data": {"n": 2}}
    assert data_of(await client.put(url(project), json=body, headers=headers))["version"] == 2
    # The same tag again is now stale.
    response = await client.put(url(project), json=body, headers=headers)
    assert error_of(response, 409, "version_conflict")["details"]["current_version"] == 2


@pytest.mark.parametrize("tag", ["*", "abc", '"1", "2"', "99999999999", "-1"])
async def test_an_if_match_that_is_not_a_version_is_invalid(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key, tag: str
) -> None:
    headers = {**orchestrator_key.headers, "If-Match": tag}
    response = await client.put(url(project), json={"state_data": {}}, headers=headers)
    invalid(response, "header.if-match")


async def test_if_match_and_body_version_must_agree(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    data_of(await save(client, project, orchestrator_key, {}))
    headers = {**orchestrator_key.headers, "If-Match": '"1"'}
    body = {"state_data": {}, "version": 2}
    invalid(await client.put(url(project), json=body, headers=headers), "header.if-match")
    body["version"] = 1
    assert data_of(await client.put(url(project), json=body, headers=headers))["version"] == 2


async def test_state_keys_are_separate_checkpoints(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    data_of(await save(client, project, orchestrator_key, {"k": "main"}))
    other = data_of(await save(client, project, orchestrator_key, {"k": "b"}, state_key="review"))
    assert other["version"] == 1
    response = await client.get(url(project, "?state_key=review"), headers=orchestrator_key.headers)
    assert data_of(response)["state_data"] == {"k": "b"}
    response = await client.get(url(project), headers=orchestrator_key.headers)
    assert data_of(response)["state_data"] == {"k": "main"}


async def test_an_unknown_state_key_is_not_found_and_has_no_history(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    data_of(await save(client, project, orchestrator_key, {}))
    response = await client.get(url(project, "?state_key=nope"), headers=orchestrator_key.headers)
    error = error_of(response, 404, "orchestrator_state_not_found")
    assert error["details"] == {"project_id": str(project.id), "state_key": "nope"}
    response = await client.get(
        url(project, "/history?state_key=nope"), headers=orchestrator_key.headers
    )
    assert response.json() == {
        "data": [],
        "meta": {"total": 0, "total_count": 0, "limit": 50, "offset": 0},
    }


async def test_history_lists_every_version_newest_first_in_pages(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key, user_key: Key
) -> None:
    for version in range(5):
        key = user_key if version == 2 else orchestrator_key
        data_of(await save(client, project, key, {"n": version + 1}, version))
    data_of(await save(client, project, orchestrator_key, {"other": True}, state_key="side"))
    response = await client.get(url(project, "/history"), headers=orchestrator_key.headers)
    versions = data_of(response)
    assert [v["version"] for v in versions] == [5, 4, 3, 2, 1]
    assert [v["state_data"] for v in versions] == [{"n": n} for n in (5, 4, 3, 2, 1)]
    assert versions[2]["saved_by"] != versions[0]["saved_by"]
    assert versions[2]["saved_by_agent_id"] is None
    assert versions[0]["saved_by_agent_id"] == str(orchestrator_key.agent_id)
    assert response.json()["meta"]["total"] == 5
    response = await client.get(
        url(project, "/history?page=2&page_size=2"), headers=orchestrator_key.headers
    )
    assert [v["version"] for v in data_of(response)] == [3, 2]
    response = await client.get(
        url(project, "/history?limit=2&offset=4"), headers=orchestrator_key.headers
    )
    assert [v["version"] for v in data_of(response)] == [1]


async def test_a_cursor_is_stored_with_the_version_and_returned(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key
) -> None:
    saved = data_of(await save(client, project, orchestrator_key, {}, cursor="c_00042"))
    assert saved["cursor"] == "c_00042"
    data_of(await save(client, project, orchestrator_key, {}, 1))
    state = data_of(await client.get(url(project), headers=orchestrator_key.headers))
    # Each version has its own cursor: a save without one stores none.
    assert state["cursor"] is None
    history = data_of(await client.get(url(project, "/history"), headers=orchestrator_key.headers))
    assert [v["cursor"] for v in history] == [None, "c_00042"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state_data": [1, 2]}, "body.state_data"),
        ({"state_data": "text"}, "body.state_data"),
        ({}, "body.state_data"),
        ({"state_data": {"a": "\u0000"}}, "body.state_data"),
        ({"state_data": {}, "state_key": "  "}, "body.state_key"),
        ({"state_data": {}, "state_key": "k" * 256}, "body.state_key"),
        ({"state_data": {}, "version": -1}, "body.version"),
        ({"state_data": {}, "version": True}, "body.version"),
        ({"state_data": {}, "version": 2**31}, "body.version"),
        ({"state_data": {}, "cursor": ""}, "body.cursor"),
        ({"state_data": {}, "cursor": "c" * 1001}, "body.cursor"),
    ],
)
async def test_a_bad_body_is_a_validation_error(
    client: httpx.AsyncClient,
    project: ProjectRow,
    orchestrator_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    invalid(await client.put(url(project), json=body, headers=orchestrator_key.headers), field)


def _of_size(size: int) -> dict[str, str]:
    """A state whose JSON is exactly ``size`` bytes."""
    padding = size - len(orjson.dumps({"blob": ""}))
    data = {"blob": "x" * padding}
    assert len(orjson.dumps(data)) == size
    return data


async def test_state_data_is_limited_in_size(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    project: ProjectRow,
    orchestrator_key: Key,
) -> None:
    response = await save(client, project, orchestrator_key, _of_size(LIMIT + 1))
    error = error_of(response, 413, "payload_too_large")
    assert error["details"] == {"field": "body.state_data", "size": LIMIT + 1, "limit": LIMIT}
    response = await client.get(url(project), headers=orchestrator_key.headers)
    error_of(response, 404, "orchestrator_state_not_found")
    assert await audit_rows(conn, tenant.id, entity_type="orchestrator_state") == []
    assert data_of(await save(client, project, orchestrator_key, _of_size(LIMIT)))["version"] == 1


async def test_every_save_is_audited_with_its_project(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    project: ProjectRow,
    orchestrator_key: Key,
) -> None:
    first = data_of(await save(client, project, orchestrator_key, {"a": 1}, cursor="c1"))
    data_of(await save(client, project, orchestrator_key, {"a": 2}, 1))
    rows = await audit_rows(conn, tenant.id, entity_type="orchestrator_state")
    assert [(r.action, r.entity_id, r.project_id) for r in rows] == [
        ("saved", UUID(first["id"]), project.id),
        ("saved", UUID(first["id"]), project.id),
    ]
    assert rows[0].before is None
    assert rows[0].after == {
        "project_id": str(project.id),
        "state_key": "main",
        "version": 1,
        "cursor": "c1",
        "state_bytes": len(orjson.dumps({"a": 1})),
    }
    assert (rows[1].before or {}).get("version") == 1
    assert (rows[1].after or {}).get("version") == 2
    assert rows[1].actor_agent_id == orchestrator_key.agent_id


async def test_an_archived_project_keeps_its_state_readable_but_takes_no_saves(
    client: httpx.AsyncClient, project: ProjectRow, orchestrator_key: Key, user_key: Key
) -> None:
    data_of(await save(client, project, orchestrator_key, {"done": True}))
    response = await client.delete(f"{API}/projects/{project.id}", headers=user_key.headers)
    assert response.status_code == 200, response.text
    error_of(await save(client, project, orchestrator_key, {}, 1), 409, "project_archived")
    state = data_of(await client.get(url(project), headers=orchestrator_key.headers))
    assert state["state_data"] == {"done": True}


async def test_versions_cannot_be_changed_by_the_app_role(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    project: ProjectRow,
    orchestrator_key: Key,
) -> None:
    data_of(await save(client, project, orchestrator_key, {"n": 1}))
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    for statement in (
        "UPDATE orchestrator_states SET state_data = '{}'",
        "DELETE FROM orchestrator_states",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with conn.transaction():
                await conn.execute(statement)
