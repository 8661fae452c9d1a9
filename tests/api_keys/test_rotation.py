"""Key rotation with a grace period, default grace and expiry from tenant settings, expiry."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    audit_rows,
    bearer,
    client_for,
    committed_runtime,
    data_of,
    error_of,
    invalid,
)

KEYS = f"{API}/api_keys"
ME = f"{API}/tenants/me"


def at(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def about(value: str, expected: timedelta) -> bool:
    """Whether the timestamp ``value`` is ``expected`` from now, give or take a minute."""
    return abs(at(value) - (datetime.now(UTC) + expected)) < timedelta(minutes=1)


async def rotate(
    client: httpx.AsyncClient, key: Key, key_id: Any, body: Any = None
) -> httpx.Response:
    return await client.post(f"{KEYS}/{key_id}/rotate", json=body, headers=key.headers)


async def test_rotate_returns_a_working_key_and_the_old_one_works_for_the_grace_period(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key, agent_key: Key
) -> None:
    response = await rotate(client, user_key, agent_key.id, {"grace_period_hours": 1})
    rotated = data_of(response, 201)
    new, old = rotated["new_key"], rotated["old_key"]
    assert "raw_key" not in old
    assert new["raw_key"] != agent_key.raw
    assert new["key_prefix"] == new["raw_key"][:11]
    assert (new["status"], new["role"], new["agent_id"]) == (
        "active",
        "agent",
        str(agent_key.agent_id),
    )
    assert new["replaces_key_id"] == str(agent_key.id)
    assert new["created_by_key_id"] == str(user_key.id)
    assert (old["id"], old["status"]) == (str(agent_key.id), "rotated")
    assert old["rotated_at"] is not None
    assert about(old["expires_at"], timedelta(hours=1))

    for raw in (new["raw_key"], agent_key.raw):
        assert data_of(await client.get(ME, headers=bearer(raw)))["id"] == str(tenant.id)
    shown = data_of(await client.get(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    assert shown["status"] == "rotated"
    listed = data_of(
        await client.get(
            KEYS, params={"agent_id": str(agent_key.agent_id)}, headers=user_key.headers
        )
    )
    assert [k["id"] for k in listed] == [new["id"], old["id"]]  # in grace, the old key is live

    rows = await audit_rows(conn, tenant.id, entity_type="api_key")
    assert [(str(r.entity_id), r.action) for r in rows[-2:]] == [
        (str(agent_key.id), "rotated"),
        (new["id"], "created"),
    ]
    assert {r.actor_key_id for r in rows[-2:]} == {user_key.id}
    assert {r.request_id for r in rows[-2:]} == {response.headers["x-request-id"]}
    logged = str([(r.before, r.after) for r in rows])
    assert new["raw_key"] not in logged
    assert agent_key.raw not in logged


async def test_a_rotated_agent_key_is_replaced_as_the_agents_one_key(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    new = data_of(await rotate(client, user_key, agent_key.id), 201)["new_key"]
    body = {"name": "third", "role": "agent", "agent_id": str(agent_key.agent_id)}
    response = await client.post(KEYS, json=body, headers=user_key.headers)
    assert error_of(response, 409, "agent_key_exists")["details"]["api_key_id"] == new["id"]


@pytest.mark.parametrize("first", ["rotate", "revoke"])
async def test_only_an_active_key_can_be_rotated(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key, first: str
) -> None:
    key = await make_key(runtime, tenant, "orchestrator")
    if first == "rotate":
        data_of(await rotate(client, user_key, key.id), 201)
    else:
        data_of(await client.delete(f"{KEYS}/{key.id}", headers=user_key.headers))
    response = await rotate(client, user_key, key.id)
    error = error_of(response, 409, "api_key_not_rotatable")
    assert error["details"] == {"status": "rotated" if first == "rotate" else "revoked"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grace_period_hours": 169}, "body.grace_period_hours"),
        ({"grace_period_hours": -1}, "body.grace_period_hours"),
        ({"grace_period_hours": "a day"}, "body.grace_period_hours"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "body.expires_at"),
        ({"expires_at": "2999-01-01T00:00:00"}, "body.expires_at"),
        ({"name": "renamed"}, "body.name"),
        ([], "body"),
    ],
)
async def test_rotate_rejects_a_bad_body_and_leaves_the_key_active(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key, body: Any, field: str
) -> None:
    invalid(await rotate(client, user_key, agent_key.id, body), field)
    shown = data_of(await client.get(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    assert (shown["status"], shown["expires_at"]) == ("active", None)


async def test_an_explicit_expiry_for_the_new_key(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    expiry = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    body = {"expires_at": expiry.isoformat(), "grace_period_hours": 168}
    rotated = data_of(await rotate(client, user_key, agent_key.id, body), 201)
    assert at(rotated["new_key"]["expires_at"]) == expiry
    assert about(rotated["old_key"]["expires_at"], timedelta(hours=168))


async def test_tenant_settings_give_the_default_grace_and_key_lifetime(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    settings = {"api_key_rotation_grace_hours": 5, "api_key_default_ttl_days": 7}
    data_of(await client.patch(ME, json={"settings": settings}, headers=user_key.headers))

    rotated = data_of(await rotate(client, user_key, agent_key.id), 201)
    assert about(rotated["old_key"]["expires_at"], timedelta(hours=5))
    assert about(rotated["new_key"]["expires_at"], timedelta(days=7))

    created = data_of(
        await client.post(KEYS, json={"name": "ttl", "role": "user"}, headers=user_key.headers), 201
    )
    assert about(created["expires_at"], timedelta(days=7))
    explicit = (datetime.now(UTC) + timedelta(days=400)).replace(microsecond=0)
    body = {"name": "long", "role": "user", "expires_at": explicit.isoformat()}
    longer = data_of(await client.post(KEYS, json=body, headers=user_key.headers), 201)
    assert at(longer["expires_at"]) == explicit


async def test_rotation_never_extends_an_earlier_expiry(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=30)
    key = await make_key(runtime, tenant, "agent", expires_at=soon)
    rotated = data_of(await rotate(client, user_key, key.id, {"grace_period_hours": 24}), 201)
    assert abs(at(rotated["old_key"]["expires_at"]) - soon) < timedelta(seconds=1)


async def test_a_user_key_replaced_by_rotation_does_not_count_as_a_spare(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    # The old key dies when its grace period ends, so revoking its replacement would leave
    # the tenant without any user key: the replacement is the last user key.
    new = data_of(await rotate(client, user_key, user_key.id), 201)["new_key"]
    response = await client.delete(f"{KEYS}/{new['id']}", headers=bearer(new["raw_key"]))
    error_of(response, 409, "last_user_key")
    revoked = data_of(await client.delete(f"{KEYS}/{user_key.id}", headers=bearer(new["raw_key"])))
    assert revoked["status"] == "revoked"
    data_of(await client.get(ME, headers=bearer(new["raw_key"])))


# --- with real time: each request its own transaction, so PostgreSQL's now() moves ----------


@pytest.mark.realdb
async def test_with_no_grace_the_old_key_stops_at_once(fresh_db: Urls, cluster: Cluster) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        agent = await make_key(runtime, tenant, "agent")
        async with client_for(runtime) as client:
            rotated = data_of(
                await rotate(client, tenant.user, agent.id, {"grace_period_hours": 0}), 201
            )
            error_of(await client.get(ME, headers=agent.headers), 401, "invalid_api_key")
            data_of(await client.get(ME, headers=bearer(rotated["new_key"]["raw_key"])))
            shown = data_of(await client.get(f"{KEYS}/{agent.id}", headers=tenant.user.headers))
            assert shown["status"] == "expired"
            live = data_of(await client.get(KEYS, headers=tenant.user.headers))
            assert str(agent.id) not in {k["id"] for k in live}


@pytest.mark.realdb
async def test_an_expired_key_stops_and_is_retired_when_its_agent_gets_a_new_one(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        headers = tenant.user.headers
        async with client_for(runtime) as client:
            expiry = datetime.now(UTC) + timedelta(seconds=1)
            body = {
                "name": "short",
                "role": "agent",
                "agent_name": "temp",
                "expires_at": expiry.isoformat(),
            }
            short = data_of(await client.post(KEYS, json=body, headers=headers), 201)
            data_of(await client.get(ME, headers=bearer(short["raw_key"])))
            await asyncio.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()) + 0.2)

            error_of(await client.get(ME, headers=bearer(short["raw_key"])), 401, "invalid_api_key")
            assert (
                data_of(await client.get(f"{KEYS}/{short['id']}", headers=headers))["status"]
                == "expired"
            )
            error_of(await rotate(client, tenant.user, short["id"]), 409, "api_key_not_rotatable")
            live = data_of(await client.get(KEYS, headers=headers))
            everything = data_of(
                await client.get(KEYS, params={"include_revoked": "true"}, headers=headers)
            )
            assert short["id"] not in {k["id"] for k in live}
            assert short["id"] in {k["id"] for k in everything}

            body = {"name": "fresh", "role": "agent", "agent_name": "temp"}
            fresh = data_of(await client.post(KEYS, json=body, headers=headers), 201)
            assert fresh["agent_id"] == short["agent_id"]
            retired = data_of(await client.get(f"{KEYS}/{short['id']}", headers=headers))
            assert retired["status"] == "revoked"
        async with runtime.connections.connection() as conn:
            rows = await audit_rows(conn, tenant.id, entity_type="api_key", entity_id=short["id"])
        assert [(r.action, r.actor_key_id) for r in rows] == [
            ("created", tenant.user.id),
            ("revoked", tenant.user.id),
        ]
