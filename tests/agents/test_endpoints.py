"""/api/v1/agents: registration by users, self-description by agent keys, list and show."""

from typing import Any
from uuid import uuid4

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.kit.schemas import METADATA_MAX_BYTES
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import API, audit_rows, bearer, data_of, error_of, invalid

AGENTS = f"{API}/agents"
REGISTER = f"{AGENTS}/register"


async def register(client: httpx.AsyncClient, key: Key, **body: Any) -> httpx.Response:
    return await client.post(REGISTER, json=body, headers=key.headers)


# --- registration by a user ---------------------------------------------------------------


async def test_a_user_registers_an_agent(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    response = await register(
        client,
        user_key,
        name="builder",
        agent_type="implementer",
        model="claude-opus-4",
        provider="anthropic",
        metadata={"tools": ["git"], "nested": {"a": 1}},
    )
    agent = data_of(response, 201)
    assert agent["name"] == "builder"
    assert agent["agent_type"] == "implementer"
    assert (agent["model"], agent["provider"]) == ("claude-opus-4", "anthropic")
    assert agent["metadata"] == {"tools": ["git"], "nested": {"a": 1}}
    assert agent["created_at"].endswith("Z")
    assert set(agent) == {
        "id",
        "name",
        "agent_type",
        "model",
        "provider",
        "metadata",
        "last_seen_at",
        "created_at",
        "updated_at",
    }
    rows = await audit_rows(conn, tenant.id, entity_type="agent", entity_id=agent["id"])
    assert [(r.action, r.actor_role, r.actor_key_id) for r in rows] == [
        ("registered", "user", user_key.id)
    ]
    assert rows[0].after is not None
    assert rows[0].after["name"] == "builder"
    assert rows[0].request_id == response.headers["x-request-id"]


async def test_an_agent_name_is_unique_within_a_tenant_only(
    client: httpx.AsyncClient, user_key: Key, other_tenant: Tenant
) -> None:
    data_of(await register(client, user_key, name="twin", agent_type="implementer"), 201)
    response = await register(client, user_key, name="twin", agent_type="orchestrator")
    error = error_of(response, 409, "agent_name_taken")
    assert error["details"] == {"name": "twin"}
    data_of(await register(client, other_tenant.user, name="twin", agent_type="implementer"), 201)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body.name", "body.agent_type"]),
        ({"name": "a", "agent_type": "boss"}, ["body.agent_type"]),
        ({"name": "", "agent_type": "implementer"}, ["body.name"]),
        ({"name": "a" * 201, "agent_type": "implementer"}, ["body.name"]),
        ({"name": "a", "agent_type": "implementer", "model": ""}, ["body.model"]),
        ({"name": "a", "agent_type": "implementer", "provider": "p\x00"}, ["body.provider"]),
        ({"name": "a", "agent_type": "implementer", "metadata": []}, ["body.metadata"]),
        ({"name": "a", "agent_type": "implementer", "status": "active"}, ["body.status"]),
        (
            {
                "name": "a",
                "agent_type": "implementer",
                "metadata": {"blob": "x" * METADATA_MAX_BYTES},
            },
            ["body.metadata"],
        ),
    ],
)
async def test_register_rejects_a_bad_body(
    client: httpx.AsyncClient, user_key: Key, body: dict[str, Any], fields: list[str]
) -> None:
    invalid(await client.post(REGISTER, json=body, headers=user_key.headers), *fields)


