"""/api/v1/tenants: registration, the tenant's own profile and settings, suspension."""

from typing import Any

import httpx
import psycopg
import pytest

from loopctl.admin.service import set_tenant_status
from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.access import Ids, Route, RouteAccess
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Key, Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    audit_rows,
    bearer,
    client_for,
    committed_runtime,
    data_of,
    error_of,
    invalid,
    rollback_runtime,
)

ME = f"{API}/tenants/me"
REGISTER = f"{API}/tenants/register"

# The story loop's settings (progress domain), at their defaults.
PROGRESS_DEFAULTS = {
    "lease_ttl_seconds": 1800,
    "auto_reset_on_rejection": True,
    "require_criteria_for_verify": False,
}


def signup(slug: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"Tenant {slug}", "slug": slug, **extra}


# --- registration -------------------------------------------------------------------------


async def test_register_returns_the_tenant_and_a_user_key_that_works_at_once(
    client: httpx.AsyncClient, conn: Connection
) -> None:
    response = await client.post(REGISTER, json=signup("acme-one", email="ops@acme.test"))
    body = data_of(response, 201)
    tenant, key = body["tenant"], body["api_key"]
    assert tenant["slug"] == "acme-one"
    assert tenant["name"] == "Tenant acme-one"
    assert tenant["email"] == "ops@acme.test"
    assert tenant["status"] == "active"
    assert tenant["settings"] == {
        "api_key_rotation_grace_hours": 24,
        "api_key_default_ttl_days": None,
        **PROGRESS_DEFAULTS,
    }
    assert set(tenant["limits"]) == {"rate_limit_per_minute", "max_api_keys"}
    raw = key["raw_key"]
    assert raw.startswith("lc_")
    assert key["key_prefix"] == raw[:11]
    assert (key["role"], key["status"], key["agent_id"]) == ("user", "active", None)
    assert key["created_by_key_id"] is None

    me = data_of(await client.get(ME, headers=bearer(raw)))
    assert me["id"] == tenant["id"]

    rows = await audit_rows(conn, tenant["id"])
    assert [(r.entity_type, r.action) for r in rows] == [
        ("tenant", "registered"),
        ("api_key", "created"),
    ]
    assert {(r.actor_role, r.actor_label) for r in rows} == {("system", "signup:127.0.0.1")}
    assert {r.request_id for r in rows} == {response.headers["x-request-id"]}
    assert raw not in str([(r.before, r.after) for r in rows])


async def test_register_with_a_taken_slug_is_a_conflict(client: httpx.AsyncClient) -> None:
    data_of(await client.post(REGISTER, json=signup("taken-slug")), 201)
    response = await client.post(REGISTER, json=signup("taken-slug"))
    error = error_of(response, 409, "slug_taken")
    assert error["details"] == {"slug": "taken-slug"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body.name", "body.slug"]),
        (signup("Upper-Case"), ["body.slug"]),
        (signup("a"), ["body.slug"]),
        (signup("-dash-first"), ["body.slug"]),
        (signup("x" * 64), ["body.slug"]),
        (signup("ok-slug", email="not-an-email"), ["body.email"]),
        ({"name": "  ", "slug": "ok-slug"}, ["body.name"]),
        ({"name": "nul\x00", "slug": "ok-slug"}, ["body.name"]),
        (signup("ok-slug", status="suspended"), ["body.status"]),
        (signup("ok-slug", settings={}), ["body.settings"]),
        ([], ["body"]),
    ],
)
async def test_register_rejects_a_bad_body(
    client: httpx.AsyncClient, body: Any, fields: list[str]
) -> None:
    invalid(await client.post(REGISTER, json=body), *fields)


async def test_register_rejects_unknown_query_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post(REGISTER, params={"plan": "pro"}, json=signup("query-slug"))
    invalid(response, "query.plan")


async def test_register_is_refused_when_signup_is_off(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, allow_signup=False)
    async with client_for(runtime) as client:
        response = await client.post(REGISTER, json=signup("no-signup"))
    error_of(response, 403, "signup_disabled")


