"""Rate limits over HTTP: per key, per client address, and failed authentications per address."""

import httpx
import psycopg
import pytest

from loopctl.admin.service import create_superadmin_key
from loopctl.auth.rate_limit import RateLimiter
from loopctl.auth.service import Authenticator
from loopctl.database.connections import Connection
from loopctl.platform.runtime import Runtime
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import make_key, make_tenant
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    bearer,
    client_for,
    committed_runtime,
    data_of,
    error_of,
    rollback_runtime,
)

ME = f"{API}/tenants/me"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def with_clock(runtime: Runtime, clock: FakeClock) -> Runtime:
    """The same runtime, its limiter reading ``clock`` instead of the wall clock."""
    runtime.limiter = RateLimiter(runtime.hasher, clock=clock)
    runtime.authenticator = Authenticator(
        runtime.settings, runtime.hasher, runtime.limiter, runtime.usage
    )
    return runtime


def limited(response: httpx.Response, limit: int, scope: str) -> int:
    """Assert a 429 whose Retry-After header and details agree; returns the wait."""
    error = error_of(response, 429, "rate_limited")
    retry_after = int(response.headers["retry-after"])
    assert error["details"] == {
        "retry_after_seconds": retry_after,
        "limit": limit,
        "per": "minute",
        "scope": scope,
    }
    assert 1 <= retry_after <= 120
    return retry_after


async def test_a_key_over_its_limit_gets_429_and_other_keys_do_not(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, rate_limit_per_minute=3)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent")
    async with client_for(runtime) as client:
        for _ in range(3):
            data_of(await client.get(ME, headers=agent.headers))
        limited(await client.get(ME, headers=agent.headers), 3, "API key")
        # The limit is the key's, not the tenant's or the address's.
        data_of(await client.get(ME, headers=tenant.user.headers))
        # Refusals are not counted: the key is still refused, not refused for longer.
        limited(await client.get(ME, headers=agent.headers), 3, "API key")


async def test_retry_after_is_exact_over_http(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    clock = FakeClock(60 * 28_333_334 + 20.0)
    runtime = with_clock(
        rollback_runtime(session_db, cluster, conn, rate_limit_per_minute=4), clock
    )
    tenant = await make_tenant(runtime)
    async with client_for(runtime) as client:
        for _ in range(4):
            data_of(await client.get(ME, headers=tenant.user.headers))
        refused_at = clock.now
        wait = limited(await client.get(ME, headers=tenant.user.headers), 4, "API key")
        clock.now = refused_at + wait - 1
        limited(await client.get(ME, headers=tenant.user.headers), 4, "API key")
        clock.now = refused_at + wait
        data_of(await client.get(ME, headers=tenant.user.headers))


async def test_a_client_address_over_its_limit_gets_429_whatever_the_key(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, rate_limit_ip_per_minute=3)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent")
    async with client_for(runtime, address="198.51.100.1") as client:
        for key in (tenant.user, agent, tenant.user):
            data_of(await client.get(ME, headers=key.headers))
        limited(await client.get(ME, headers=agent.headers), 3, "client address")
    async with client_for(runtime, address="198.51.100.2") as elsewhere:
        data_of(await elsewhere.get(ME, headers=agent.headers))


async def test_failed_authentications_throttle_the_failures_but_not_valid_keys(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, auth_failures_per_ip_per_minute=20)
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent")
    scope = "client address's failed authentications"
    async with client_for(runtime, address="192.0.2.66") as nat:
        # One misconfigured agent behind the address floods it with bad tokens...
        for i in range(20):
            token = ("garbage", UNKNOWN_KEY, "lc_" + "B" * 43)[i % 3]
            error_of(await nat.get(ME, headers=bearer(token)), 401, "invalid_api_key")
        # ...and is throttled, whether its tokens are malformed or merely unknown,
        for token in ("garbage", UNKNOWN_KEY, "lc_" + "C" * 43):
            limited(await nat.get(ME, headers=bearer(token)), 20, scope)
        # while the other agents behind the same address carry on.
        for key in (tenant.user, agent, tenant.user):
            assert data_of(await nat.get(ME, headers=key.headers))["id"] == str(tenant.id)
        limited(await nat.get(ME, headers=bearer(UNKNOWN_KEY)), 20, scope)
    async with client_for(runtime, address="192.0.2.67") as elsewhere:
        error_of(await elsewhere.get(ME, headers=bearer(UNKNOWN_KEY)), 401, "invalid_api_key")


async def test_throttled_failures_are_not_counted_and_the_wait_ends(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    clock = FakeClock(60 * 28_333_334 + 5.0)
    runtime = with_clock(
        rollback_runtime(session_db, cluster, conn, auth_failures_per_ip_per_minute=3), clock
    )
    tenant = await make_tenant(runtime)
    scope = "client address's failed authentications"
    async with client_for(runtime) as client:
        for _ in range(3):
            error_of(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 401, "invalid_api_key")
        refused_at = clock.now
        wait = limited(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 3, scope)
        data_of(await client.get(ME, headers=tenant.user.headers))
        clock.now = refused_at + wait - 1
        limited(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 3, scope)
        clock.now = refused_at + wait
        error_of(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 401, "invalid_api_key")


async def test_successful_requests_do_not_count_as_failures(
    session_db: Urls, cluster: Cluster, conn: Connection
) -> None:
    runtime = rollback_runtime(session_db, cluster, conn, auth_failures_per_ip_per_minute=2)
    tenant = await make_tenant(runtime)
    async with client_for(runtime) as client:
        for _ in range(5):
            data_of(await client.get(ME, headers=tenant.user.headers))
        error_of(await client.get(ME, headers=bearer(UNKNOWN_KEY)), 401, "invalid_api_key")
        data_of(await client.get(ME, headers=tenant.user.headers))


@pytest.mark.realdb
async def test_superadmin_keys_have_no_per_key_limit_but_the_address_limit_holds(
    fresh_db: Urls, cluster: Cluster
) -> None:
    async with committed_runtime(
        fresh_db, cluster, rate_limit_per_minute=1, rate_limit_ip_per_minute=5
    ) as runtime:
        async with await psycopg.AsyncConnection.connect(fresh_db.admin) as admin:
            _, raw = await create_superadmin_key(
                admin, runtime.hasher, name="ops", expires_at=None, operator="tests"
            )
        async with client_for(runtime) as client:
            for _ in range(5):
                response = await client.get(ME, headers=bearer(raw))
                error_of(response, 400, "tenant_context_required")
            limited(await client.get(ME, headers=bearer(raw)), 5, "client address")