async def test_metadata_up_to_the_limit_is_accepted(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    blob = "x" * (METADATA_MAX_BYTES - len('{"blob":""}'))
    response = await register(
        client, user_key, name="big", agent_type="implementer", metadata={"blob": blob}
    )
    assert data_of(response, 201)["metadata"] == {"blob": blob}


# --- self-description by agent and orchestrator keys --------------------------------------


async def test_an_agent_key_describes_its_own_agent(
    client: httpx.AsyncClient, runtime: Runtime, conn: Connection, tenant: Tenant
) -> None:
    key = await make_key(runtime, tenant, "agent", agent_name="worker-1")
    described = await register(
        client,
        key,
        name="worker-1",
        agent_type="implementer",
        model="gpt-5",
        provider="openai",
        metadata={"v": 1},
    )
    agent = data_of(described, 200)
    assert agent["id"] == str(key.agent_id)
    assert (agent["model"], agent["provider"], agent["metadata"]) == ("gpt-5", "openai", {"v": 1})
    rows = await audit_rows(conn, tenant.id, entity_type="agent", entity_id=key.agent_id)
    assert [(r.action, r.actor_role) for r in rows] == [
        ("registered", "user"),
        ("updated", "agent"),
    ]
    updated = rows[-1]
    assert (updated.actor_key_id, updated.actor_agent_id) == (key.id, key.agent_id)
    assert updated.actor_label == "agent:worker-1"
    assert updated.before is not None
    assert updated.before["model"] is None
    assert updated.after is not None
    assert updated.after["model"] == "gpt-5"

    # The same description again changes nothing, so it writes no audit row.
    again = await register(
        client,
        key,
        name="worker-1",
        agent_type="implementer",
        model="gpt-5",
        provider="openai",
        metadata={"v": 1},
    )
    assert data_of(again, 200)["metadata"] == {"v": 1}
    assert len(await audit_rows(conn, tenant.id, entity_type="agent", entity_id=key.agent_id)) == 2


async def test_an_orchestrator_key_describes_its_own_agent(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    key = await make_key(runtime, tenant, "orchestrator", agent_name="planner")
    response = await register(client, key, name="planner", agent_type="orchestrator", model="m")
    agent = data_of(response, 200)
    assert (agent["id"], agent["model"]) == (str(key.agent_id), "m")


@pytest.mark.parametrize(
    ("name", "agent_type"),
    [("someone-else", "implementer"), ("worker-2", "orchestrator"), ("new-agent", "orchestrator")],
)
async def test_an_agent_key_cannot_register_or_become_another_agent(
    client: httpx.AsyncClient,
    runtime: Runtime,
    conn: Connection,
    tenant: Tenant,
    user_key: Key,
    name: str,
    agent_type: str,
) -> None:
    data_of(await register(client, user_key, name="someone-else", agent_type="implementer"), 201)
    key = await make_key(runtime, tenant, "agent", agent_name="worker-2")
    audited = len(await audit_rows(conn, tenant.id))
    response = await register(client, key, name=name, agent_type=agent_type, model="x")
    error = error_of(response, 409, "key_bound_to_other_agent")
    assert error["details"] == {
        "agent_id": str(key.agent_id),
        "name": "worker-2",
        "agent_type": "implementer",
    }
    assert len(await audit_rows(conn, tenant.id)) == audited
    orchestrator = await make_key(runtime, tenant, "orchestrator")
    listed = data_of(await client.get(AGENTS, headers=orchestrator.headers))
    assert "new-agent" not in {a["name"] for a in listed}
    me = data_of(await client.get(f"{AGENTS}/{key.agent_id}", headers=orchestrator.headers))
    assert me["model"] is None


# --- list and show ------------------------------------------------------------------------


@pytest.fixture
async def crew(runtime: Runtime) -> tuple[Tenant, Key]:
    """A tenant with five agents (three implementers) and an orchestrator key."""
    tenant = await make_tenant(runtime)
    for name in ("delta", "alpha", "echo"):
        await make_key(runtime, tenant, "agent", agent_name=name)
    await make_key(runtime, tenant, "orchestrator", agent_name="charlie")
    key = await make_key(runtime, tenant, "orchestrator", agent_name="bravo")
    return tenant, key


async def names(client: httpx.AsyncClient, key: Key, **params: Any) -> list[str]:
    response = await client.get(AGENTS, params=params, headers=key.headers)
    return [a["name"] for a in data_of(response)]


async def test_list_sorts_by_name_by_default_and_filters_by_type(
    client: httpx.AsyncClient, crew: tuple[Tenant, Key]
) -> None:
    _, key = crew
    assert await names(client, key) == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert await names(client, key, agent_type="implementer") == ["alpha", "delta", "echo"]
    assert await names(client, key, agent_type="orchestrator") == ["bravo", "charlie"]
    assert await names(client, key, sort="-name") == ["echo", "delta", "charlie", "bravo", "alpha"]
    assert await names(client, key, sort="agent_type,-name") == [
        "echo",
        "delta",
        "alpha",
        "charlie",
        "bravo",
    ]
    by_created = await names(client, key, sort="-created_at")
    assert sorted(by_created) == ["alpha", "bravo", "charlie", "delta", "echo"]


async def test_list_accepts_the_reference_sort_parameters(
    client: httpx.AsyncClient, crew: tuple[Tenant, Key]
) -> None:
    _, key = crew
    by_name = ["alpha", "bravo", "charlie", "delta", "echo"]
    assert await names(client, key, sort_by="name") == by_name
    assert await names(client, key, sort_by="name", sort_order="desc") == by_name[::-1]
    assert await names(client, key, sort_by="name", sort_order="asc") == by_name
    # The reference's inserted_at is our created_at.
    assert await names(client, key, sort_by="inserted_at") == await names(
        client, key, sort="created_at"
    )
    assert await names(client, key, sort="-inserted_at") == await names(
        client, key, sort="-created_at"
    )


async def test_list_paginates_with_limit_offset_and_the_page_aliases(
    client: httpx.AsyncClient, crew: tuple[Tenant, Key]
) -> None:
    _, key = crew
    first = (await client.get(AGENTS, headers=key.headers)).json()
    assert first["meta"] == {"total": 5, "total_count": 5, "limit": 50, "offset": 0}
    page = (await client.get(AGENTS, params={"limit": 2, "offset": 2}, headers=key.headers)).json()
    assert [a["name"] for a in page["data"]] == ["charlie", "delta"]
    assert page["meta"] == {"total": 5, "total_count": 5, "limit": 2, "offset": 2}
    alias = await client.get(AGENTS, params={"page": 3, "page_size": 2}, headers=key.headers)
    assert [a["name"] for a in data_of(alias)] == ["echo"]
    assert alias.json()["meta"] == {"total": 5, "total_count": 5, "limit": 2, "offset": 4}
    filtered = await client.get(
        AGENTS, params={"agent_type": "implementer", "limit": 1}, headers=key.headers
    )
    assert filtered.json()["meta"] == {"total": 3, "total_count": 3, "limit": 1, "offset": 0}
    beyond = await client.get(AGENTS, params={"offset": 10}, headers=key.headers)
    assert beyond.json() == {
        "data": [],
        "meta": {"total": 5, "total_count": 5, "limit": 50, "offset": 10},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "secret"}, "query.sort"),
        ({"sort": "name,-bogus"}, "query.sort"),
        ({"agent_type": "boss"}, "query.agent_type"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"status": "active"}, "query.status"),
        ({"sort_by": "secret"}, "query.sort"),
        ({"sort_by": "-name"}, "query.sort_by"),
        ({"sort_by": "name", "sort": "name"}, "query.sort_by"),
        ({"sort_order": "desc"}, "query.sort_order"),
        ({"sort_by": "name", "sort_order": "down"}, "query.sort_order"),
    ],
)
async def test_list_rejects_bad_query_parameters(
    client: httpx.AsyncClient, orchestrator_key: Key, params: dict[str, Any], field: str
) -> None:
    invalid(await client.get(AGENTS, params=params, headers=orchestrator_key.headers), field)