async def test_register_is_rate_limited_per_client_address(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, signups_per_ip_per_hour=2)
    async with client_for(runtime, address="203.0.113.7") as client:
        for n in range(2):
            data_of(await client.post(REGISTER, json=signup(f"limited-{n}")), 201)
        response = await client.post(REGISTER, json=signup("limited-2"))
    error = error_of(response, 429, "rate_limited")
    retry_after = int(response.headers["retry-after"])
    # The sliding estimate still weighs the window that filled up, so the honest wait
    # can run past the end of the next window, but never past two windows.
    assert 0 < retry_after <= 2 * 3600
    assert error["details"]["retry_after_seconds"] == retry_after
    assert (error["details"]["limit"], error["details"]["per"]) == (2, "hour")
    async with client_for(runtime, address="203.0.113.8") as elsewhere:
        data_of(await elsewhere.post(REGISTER, json=signup("limited-2")), 201)


# --- the caller's tenant ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["user", "orchestrator", "agent"])
async def test_get_me_works_for_every_role_and_shows_only_the_callers_tenant(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    user_key: Key,
    orchestrator_key: Key,
    agent_key: Key,
    role: str,
) -> None:
    key = {"user": user_key, "orchestrator": orchestrator_key, "agent": agent_key}[role]
    me = data_of(await client.get(ME, headers=key.headers))
    assert (me["id"], me["slug"]) == (str(tenant.id), tenant.slug)
    assert me["limits"] == {"rate_limit_per_minute": 1_000_000, "max_api_keys": 100}
    theirs = data_of(await client.get(ME, headers=other_tenant.user.headers))
    assert theirs["id"] == str(other_tenant.id)


async def test_patch_me_changes_name_and_email_and_null_email_clears_it(
    client: httpx.AsyncClient, tenant: Tenant, user_key: Key
) -> None:
    body = {"name": "Renamed", "email": "lead@example.test"}
    updated = data_of(await client.patch(ME, json=body, headers=user_key.headers))
    assert (updated["name"], updated["email"]) == ("Renamed", "lead@example.test")
    assert updated["slug"] == tenant.slug
    kept = data_of(await client.patch(ME, json={"name": "Again"}, headers=user_key.headers))
    assert (kept["name"], kept["email"]) == ("Again", "lead@example.test")
    cleared = data_of(await client.patch(ME, json={"email": None}, headers=user_key.headers))
    assert (cleared["name"], cleared["email"]) == ("Again", None)
    assert data_of(await client.get(ME, headers=user_key.headers)) == cleared


async def test_patch_me_merges_settings(client: httpx.AsyncClient, user_key: Key) -> None:
    first = {"settings": {"api_key_default_ttl_days": 30}}
    data_of(await client.patch(ME, json=first, headers=user_key.headers))
    second = {"settings": {"api_key_rotation_grace_hours": 2}}
    merged = data_of(await client.patch(ME, json=second, headers=user_key.headers))
    assert merged["settings"] == {
        "api_key_rotation_grace_hours": 2,
        "api_key_default_ttl_days": 30,
        **PROGRESS_DEFAULTS,
    }
    clear = {"settings": {"api_key_default_ttl_days": None}}
    cleared = data_of(await client.patch(ME, json=clear, headers=user_key.headers))
    assert cleared["settings"] == {
        "api_key_rotation_grace_hours": 2,
        "api_key_default_ttl_days": None,
        **PROGRESS_DEFAULTS,
    }
    assert (
        data_of(await client.get(ME, headers=user_key.headers))["settings"] == cleared["settings"]
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 201}, "body.name"),
        ({"email": "nope"}, "body.email"),
        ({"settings": None}, "body.settings"),
        ({"settings": {"unknown_setting": 1}}, "body.settings.unknown_setting"),
        ({"settings": {"rate_limit_per_minute": 100_000}}, "body.settings.rate_limit_per_minute"),
        ({"settings": {"max_api_keys": 100_000}}, "body.settings.max_api_keys"),
        (
            {"settings": {"api_key_rotation_grace_hours": 169}},
            "body.settings.api_key_rotation_grace_hours",
        ),
        (
            {"settings": {"api_key_rotation_grace_hours": -1}},
            "body.settings.api_key_rotation_grace_hours",
        ),
        (
            {"settings": {"api_key_rotation_grace_hours": None}},
            "body.settings.api_key_rotation_grace_hours",
        ),
        ({"settings": {"api_key_default_ttl_days": 0}}, "body.settings.api_key_default_ttl_days"),
        ({"limits": {"max_api_keys": 100_000}}, "body.limits"),
        ({"status": "active"}, "body.status"),
        ({"slug": "new-slug"}, "body.slug"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "body.id"),
    ],
)
async def test_patch_me_rejects_bad_bodies_and_changes_nothing(
    client: httpx.AsyncClient,
    conn: Connection,
    tenant: Tenant,
    user_key: Key,
    body: dict[str, Any],
    field: str,
) -> None:
    before = data_of(await client.get(ME, headers=user_key.headers))
    audited = len(await audit_rows(conn, tenant.id))
    invalid(await client.patch(ME, json=body, headers=user_key.headers), field)
    assert data_of(await client.get(ME, headers=user_key.headers)) == before
    assert len(await audit_rows(conn, tenant.id)) == audited


