"""/api/v1/api_keys: create, list, show and revoke (rotation is in test_rotation.py)."""

from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    audit_rows,
    bearer,
    client_for,
    data_of,
    error_of,
    invalid,
    key_column,
    rollback_runtime,
)

KEYS = f"{API}/api_keys"
ME = f"{API}/tenants/me"
FIELDS = {
    "id",
    "name",
    "key_prefix",
    "role",
    "agent_id",
    "agent_name",
    "status",
    "expires_at",
    "revoked_at",
    "rotated_at",
    "replaces_key_id",
    "last_used_at",
    "created_by_key_id",
    "created_at",
}


async def create(client: httpx.AsyncClient, key: Key, **body: Any) -> httpx.Response:
    return await client.post(KEYS, json=body, headers=key.headers)


# --- create -------------------------------------------------------------------------------


async def test_create_a_user_key_shows_the_raw_key_once(
    client: httpx.AsyncClient, runtime: Runtime, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    response = await create(client, user_key, name="ci", role="user")
    created = data_of(response, 201)
    raw = created.pop("raw_key")
    assert set(created) == FIELDS
    assert raw.startswith("lc_")
    assert len(raw) == 46
    assert created["key_prefix"] == raw[:11]
    assert (created["name"], created["role"], created["status"]) == ("ci", "user", "active")
    assert (created["agent_id"], created["agent_name"], created["expires_at"]) == (None, None, None)
    assert created["created_by_key_id"] == str(user_key.id)
    assert data_of(await client.get(ME, headers=bearer(raw)))["id"] == str(tenant.id)

    shown = await client.get(f"{KEYS}/{created['id']}", headers=user_key.headers)
    listed = await client.get(KEYS, headers=user_key.headers)
    assert data_of(shown) == {**created, "last_used_at": None}
    assert created["id"] in {k["id"] for k in data_of(listed)}
    for later in (shown, listed):
        assert "raw_key" not in later.text
        assert raw not in later.text

    (row,) = await audit_rows(conn, tenant.id, entity_type="api_key", entity_id=created["id"])
    assert (row.action, row.actor_role, row.actor_key_id) == ("created", "user", user_key.id)
    assert row.request_id == response.headers["x-request-id"]
    digest = await key_column(conn, tenant.id, created["id"], "key_hash")
    assert digest == runtime.hasher.digest(raw)
    logged = str([(r.before, r.after) for r in await audit_rows(conn, tenant.id)])
    assert raw not in logged
    assert digest not in logged
    assert "key_hash" not in logged


async def test_an_orchestrator_key_by_agent_name_creates_its_agent(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    created = data_of(
        await create(client, user_key, name="o", role="orchestrator", agent_name="lead"), 201
    )
    assert (created["role"], created["agent_name"]) == ("orchestrator", "lead")
    orchestrator = bearer(created["raw_key"])
    agent = data_of(await client.get(f"{API}/agents/{created['agent_id']}", headers=orchestrator))
    assert (agent["name"], agent["agent_type"]) == ("lead", "orchestrator")
    rows = await audit_rows(conn, tenant.id)
    assert [(r.entity_type, r.action) for r in rows[-2:]] == [
        ("agent", "registered"),
        ("api_key", "created"),
    ]


@pytest.mark.parametrize("by", ["agent_id", "agent_name"])
async def test_an_agent_key_binds_an_existing_implementer(
    client: httpx.AsyncClient, user_key: Key, by: str
) -> None:
    agent = data_of(
        await client.post(
            f"{API}/agents/register",
            json={"name": "coder", "agent_type": "implementer"},
            headers=user_key.headers,
        ),
        201,
    )
    ref = {"agent_id": agent["id"]} if by == "agent_id" else {"agent_name": "coder"}
    created = data_of(await create(client, user_key, name="a", role="agent", **ref), 201)
    assert (created["agent_id"], created["agent_name"]) == (agent["id"], "coder")
    me = await client.post(
        f"{API}/agents/register",
        json={"name": "coder", "agent_type": "implementer", "model": "m"},
        headers=bearer(created["raw_key"]),
    )
    assert data_of(me)["id"] == agent["id"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body.name", "body.role"]),
        ({"name": "k", "role": "superadmin"}, ["body.role"]),
        ({"name": "", "role": "user"}, ["body.name"]),
        ({"name": "k", "role": "agent"}, ["body.agent_id", "body.agent_name"]),
        ({"name": "k", "role": "orchestrator"}, ["body.agent_id", "body.agent_name"]),
        (
            {
                "name": "k",
                "role": "agent",
                "agent_name": "x",
                "agent_id": "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b",
            },
            ["body.agent_id", "body.agent_name"],
        ),
        ({"name": "k", "role": "user", "agent_name": "x"}, ["body.agent_name"]),
        (
            {"name": "k", "role": "user", "agent_id": "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b"},
            ["body.agent_id"],
        ),
        ({"name": "k", "role": "agent", "agent_id": "nope"}, ["body.agent_id"]),
        (
            {"name": "k", "role": "agent", "agent_id": "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b"},
            ["body.agent_id"],
        ),
        ({"name": "k", "role": "user", "expires_at": "2020-01-01T00:00:00Z"}, ["body.expires_at"]),
        ({"name": "k", "role": "user", "expires_at": "2999-01-01T00:00:00"}, ["body.expires_at"]),
        ({"name": "k", "role": "user", "expires_at": "soon"}, ["body.expires_at"]),
        ({"name": "k", "role": "user", "key_hash": "x"}, ["body.key_hash"]),
        ({"name": "k", "role": "user", "raw_key": "lc_x"}, ["body.raw_key"]),
    ],
)
async def test_create_rejects_a_bad_body(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    user_key: Key,
    body: dict[str, Any],
    fields: list[str],
) -> None:
    audited = len(await audit_rows(conn, tenant.id))
    invalid(await client.post(KEYS, json=body, headers=user_key.headers), *fields)
    assert len(await audit_rows(conn, tenant.id)) == audited


async def test_one_agent_one_role(client: httpx.AsyncClient, user_key: Key, agent_key: Key) -> None:
    response = await create(
        client, user_key, name="o", role="orchestrator", agent_id=str(agent_key.agent_id)
    )
    error = invalid(response, "body.agent_id")
    assert "one agent, one role" in error[0]["message"]
    planner = data_of(
        await create(client, user_key, name="o", role="orchestrator", agent_name="planner"), 201
    )
    invalid(
        await create(client, user_key, name="a", role="agent", agent_name="planner"),
        "body.agent_name",
    )
    assert planner["agent_name"] == "planner"


async def test_an_agent_has_one_live_key(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    first = await make_key(runtime, tenant, "agent", agent_name="solo")
    response = await create(client, user_key, name="again", role="agent", agent_name="solo")
    error = error_of(response, 409, "agent_key_exists")
    assert error["details"]["api_key_id"] == str(first.id)
    assert error["details"]["agent_id"] == str(first.agent_id)
    data_of(await client.delete(f"{KEYS}/{first.id}", headers=user_key.headers))
    second = data_of(
        await create(client, user_key, name="again", role="agent", agent_name="solo"), 201
    )
    assert second["agent_id"] == str(first.agent_id)


async def test_the_live_key_quota_is_the_operators(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, max_api_keys=3)
    tenant = await make_tenant(runtime)  # its first user key is live key number one
    async with client_for(runtime) as client:
        ids = [
            data_of(await create(client, tenant.user, name=f"k{n}", role="user"), 201)["id"]
            for n in range(2)
        ]
        response = await create(client, tenant.user, name="k3", role="agent", agent_name="over")
        assert error_of(response, 409, "api_key_limit_reached")["details"] == {"limit": 3}
        listed = data_of(await client.get(f"{API}/agents", headers=tenant.user.headers))
        assert "over" not in {a["name"] for a in listed}  # nothing half-created
        assert (
            data_of(await client.get(ME, headers=tenant.user.headers))["limits"]["max_api_keys"]
            == 3
        )
        data_of(await client.delete(f"{KEYS}/{ids[0]}", headers=tenant.user.headers))
        data_of(await create(client, tenant.user, name="k3", role="user"), 201)


# --- list and show ------------------------------------------------------------------------


async def test_list_shows_live_keys_newest_first_and_filters(
    client: httpx.AsyncClient, runtime: Runtime, user_key: Key
) -> None:
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent")
    orchestrator = await make_key(runtime, tenant, "orchestrator")
    revoked = await make_key(runtime, tenant, "user")
    data_of(await client.delete(f"{KEYS}/{revoked.id}", headers=tenant.user.headers))
    headers = tenant.user.headers

    async def ids(**params: Any) -> tuple[list[str], int]:
        body = (await client.get(KEYS, params=params, headers=headers)).json()
        return [k["id"] for k in body["data"]], body["meta"]["total"]

    newest_first = [str(orchestrator.id), str(agent.id), str(tenant.user.id)]
    assert await ids() == (newest_first, 3)
    assert await ids(include_revoked="true") == ([str(revoked.id), *newest_first], 4)
    assert await ids(role="agent") == ([str(agent.id)], 1)
    assert await ids(role="user", include_revoked=True) == (
        [str(revoked.id), str(tenant.user.id)],
        2,
    )
    assert await ids(agent_id=str(orchestrator.agent_id)) == ([str(orchestrator.id)], 1)
    assert await ids(limit=1, offset=1) == ([str(agent.id)], 3)
    assert await ids(page=2, page_size=2) == ([str(tenant.user.id)], 3)
    listed = await client.get(KEYS, params={"include_revoked": "true"}, headers=headers)
    assert {k["status"] for k in data_of(listed)} == {"active", "revoked"}
    assert "raw_key" not in listed.text
    # The rest of the database (the fixture tenant's keys) never shows up.
    assert str(user_key.id) not in listed.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"role": "superadmin"}, "query.role"),
        ({"agent_id": "nope"}, "query.agent_id"),
        ({"include_revoked": "perhaps"}, "query.include_revoked"),
        ({"limit": 501}, "query.limit"),
        ({"limit": 5, "page_size": 5}, "query.page_size"),
        ({"offset": 5, "page": 2}, "query.page"),
        ({"status": "revoked"}, "query.status"),
    ],
)
async def test_list_rejects_bad_query_parameters(
    client: httpx.AsyncClient, user_key: Key, params: dict[str, Any], field: str
) -> None:
    invalid(await client.get(KEYS, params=params, headers=user_key.headers), field)


