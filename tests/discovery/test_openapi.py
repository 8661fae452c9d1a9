"""The OpenAPI document: 3.1, every operation described with its role and its errors, and
what it says about roles is what the server does."""

import re
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from tests.fixtures.factories import Key
from tests.fixtures.http import API

ERROR_REF = "#/components/schemas/ErrorBody"
ROLES = ["agent", "orchestrator", "user", "superadmin"]
GUARD_CODES = {
    "401": {"unauthorized", "invalid_api_key"},
    "403": {"insufficient_role", "tenant_suspended"},
    "429": {"rate_limited"},
}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def codes_of(response: dict[str, Any]) -> set[str]:
    return set(re.findall(r"`([a-z_]+)`", response.get("description", "")))


async def test_the_document_is_openapi_3_1_with_the_bearer_scheme(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    assert spec["info"]["title"] == "loopctl"
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]


async def test_every_route_is_documented(app: FastAPI, spec: dict[str, Any]) -> None:
    documented = {(m, p) for m, p, _ in operations(spec)}
    served = {
        (method, route.path_format)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    assert served == documented
    assert len(documented) > 20


async def test_every_operation_has_a_summary_and_a_description_stating_the_role(
    spec: dict[str, Any],
) -> None:
    for method, path, op in operations(spec):
        where = f"{method} {path}"
        assert op.get("summary"), where
        description = op.get("description", "")
        role = op.get("x-required-role")
        if role is None:
            assert "no API key needed" in description, where
            assert "security" not in op, where
        else:
            assert role in ROLES, where
            assert f"role `{role}` or higher" in description, where
            assert op["security"] == [{"bearerAuth": []}], where


async def test_every_operation_documents_the_errors_it_can_return(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        where = f"{method} {path}"
        responses = op["responses"]
        if op.get("x-required-role"):
            for status, codes in GUARD_CODES.items():
                assert codes <= codes_of(responses[status]), (where, status)
        if "{" in path:
            assert "404" in responses, where
        if path.startswith(f"{API}/") or op.get("requestBody") or op.get("parameters"):
            # Every /api/v1 route rejects unknown query parameters.
            assert "validation_error" in codes_of(responses["422"]), where
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (where, status)
                assert codes_of(response), (where, status)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid4()), path)


async def test_every_guarded_operation_answers_401_without_a_key(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    guarded = [(m, p) for m, p, op in operations(spec) if op.get("x-required-role")]
    for method, path in guarded:
        response = await client.request(method, _concrete(path))
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


async def test_the_documented_role_is_the_role_the_server_requires(
    client: httpx.AsyncClient,
    spec: dict[str, Any],
    user_key: Key,
    orchestrator_key: Key,
    agent_key: Key,
) -> None:
    keys = {"agent": agent_key, "orchestrator": orchestrator_key, "user": user_key}
    checked = 0
    for method, path, op in operations(spec):
        role = op.get("x-required-role")
        if role is None or role == "agent":
            continue
        below = ROLES[ROLES.index(role) - 1]
        response = await client.request(
            method, _concrete(path), json={}, headers=keys[below].headers
        )
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        assert error["details"] == {"required_role": role, "role": below}, (method, path)
        checked += 1
    assert checked > 10