async def test_show_returns_one_agent_of_the_callers_tenant_only(
    client: httpx.AsyncClient, runtime: Runtime, orchestrator_key: Key, other_tenant: Tenant
) -> None:
    agent = data_of(
        await client.get(f"{AGENTS}/{orchestrator_key.agent_id}", headers=orchestrator_key.headers)
    )
    assert (agent["id"], agent["agent_type"]) == (str(orchestrator_key.agent_id), "orchestrator")
    theirs = await make_key(runtime, other_tenant, "agent")
    response = await client.get(f"{AGENTS}/{theirs.agent_id}", headers=orchestrator_key.headers)
    error_of(response, 404, "agent_not_found")
    listed = data_of(await client.get(AGENTS, headers=orchestrator_key.headers))
    assert str(theirs.agent_id) not in {a["id"] for a in listed}


@pytest.mark.parametrize("agent_id", ["not-a-uuid", "123", "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0z"])
async def test_show_with_a_malformed_id_is_not_found(
    client: httpx.AsyncClient, orchestrator_key: Key, agent_id: str
) -> None:
    error_of(
        await client.get(f"{AGENTS}/{agent_id}", headers=orchestrator_key.headers), 404, "not_found"
    )


async def test_show_an_unknown_id_is_not_found(
    client: httpx.AsyncClient, orchestrator_key: Key
) -> None:
    response = await client.get(f"{AGENTS}/{uuid4()}", headers=orchestrator_key.headers)
    error_of(response, 404, "agent_not_found")


async def test_last_seen_at_moves_when_usage_is_flushed(
    client: httpx.AsyncClient, runtime: Runtime, orchestrator_key: Key, agent_key: Key
) -> None:
    path = f"{AGENTS}/{agent_key.agent_id}"
    before = data_of(await client.get(path, headers=orchestrator_key.headers))["last_seen_at"]
    data_of(await client.get(f"{API}/tenants/me", headers=agent_key.headers))
    assert (
        data_of(await client.get(path, headers=orchestrator_key.headers))["last_seen_at"] == before
    )
    await runtime.usage.flush(runtime.connections)
    after = data_of(await client.get(path, headers=orchestrator_key.headers))["last_seen_at"]
    assert after > before


# --- authentication and roles -------------------------------------------------------------


class TestAccess(RouteAccess):
    ROUTES = (
        # An agent key describes its own agent: {agent_name} is the implementer's name.
        Route(
            "POST",
            "/agents/register",
            "agent",
            {"name": "{agent_name}", "agent_type": "implementer"},
        ),
        Route("GET", "/agents", "orchestrator"),
        Route("GET", "/agents/{agent}", "orchestrator", missing="agent_not_found"),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:
        orchestrator = await make_key(runtime, tenant, "orchestrator", agent_name="conductor")
        # The test's agent key, where it asks for one, is the tenant's only implementer.
        listed = data_of(
            await client.get(
                AGENTS, params={"agent_type": "implementer"}, headers=tenant.user.headers
            )
        )
        name = listed[0]["name"] if listed else "nobody"
        return {"agent": str(orchestrator.agent_id), "agent_name": name}

    async def after_foreign(
        self, client: httpx.AsyncClient, conn: Connection, owner: Tenant, ids: Ids
    ) -> None:
        shown = data_of(await client.get(f"{AGENTS}/{ids['agent']}", headers=owner.user.headers))
        assert shown["name"] == "conductor"
        assert [r.action for r in await audit_rows(conn, owner.id, entity_type="agent")] == [
            "registered"
        ]


async def test_a_key_too_short_to_be_one_is_invalid(client: httpx.AsyncClient) -> None:
    error_of(await client.get(AGENTS, headers=bearer("lc_short")), 401, "invalid_api_key")