async def test_show_an_unknown_or_malformed_id(client: httpx.AsyncClient, user_key: Key) -> None:
    unknown = await client.get(
        f"{KEYS}/0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b", headers=user_key.headers
    )
    error_of(unknown, 404, "api_key_not_found")
    for bad in ("nope", "1", "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0bb"):
        error_of(await client.get(f"{KEYS}/{bad}", headers=user_key.headers), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("DELETE", "", None), ("POST", "/rotate", {}), ("POST", "/rotate", None)],
)
async def test_another_tenants_key_is_not_found_and_left_alone(
    client: httpx.AsyncClient,
    user_key: Key,
    other_tenant: Tenant,
    method: str,
    suffix: str,
    body: Any,
) -> None:
    theirs = other_tenant.user
    response = await client.request(
        method, f"{KEYS}/{theirs.id}{suffix}", json=body, headers=user_key.headers
    )
    error_of(response, 404, "api_key_not_found")
    mine = data_of(await client.get(f"{KEYS}/{theirs.id}", headers=theirs.headers))
    assert mine["status"] == "active"


async def test_last_used_at_is_written_when_usage_is_flushed(
    client: httpx.AsyncClient, runtime: Runtime, conn: Connection, tenant: Tenant, agent_key: Key
) -> None:
    data_of(await client.get(ME, headers=agent_key.headers))
    assert await key_column(conn, tenant.id, agent_key.id, "last_used_at") is None
    shown = await client.get(f"{KEYS}/{agent_key.id}", headers=tenant.user.headers)
    assert data_of(shown)["last_used_at"] is None
    await runtime.usage.flush(runtime.connections)
    assert await key_column(conn, tenant.id, agent_key.id, "last_used_at") is not None
    shown = await client.get(f"{KEYS}/{agent_key.id}", headers=tenant.user.headers)
    assert data_of(shown)["last_used_at"] is not None


