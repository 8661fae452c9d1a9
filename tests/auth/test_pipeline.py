"""The authentication pipeline over HTTP: bearer header → key → tenant status → role guard.

Each stage answers before the next one looks at the request, so a caller learns nothing
about a route's inputs or ids before it has shown a key good enough to use them.
"""

from typing import Any

import httpx
import psycopg
import pytest

from loopctl.admin.service import create_superadmin_key, set_tenant_status
from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    bearer,
    client_for,
    committed_runtime,
    data_of,
    error_of,
)

ME = f"{API}/tenants/me"
KEYS = f"{API}/api_keys"


def challenged(response: httpx.Response, code: str) -> dict[str, Any]:
    """A 401 with the bearer challenge RFC 9110 asks of every 401."""
    error = error_of(response, 401, code)
    assert response.headers["www-authenticate"] == 'Bearer realm="loopctl"'
    return error


# --- the Authorization header -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token lc_" + "A" * 43},
        {"Authorization": "lc_" + "A" * 43},
    ],
    ids=["none", "empty", "scheme-only", "blank-token", "basic", "token-scheme", "no-scheme"],
)
async def test_a_missing_or_non_bearer_header_is_unauthorized(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    challenged(await client.get(ME, headers=headers), "unauthorized")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "lc_short",
        "lc_" + "A" * 42,
        "lc_" + "A" * 129,
        "lc_" + "!" * 43,
        "sk_" + "A" * 43,
        UNKNOWN_KEY,
    ],
    ids=["garbage", "short", "one-short", "too-long", "bad-alphabet", "other-prefix", "unknown"],
)
async def test_a_malformed_or_unknown_key_is_invalid(client: httpx.AsyncClient, token: str) -> None:
    challenged(await client.get(ME, headers=bearer(token)), "invalid_api_key")


async def test_a_known_key_with_one_character_changed_is_invalid(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    last = user_key.raw[-1]
    altered = user_key.raw[:-1] + ("B" if last != "B" else "C")
    challenged(await client.get(ME, headers=bearer(altered)), "invalid_api_key")


async def test_the_scheme_is_case_insensitive_and_spaces_around_the_key_are_ignored(
    client: httpx.AsyncClient, tenant: Tenant, user_key: Key
) -> None:
    for header in (f"bearer {user_key.raw}", f"BEARER {user_key.raw}", f"Bearer  {user_key.raw} "):
        me = data_of(await client.get(ME, headers={"Authorization": header}))
        assert me["id"] == str(tenant.id)


# --- the key's state ----------------------------------------------------------------------


async def test_a_revoked_key_is_invalid_on_the_next_request(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key
) -> None:
    data_of(await client.get(ME, headers=agent_key.headers))
    data_of(await client.delete(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    challenged(await client.get(ME, headers=agent_key.headers), "invalid_api_key")


async def test_an_expired_key_is_invalid(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, agent_key: Key
) -> None:
    data_of(await client.get(ME, headers=agent_key.headers))
    # now() is frozen inside the test's transaction, so move the expiry rather than time.
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    await conn.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = %s",
        [agent_key.id],
    )
    challenged(await client.get(ME, headers=agent_key.headers), "invalid_api_key")


async def test_a_key_works_until_its_expiry(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, agent_key: Key
) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant.id)])
    await conn.execute(
        "UPDATE api_keys SET expires_at = now() + interval '1 second' WHERE id = %s",
        [agent_key.id],
    )
    data_of(await client.get(ME, headers=agent_key.headers))


# --- order: authentication, then the role, then the request's inputs and ids ----------------


ANY_ID = "0191d6a8-1c2b-7e3f-8a4b-5c6d7e8f9a0b"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("PATCH", ME, {"json": {"name": ""}}),
        ("PATCH", ME, {"json": {"unknown": 1}}),
        ("GET", ME, {"params": {"unknown": "1"}}),
        ("GET", f"{KEYS}/not-a-uuid", {}),
        ("GET", f"{KEYS}/{ANY_ID}", {}),
    ],
    ids=["bad-field", "unknown-field", "unknown-query", "malformed-id", "unknown-id"],
)
async def test_without_a_key_every_request_is_401_whatever_else_is_wrong(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    challenged(await client.request(method, path, **kwargs), "unauthorized")


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("PATCH", ME, {"json": {"name": ""}}),
        ("PATCH", ME, {"json": {"unknown": 1}}),
        ("GET", KEYS, {"params": {"unknown": "1"}}),
        ("GET", f"{KEYS}/not-a-uuid", {}),
        ("GET", f"{KEYS}/{ANY_ID}", {}),
    ],
    ids=["bad-field", "unknown-field", "unknown-query", "malformed-id", "unknown-id"],
)
async def test_a_too_low_role_is_403_whatever_else_is_wrong(
    client: httpx.AsyncClient, agent_key: Key, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    headers = {**kwargs.pop("headers", {}), **agent_key.headers}
    response = await client.request(method, path, headers=headers, **kwargs)
    error = error_of(response, 403, "insufficient_role")
    assert error["details"] == {"required_role": "user", "role": "agent"}


async def test_a_body_that_is_not_json_is_refused_before_the_key_is_looked_at(
    client: httpx.AsyncClient,
) -> None:
    # FastAPI decodes a JSON body before it resolves any dependency, the key included; the
    # answer is still the envelope, and it tells nothing the public OpenAPI does not.
    response = await client.patch(
        ME, content=b"{not json", headers={"content-type": "application/json"}
    )
    error_of(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("agent", False), ("orchestrator", False), ("user", True)],
)
async def test_the_role_guard_admits_the_minimum_role_and_above(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    role: str,
    allowed: bool,
) -> None:
    key = tenant.user if role == "user" else await make_key(runtime, tenant, role)
    response = await client.get(KEYS, headers=key.headers)
    if allowed:
        data_of(response)
    else:
        error_of(response, 403, "insufficient_role")


# --- tenant status and superadmin keys: these need an operator's committed change ----------


@pytest.mark.realdb
async def test_a_suspended_tenant_is_refused_before_the_role_and_the_inputs(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant = await make_tenant(runtime)
        agent = await make_key(runtime, tenant, "agent")
        async with await psycopg.AsyncConnection.connect(fresh_db.admin) as admin:
            await set_tenant_status(
                admin, runtime.settings, slug=tenant.slug, status="suspended", operator="tests"
            )
        async with client_for(runtime) as client:
            for key in (tenant.user, agent):
                for response in (
                    await client.get(ME, headers=key.headers),
                    await client.get(KEYS, headers=key.headers),
                    await client.patch(ME, json={"name": ""}, headers=key.headers),
                    await client.get(f"{KEYS}/not-a-uuid", headers=key.headers),
                ):
                    error_of(response, 403, "tenant_suspended")


async def _superadmin_key(urls: Urls, runtime: Runtime) -> str:
    async with await psycopg.AsyncConnection.connect(urls.admin) as admin:
        _, raw = await create_superadmin_key(
            admin, runtime.hasher, name="ops", expires_at=None, operator="tests"
        )
    return raw


@pytest.mark.realdb
async def test_a_superadmin_key_on_a_tenant_route_needs_a_tenant(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(fresh_db, cluster) as runtime:
        raw = await _superadmin_key(fresh_db, runtime)
        async with client_for(runtime) as client:
            for response in (
                await client.get(ME, headers=bearer(raw)),
                await client.get(KEYS, headers=bearer(raw)),
            ):
                error = error_of(response, 400, "tenant_context_required")
                assert "superadmin" in error["message"]
