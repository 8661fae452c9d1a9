"""GET /api/v1/routes: the app's own route table, with the roles its guards enforce."""

import re
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.discovery.test_openapi import operations
from tests.fixtures.http import API, UNKNOWN_KEY, bearer, data_of, invalid

ALL = {"limit": 500}


async def _all(client: httpx.AsyncClient, **params: Any) -> tuple[list[dict[str, Any]], Any]:
    response = await client.get(f"{API}/routes", params={**ALL, **params})
    body = response.json()
    assert response.status_code == 200, body
    return body["data"], body["meta"]


async def test_it_lists_every_documented_route_with_the_role_the_openapi_document_states(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes, meta = await _all(client)
    assert meta["total"] == len(routes)
    listed = {(r["method"], r["path"]): r for r in routes}
    assert len(listed) == len(routes), "no route twice"

    served = {
        (method, context.path_format or "")
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
        for method in context.methods or ()
    }
    assert set(listed) == served
    api_routes = {key for key in served if key[1].startswith(f"{API}/")}
    assert len(api_routes) > 30
    assert ("GET", f"{API}/routes") in listed

    spec = (await client.get(f"{API}/openapi.json")).json()
    for method, path, op in operations(spec):
        entry = listed[(method, path)]
        # test_openapi.py holds x-required-role to what the guards do (401 and 403 checks).
        assert entry["role"] == op.get("x-required-role"), (method, path)
        assert entry["summary"] == op["summary"], (method, path)
        assert entry["description"], (method, path)
        assert op["description"].startswith(entry["description"]), (method, path)
    assert len(listed) == len(operations(spec))


async def test_known_routes_carry_their_roles(client: httpx.AsyncClient) -> None:
    routes, _ = await _all(client)
    role = {(r["method"], r["path"]): r["role"] for r in routes}
    assert role[("GET", "/health")] is None
    assert role[("POST", f"{API}/tenants/register")] is None
    assert role[("GET", f"{API}/tenants/me")] == "agent"
    assert role[("POST", f"{API}/projects")] == "orchestrator"
    assert role[("DELETE", f"{API}/api_keys/{{api_key_id}}")] == "user"


async def test_filtered_by_role_it_lists_what_that_role_may_call(
    client: httpx.AsyncClient,
) -> None:
    everything, _ = await _all(client)
    agent, meta = await _all(client, role="agent")
    assert meta["total"] == len(agent)
    assert {r["role"] for r in agent} == {None, "agent"}
    orchestrator, _ = await _all(client, role="orchestrator")
    assert {r["role"] for r in orchestrator} == {None, "agent", "orchestrator"}
    assert len(agent) < len(orchestrator) < len(everything)
    assert [r for r in everything if r in orchestrator] == orchestrator  # same order


async def test_it_pages_in_the_list_envelope(client: httpx.AsyncClient) -> None:
    everything, _ = await _all(client)
    response = await client.get(f"{API}/routes", params={"limit": 5, "offset": 3})
    assert response.json()["meta"] == {
        "total": len(everything),
        "total_count": len(everything),
        "limit": 5,
        "offset": 3,
    }
    assert data_of(response) == everything[3:8]
    first = await client.get(f"{API}/routes")
    assert first.json()["meta"]["limit"] == 50


async def test_it_is_public_and_rejects_unknown_parameters(client: httpx.AsyncClient) -> None:
    data_of(await client.get(f"{API}/routes"))
    data_of(await client.get(f"{API}/routes", headers=bearer(UNKNOWN_KEY)))
    invalid(await client.get(f"{API}/routes", params={"method": "GET"}), "query.method")
    invalid(await client.get(f"{API}/routes", params={"role": "owner"}), "query.role")
    invalid(await client.get(f"{API}/routes", params={"limit": 0}), "query.limit")


async def test_what_it_lists_as_public_or_guarded_is_what_the_server_does(
    client: httpx.AsyncClient,
) -> None:
    routes, _ = await _all(client)
    for route in routes:
        path = re.sub(r"\{[^}]+\}", str(uuid4()), route["path"])
        response = await client.request(route["method"], path)
        where = f"{route['method']} {route['path']}"
        if route["role"] is None:
            assert response.status_code != 401, where
        else:
            assert response.status_code == 401, where
            assert response.json()["error"]["code"] == "unauthorized", where