# --- revoke -------------------------------------------------------------------------------


async def test_revoke_stops_the_key_at_once_and_is_idempotent(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key, agent_key: Key
) -> None:
    data_of(await client.get(ME, headers=agent_key.headers))
    revoked = data_of(await client.delete(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None
    error_of(await client.get(ME, headers=agent_key.headers), 401, "invalid_api_key")
    again = data_of(await client.delete(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    assert again == revoked
    rows = await audit_rows(conn, tenant.id, entity_type="api_key", entity_id=agent_key.id)
    assert [r.action for r in rows] == ["created", "revoked"]
    assert rows[1].before is not None
    assert rows[1].after is not None
    assert (rows[1].before["status"], rows[1].after["status"]) == ("active", "revoked")
    assert rows[1].actor_key_id == user_key.id
    assert "raw_key" not in str(rows[1].after)


async def test_the_last_live_user_key_cannot_be_revoked(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    path = f"{KEYS}/{user_key.id}"
    error_of(await client.delete(path, headers=user_key.headers), 409, "last_user_key")
    data_of(await client.get(ME, headers=user_key.headers))
    second = data_of(await create(client, user_key, name="second", role="user"), 201)
    data_of(await client.delete(path, headers=bearer(second["raw_key"])))
    error_of(await client.get(ME, headers=user_key.headers), 401, "invalid_api_key")
    last = f"{KEYS}/{second['id']}"
    error_of(await client.delete(last, headers=bearer(second["raw_key"])), 409, "last_user_key")
    revocations = [r for r in await audit_rows(conn, tenant.id) if r.action == "revoked"]
    assert [r.entity_id for r in revocations] == [user_key.id]


async def test_a_key_may_revoke_itself_when_another_user_key_remains(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    await make_key(runtime, tenant, "user")
    revoked = data_of(await client.delete(f"{KEYS}/{user_key.id}", headers=user_key.headers))
    assert revoked["status"] == "revoked"
    error_of(await client.get(ME, headers=user_key.headers), 401, "invalid_api_key")


# --- authentication and roles -------------------------------------------------------------


class TestAccess(RouteAccess):
    ROUTES = (
        Route("POST", "/api_keys", "user", {"name": "k", "role": "agent", "agent_name": "x"}),
        Route("GET", "/api_keys", "user"),
        Route("GET", "/api_keys/{key}", "user", missing="api_key_not_found"),
        Route("DELETE", "/api_keys/{key}", "user", missing="api_key_not_found"),
        Route("POST", "/api_keys/{key}/rotate", "user", {}, "api_key_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        # A second user key, so that revoking or rotating it is allowed.
        spare = await make_key(runtime, tenant, "user", name="spare")
        return {"key": str(spare.id)}

    async def after_foreign(
        self, client: httpx.AsyncClient, conn: Connection, owner: Tenant, ids: Ids
    ) -> None:
        shown = data_of(await client.get(f"{KEYS}/{ids['key']}", headers=owner.user.headers))
        assert shown["status"] == "active"
        assert [r.action for r in await audit_rows(conn, owner.id, entity_type="api_key")] == [
            "created",
            "created",
        ]


async def test_a_malformed_authorization_header_is_unauthorized(client: httpx.AsyncClient) -> None:
    error_of(await client.get(KEYS, headers={"Authorization": "Token abc"}), 401, "unauthorized")
