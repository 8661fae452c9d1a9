"""GET /api/v1/api_keys/me: every role reads its own key, and nothing but its own.

No 403 (every role may), no 404 (no id) and no body: the access matrix has nothing more.
"""

import httpx

from tests.fixtures.factories import Key
from tests.fixtures.http import API, UNKNOWN_KEY, bearer, data_of, error_of

ME = f"{API}/api_keys/me"


async def test_each_role_reads_its_own_key_with_its_agent(
    client: httpx.AsyncClient, user_key: Key, orchestrator_key: Key, agent_key: Key
) -> None:
    for key in (user_key, orchestrator_key, agent_key):
        response = await client.get(ME, headers=key.headers)
        me = data_of(response)
        assert (me["id"], me["role"], me["status"]) == (str(key.id), key.role, "active")
        assert me["key_prefix"] == key.raw[:11]
        assert me["agent_id"] == (str(key.agent_id) if key.agent_id else None)
        assert key.raw not in response.text
    agent = data_of(await client.get(ME, headers=agent_key.headers))
    shown = await client.get(f"{API}/agents/{agent_key.agent_id}", headers=user_key.headers)
    assert agent["agent_name"] == data_of(shown)["name"]


async def test_a_rotated_key_in_its_grace_period_says_so(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    rotated = await client.post(
        f"{API}/api_keys/{agent_key.id}/rotate",
        json={"grace_period_hours": 1},
        headers=user_key.headers,
    )
    assert rotated.status_code == 201, rotated.text
    me = data_of(await client.get(ME, headers=agent_key.headers))
    assert (me["id"], me["status"]) == (str(agent_key.id), "rotated")


async def test_unknown_query_parameters_are_refused(
    client: httpx.AsyncClient, agent_key: Key
) -> None:
    error_of(await client.get(f"{ME}?id=x", headers=agent_key.headers), 422, "validation_error")


async def test_without_a_valid_key_it_is_401(client: httpx.AsyncClient) -> None:
    error_of(await client.get(ME), 401, "unauthorized")
    error_of(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 401, "invalid_api_key")


async def test_a_revoked_key_cannot_read_itself(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    revoked = await client.delete(f"{API}/api_keys/{agent_key.id}", headers=user_key.headers)
    assert revoked.status_code == 200, revoked.text
    error_of(await client.get(ME, headers=agent_key.headers), 401, "invalid_api_key")
