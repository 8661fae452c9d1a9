"""A key in its rotation grace period authenticates ordinary calls but cannot manage keys.

Otherwise the replaced key, perhaps the leaked one that prompted the rotation, could revoke
its own successor or mint fresh keys that outlive the grace period.
"""

import httpx

from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Key, Tenant, make_key
from tests.fixtures.http import API, audit_rows, bearer, data_of, error_of

KEYS = f"{API}/api_keys"
ME = f"{API}/tenants/me"


async def rotated_user_key(client: httpx.AsyncClient, user_key: Key) -> Key:
    """Rotate ``user_key`` with a day's grace; returns its replacement."""
    response = await client.post(
        f"{KEYS}/{user_key.id}/rotate", json={"grace_period_hours": 24}, headers=user_key.headers
    )
    new = data_of(response, 201)["new_key"]
    return Key(new["raw_key"], new["id"], "user", None)


def in_grace(response: httpx.Response, key: Key) -> None:
    error = error_of(response, 403, "key_in_grace_period")
    assert error["details"] == {"api_key_id": str(key.id)}


async def test_a_key_in_its_grace_period_still_authenticates_ordinary_calls(
    client: httpx.AsyncClient, tenant: Tenant, user_key: Key
) -> None:
    await rotated_user_key(client, user_key)
    assert data_of(await client.get(ME, headers=user_key.headers))["id"] == str(tenant.id)
    listed = data_of(await client.get(KEYS, headers=user_key.headers))
    assert str(user_key.id) in {k["id"] for k in listed}
    patched = await client.patch(ME, json={"name": "Renamed"}, headers=user_key.headers)
    assert data_of(patched)["name"] == "Renamed"


async def test_a_key_in_its_grace_period_cannot_create_rotate_or_revoke_keys(
    client: httpx.AsyncClient, runtime: Runtime, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    agent = await make_key(runtime, tenant, "agent")
    successor = await rotated_user_key(client, user_key)
    before = len(await audit_rows(conn, tenant.id, entity_type="api_key"))
    old = user_key.headers

    body = {"name": "minted", "role": "user"}
    in_grace(await client.post(KEYS, json=body, headers=old), user_key)
    body = {"name": "minted", "role": "agent", "agent_name": "new-agent"}
    in_grace(await client.post(KEYS, json=body, headers=old), user_key)
    in_grace(await client.delete(f"{KEYS}/{successor.id}", headers=old), user_key)
    in_grace(await client.delete(f"{KEYS}/{agent.id}", headers=old), user_key)
    in_grace(await client.delete(f"{KEYS}/{user_key.id}", headers=old), user_key)
    in_grace(await client.post(f"{KEYS}/{successor.id}/rotate", headers=old), user_key)
    in_grace(await client.post(f"{KEYS}/{agent.id}/rotate", headers=old), user_key)

    # Nothing changed: the successor and the agent key work, no key was made or revoked.
    assert len(await audit_rows(conn, tenant.id, entity_type="api_key")) == before
    data_of(await client.get(ME, headers=successor.headers))
    data_of(await client.get(ME, headers=agent.headers))
    live = data_of(await client.get(KEYS, headers=successor.headers))
    assert {k["id"] for k in live} == {str(user_key.id), str(successor.id), str(agent.id)}


async def test_the_successor_manages_keys_including_the_old_one(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    agent = await make_key(runtime, tenant, "agent")
    successor = await rotated_user_key(client, user_key)
    new = successor.headers
    data_of(await client.post(KEYS, json={"name": "spare", "role": "user"}, headers=new), 201)
    data_of(await client.post(f"{KEYS}/{agent.id}/rotate", headers=new), 201)
    revoked = data_of(await client.delete(f"{KEYS}/{user_key.id}", headers=new))
    assert revoked["status"] == "revoked"
    error_of(await client.get(ME, headers=user_key.headers), 401, "invalid_api_key")


async def test_a_rotated_orchestrator_key_keeps_its_role_for_ordinary_calls(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, user_key: Key
) -> None:
    orchestrator = await make_key(runtime, tenant, "orchestrator")
    data_of(await client.post(f"{KEYS}/{orchestrator.id}/rotate", headers=user_key.headers), 201)
    body = {"name": "graced", "slug": "graced-project"}
    created = await client.post(f"{API}/projects", json=body, headers=bearer(orchestrator.raw))
    data_of(created, 201)