async def test_patch_me_is_audited_with_before_and_after(
    client: httpx.AsyncClient, conn: Connection, tenant: Tenant, user_key: Key
) -> None:
    body = {"name": "Audited", "settings": {"api_key_rotation_grace_hours": 3}}
    response = await client.patch(ME, json=body, headers=user_key.headers)
    data_of(response)
    row = (await audit_rows(conn, tenant.id, entity_type="tenant", entity_id=tenant.id))[-1]
    assert (row.action, row.actor_role, row.actor_key_id) == ("updated", "user", user_key.id)
    assert row.request_id == response.headers["x-request-id"]
    assert row.before is not None
    assert row.after is not None
    assert (row.before["name"], row.after["name"]) == (f"Tenant {tenant.slug}", "Audited")
    assert row.after["settings"]["api_key_rotation_grace_hours"] == 3


# --- authentication and roles -------------------------------------------------------------


class TestAccess(RouteAccess):
    ROUTES = (
        Route("GET", "/tenants/me", "agent"),
        Route("PATCH", "/tenants/me", "user", {"name": "X"}),
    )

    async def world(self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> Ids:  # noqa: ARG002
        return {}

    async def after_forbidden(self, client: httpx.AsyncClient, ids: Ids, reader: Key) -> None:  # noqa: ARG002
        shown = data_of(await client.get(ME, headers=reader.headers))
        assert shown["name"].startswith("Tenant ")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        bearer("garbage"),
        bearer(UNKNOWN_KEY),
    ],
)
async def test_a_refused_key_is_told_how_to_authenticate(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- suspension ---------------------------------------------------------------------------


@pytest.mark.realdb
async def test_a_suspended_tenant_is_refused_on_every_route_until_reactivated(
    fresh_db: Urls, cluster: Cluster
) -> None:
    # Suspension is an operator action through the admin (BYPASSRLS) role on its own
    # connection, so the tenant must be committed where that connection can see it: this
    # test runs on its own database with a real pool instead of the rolled-back harness.
    async with committed_runtime(fresh_db, cluster) as runtime:
        tenant, bystander = await make_tenant(runtime), await make_tenant(runtime)
        agent = await make_key(runtime, tenant, "agent")
        orchestrator = await make_key(runtime, tenant, "orchestrator")
        routes = [
            ("GET", ME, None),
            ("PATCH", ME, {"name": "X"}),
            ("POST", f"{API}/agents/register", {"name": "a", "agent_type": "implementer"}),
            ("GET", f"{API}/agents", None),
            ("GET", f"{API}/agents/{agent.agent_id}", None),
            ("POST", f"{API}/api_keys", {"name": "k", "role": "user"}),
            ("GET", f"{API}/api_keys", None),
            ("GET", f"{API}/api_keys/{agent.id}", None),
            ("DELETE", f"{API}/api_keys/{agent.id}", None),
            ("POST", f"{API}/api_keys/{agent.id}/rotate", {}),
        ]

        async def set_status(status: str) -> None:
            async with await psycopg.AsyncConnection.connect(fresh_db.admin) as admin:
                await set_tenant_status(
                    admin, runtime.settings, slug=tenant.slug, status=status, operator="tests"
                )

        await set_status("suspended")
        async with client_for(runtime) as client:
            for method, path, body in routes:
                for key in (tenant.user, orchestrator, agent):
                    response = await client.request(method, path, json=body, headers=key.headers)
                    error_of(response, 403, "tenant_suspended")
            data_of(await client.get(ME, headers=bystander.user.headers))
            await set_status("active")
            me = data_of(await client.get(ME, headers=tenant.user.headers))
            assert me["status"] == "active"
            data_of(await client.get(f"{API}/api_keys/{agent.id}", headers=tenant.user.headers))
        async with runtime.connections.connection() as conn:
            rows = await audit_rows(conn, tenant.id, entity_type="tenant")
        assert [(r.action, r.actor_role, r.actor_label) for r in rows] == [
            ("registered", "system", "tests"),
            ("suspended", "operator", "tests"),
            ("activated", "operator", "tests"),
        ]
