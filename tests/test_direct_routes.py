"""DirectRoute: which routes skip FastAPI's dependency solver, and that nothing else changes."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from psycopg.pq import TransactionStatus
from starlette.types import Message, Receive, Scope, Send

from loopctl.auth.dependencies import AgentPrincipal
from loopctl.database.connections import RequestConn, create_pool
from loopctl.kit.direct import DirectRoute, plan_for
from loopctl.kit.routers import api_router
from loopctl.platform.app import create_app
from loopctl.platform.errors import install_error_handlers
from loopctl.platform.runtime import Runtime
from tests.fixtures.app import SECRET, make_settings
from tests.fixtures.database import Cluster, Urls
from tests.fixtures.factories import Tenant, make_key, make_tenant
from tests.fixtures.http import (
    API,
    UNKNOWN_KEY,
    bearer,
    client_for,
    committed_runtime,
    error_of,
)


def _route(app: FastAPI, method: str, path: str) -> APIRoute:
    for route in app.routes:
        if (
            isinstance(route, APIRoute)
            and route.path == path
            and method in (route.methods or set())
        ):
            return route
    raise AssertionError(f"no route {method} {path}")


def _direct(app: FastAPI, method: str, path: str) -> bool:
    route = _route(app, method, path)
    return plan_for(route, route.dependant) is not None


def test_every_api_route_is_a_direct_route(app: FastAPI) -> None:
    api = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith(API)]
    assert len(api) > 40
    assert [r.path for r in api if not isinstance(r, DirectRoute)] == []


def test_only_routes_asking_for_nothing_but_guard_connection_and_path_are_served_directly(
    app: FastAPI,
) -> None:
    # Guard, connection, runtime and path parameters: served directly.
    assert _direct(app, "GET", f"{API}/tenants/me")
    assert _direct(app, "GET", f"{API}/agents/{{agent_id}}")
    assert _direct(app, "DELETE", f"{API}/api_keys/{{api_key_id}}")
    assert _direct(app, "GET", f"{API}/")  # the public root: Request, runtime, query check
    # One JSON body parameter besides those: served directly too.
    assert _direct(app, "PATCH", f"{API}/tenants/me")
    assert _direct(app, "POST", f"{API}/stories/{{story_id}}/verify")
    assert _direct(app, "POST", f"{API}/stories/{{story_id}}/start")  # an optional body
    # The endpoint's own query parameters too.
    assert _direct(app, "GET", f"{API}/changes")
    # A dependency with parameters of its own (pagination), or a synchronous one: FastAPI.
    assert not _direct(app, "GET", f"{API}/agents")
    assert not _direct(app, "POST", f"{API}/tenants/register")


JSON = {"content-type": "application/json"}


def _body_requests(tenant: Tenant) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """Bodies every way a client can send them, to a route with a required and one with an
    optional body: the direct path must read, parse and refuse them as FastAPI does."""
    user = tenant.user.headers
    me = f"{API}/tenants/me"
    start = f"{API}/stories/00000000-0000-4000-8000-000000000000/start"
    return [
        ("PATCH", me, {**user, **JSON}, b'{"name": "Renamed"}'),
        ("PATCH", me, {**user, "content-type": "application/merge-patch+json"}, b"{}"),
        ("PATCH", me, {**user, "content-type": "application/json; charset=utf-8"}, b"{}"),
        ("PATCH", me, user, b'{"name": "No content type"}'),
        ("PATCH", me, {**user, "content-type": "text/plain"}, b'{"name": "x"}'),
        ("PATCH", me, {**user, **JSON}, b'{"name": '),  # malformed JSON
        ("PATCH", me, JSON, b'{"name": '),  # malformed and no key: parsed first
        ("PATCH", me, {**user, **JSON}, b"\xff\xfe{}"),  # not UTF-8
        ("PATCH", me, {**user, **JSON}, b"[1, 2]"),
        ("PATCH", me, {**user, **JSON}, b'{"bogus": 1}'),
        ("PATCH", me, {**user, **JSON}, None),  # no body at all
        ("PATCH", me, JSON, b"{}"),
        ("POST", start, {**user, **JSON}, None),  # optional body: on to the story (404)
        ("POST", start, {**user, **JSON}, b'{"lease_token": "x"}'),
        ("POST", f"{API}/stories/not-a-uuid/start", {**user, **JSON}, b'{"lease_token": "x"}'),
    ]


def _query_requests(tenant: Tenant) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """Query parameters of an endpoint (no other dependency takes them): validated after
    authentication, their errors together, as FastAPI validates them."""
    user = tenant.user.headers
    return [
        ("GET", f"{API}/changes?limit=5", user, None),
        ("GET", f"{API}/changes?limit=0", user, None),
        ("GET", f"{API}/changes?limit=abc&cursor=" + "9" * 101, user, None),
        ("GET", f"{API}/changes?limit=0", {}, None),  # 401 before the 422
        ("GET", f"{API}/changes?since=yesterday", user, None),
        ("GET", f"{API}/lookup?project=no-such-project", user, None),
    ]


async def _answers(
    runtime: Runtime, tenant: Tenant, agent_id: str, *, direct: bool
) -> list[tuple[int, Any]]:
    requests: list[tuple[str, str, dict[str, str], bytes | None]] = [
        # First, so that both passes read the tenant under the same name.
        ("PATCH", f"{API}/tenants/me", {**tenant.user.headers, **JSON}, b'{"name": "Renamed"}'),
        ("GET", f"{API}/tenants/me", tenant.user.headers, None),
        ("GET", f"{API}/tenants/me", {}, None),
        ("GET", f"{API}/tenants/me", bearer(UNKNOWN_KEY), None),
        ("GET", f"{API}/tenants/me?bogus=1", tenant.user.headers, None),
        ("GET", f"{API}/agents/{agent_id}", tenant.user.headers, None),
        ("GET", f"{API}/agents/not-a-uuid", tenant.user.headers, None),
        ("GET", f"{API}/agents/{agent_id}?x=1", {}, None),
        ("DELETE", f"{API}/api_keys/{agent_id}", tenant.user.headers, None),
        ("PUT", f"{API}/tenants/me", tenant.user.headers, None),
        *_body_requests(tenant),
        *_query_requests(tenant),
    ]
    settings = runtime.settings.model_copy(update={"direct_routes": direct})
    served_by: list[bool] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        # Only FastAPI's own handler needs the exit stack DirectRoute opens for it.
        served_by.append("fastapi_middleware_astack" in scope)

    app = create_app(settings, runtime=runtime)
    transport = httpx.ASGITransport(app=recording)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, url, headers, content in requests:
            response = await client.request(method, url, headers=headers, content=content)
            body = response.json()
            if isinstance(body.get("data"), dict):
                body["data"].pop("updated_at", None)  # each pass renames the tenant once
            answers.append((response.status_code, body))
    # The switch decides who serves: with it off, FastAPI serves every request.
    assert not direct or not all(served_by)
    assert direct or all(served_by)
    return answers


async def test_served_directly_or_by_fastapi_the_answers_are_the_same(runtime: Runtime) -> None:
    tenant = await make_tenant(runtime)
    agent = await make_key(runtime, tenant, "agent")
    direct_answers = await _answers(runtime, tenant, str(agent.agent_id), direct=True)
    # LOOPCTL_DIRECT_ROUTES=false: each request goes to APIRoute.handle, FastAPI's solver.
    fastapi_answers = await _answers(runtime, tenant, str(agent.agent_id), direct=False)
    assert direct_answers == fastapi_answers
    statuses = [status for status, _ in direct_answers]
    assert statuses[:10] == [200, 200, 401, 401, 422, 200, 404, 401, 404, 405]
    # The bodies: read, parsed and refused in FastAPI's order (see _body_requests).
    assert statuses[10:25] == [200, 200, 200, *[422] * 8, 401, 404, 422, 404]
    # The query parameters (see _query_requests).
    assert statuses[25:] == [200, 422, 422, 401, 422, 404]
    both = direct_answers[27][1]["error"]["details"]["errors"]
    assert {e["field"] for e in both} == {"query.limit", "query.cursor"}


# --- the transaction ends before the response starts ---------------------------------------

probe_router = api_router("/probe", tag="probe")
seen: dict[str, Any] = {}


@probe_router.get("")
async def probe(conn: RequestConn, principal: AgentPrincipal) -> dict[str, str]:
    seen["conn"] = conn
    if seen.get("kill"):
        # Another session ends this one's backend: the endpoint returns normally and the
        # COMMIT is what fails.
        with psycopg.connect(seen["kill"], autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        await asyncio.sleep(0.05)
    return {"tenant": str(principal.tenant_id)}


def _probe_app(runtime: Runtime) -> FastAPI:
    app = FastAPI()
    app.state.runtime = runtime
    install_error_handlers(app)
    app.router.routes.extend(probe_router.routes)
    return app


def _recording(app: FastAPI, statuses: list[TransactionStatus]) -> Any:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and "conn" in seen:
                statuses.append(seen["conn"].info.transaction_status)
            await send(message)

        await app(scope, receive, watched)

    return asgi


@pytest.fixture
async def committed(fresh_db: Urls, cluster: Cluster) -> AsyncIterator[Runtime]:
    seen.clear()
    async with committed_runtime(fresh_db, cluster) as runtime:
        yield runtime
    seen.clear()


@pytest.mark.realdb
async def test_the_direct_path_commits_before_the_response_starts(committed: Runtime) -> None:
    tenant = await make_tenant(committed)
    route = probe_router.routes[0]
    assert isinstance(route, APIRoute)
    assert plan_for(route, route.dependant) is not None
    statuses: list[TransactionStatus] = []
    transport = httpx.ASGITransport(app=_recording(_probe_app(committed), statuses))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(f"{API}/probe", headers=tenant.user.headers)
    assert response.status_code == 200
    assert response.json() == {"tenant": str(tenant.id)}
    # Committed (and the connection back in the pool) before the first byte went out.
    assert statuses == [TransactionStatus.IDLE]


@pytest.mark.realdb
async def test_a_commit_that_fails_is_an_error_not_a_success(
    committed: Runtime, fresh_db: Urls
) -> None:
    tenant = await make_tenant(committed)
    seen["kill"] = fresh_db.superuser
    transport = httpx.ASGITransport(app=_probe_app(committed), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(f"{API}/probe", headers=tenant.user.headers)
    error_of(response, 500, "internal_error")


@pytest.mark.realdb
async def test_a_slow_upload_holds_no_connection(fresh_db: Urls, cluster: Cluster) -> None:
    # One connection in the pool: while a client trickles its body, another request must
    # still be served (the body is read before the transaction, as FastAPI reads it
    # before its connection dependency).
    pool = create_pool(fresh_db.app, name="slow-upload", min_size=1, max_size=1)
    await pool.open()
    try:
        runtime = Runtime.build(make_settings(fresh_db, cluster), pool, SECRET.encode())
        tenant = await make_tenant(runtime)
        release = asyncio.Event()

        async def trickle() -> AsyncIterator[bytes]:
            yield b'{"name": '
            await release.wait()
            yield b'"Renamed"}'

        headers = {**tenant.user.headers, "content-type": "application/json"}
        async with client_for(runtime) as client:
            upload = asyncio.create_task(
                client.patch(f"{API}/tenants/me", content=trickle(), headers=headers)
            )
            await asyncio.sleep(0.2)  # the upload has begun and stalls mid-body
            assert not upload.done()
            other = await asyncio.wait_for(
                client.get(f"{API}/tenants/me", headers=tenant.user.headers), timeout=5
            )
            assert other.status_code == 200
            release.set()
            renamed = await upload
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["data"]["name"] == "Renamed"
    finally:
        await pool.close()
