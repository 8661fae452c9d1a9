import httpx

from tests.fixtures.factories import Key, Tenant


async def test_get_me_returns_the_callers_tenant(
    client: httpx.AsyncClient, tenant: Tenant, agent_key: Key
) -> None:
    response = await client.get("/api/v1/tenants/me", headers=agent_key.headers)
    assert response.status_code == 200
    body = response.json()["data"]
    assert body["id"] == str(tenant.id)
    assert body["slug"] == tenant.slug
    assert body["settings"]["api_key_rotation_grace_hours"] == 24
