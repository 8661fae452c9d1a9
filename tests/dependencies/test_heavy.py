"""The per-tenant cap on heavy requests, route by route (test_heavy_server.py shows it
with real concurrent requests, and the statement timeout, on a real server)."""

from contextlib import AsyncExitStack
from uuid import UUID

import httpx
import pytest

from loopctl.platform.runtime import Runtime
from tests.fixtures.factories import Tenant
from tests.fixtures.http import API, data_of, error_of
from tests.fixtures.work import make_project
from tests.import_export.documents import plan

HEAVY = [
    ("GET", "/projects/{p}/dependency_graph"),
    ("GET", "/projects/{p}/critical_path"),
    ("GET", "/projects/{p}/export"),
    ("POST", "/projects/{p}/import"),
]


async def call(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, project: UUID
) -> httpx.Response:
    body = plan() if method == "POST" else None
    url = API + path.format(p=project)
    return await client.request(method, url, json=body, headers=tenant.user.headers)


@pytest.mark.parametrize(("method", "path"), HEAVY)
async def test_a_tenant_over_its_heavy_cap_gets_429_and_others_do_not(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    other_tenant: Tenant,
    method: str,
    path: str,
) -> None:
    cap = runtime.settings.heavy_requests_per_tenant
    assert cap >= 1
    mine, theirs = await make_project(runtime, tenant), await make_project(runtime, other_tenant)
    async with AsyncExitStack() as held:  # the tenant's slots, taken as running requests would
        for _ in range(cap):
            await held.enter_async_context(runtime.heavy.slot(tenant.principal()))
        refused = await call(client, tenant, method, path, mine.id)
        error = error_of(refused, 429, "too_many_heavy_requests")
        assert refused.headers["retry-after"] == "1"
        assert error["details"] == {"limit": cap, "retry_after_seconds": 1}
        assert runtime.heavy.running(tenant.id) == cap  # a refusal holds no slot
        data_of(await call(client, other_tenant, method, path, theirs.id))
        assert runtime.heavy.running(other_tenant.id) == 0
    data_of(await call(client, tenant, method, path, mine.id))
    assert runtime.heavy.running(tenant.id) == 0


async def test_a_failed_heavy_request_gives_its_slot_back(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await make_project(runtime, other_tenant)
    for _ in range(runtime.settings.heavy_requests_per_tenant + 1):
        missing = await call(client, tenant, "GET", "/projects/{p}/critical_path", theirs.id)
        error_of(missing, 404, "project_not_found")
    assert runtime.heavy.running(tenant.id) == 0
