"""OpenAPI completion: the roles and generic errors of every route.

After generation, each guarded route gets what it shares with the others (401, 403, 429,
and 404/422 where it has path ids or inputs) and its minimum role, read from its
``RoleGuard``. Here rather than in ``kit`` because it knows the auth domain's guard.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from loopctl.auth.dependencies import RoleGuard
from loopctl.auth.errors import TenantSuspended
from loopctl.auth.principal import TenantRequired
from loopctl.kit.openapi import PUBLIC_NOTE, ErrorBody, describe
from loopctl.kit.query import reject_unknown_query_params
from loopctl.platform.errors import (
    AppError,
    InsufficientRole,
    InvalidApiKey,
    NotFound,
    RateLimited,
    Unauthenticated,
    UnprocessableEntity,
)


def _guard(dependant: Dependant) -> RoleGuard | None:
    if isinstance(dependant.call, RoleGuard):
        return dependant.call
    for sub in dependant.dependencies:
        found = _guard(sub)
        if found is not None:
            return found
    return None


def required_role(dependant: Dependant) -> str | None:
    """The minimum role a route's guard admits; None for a public route."""
    guard = _guard(dependant)
    return None if guard is None else guard.minimum.value


def _has_inputs(dependant: Dependant) -> bool:
    if dependant.body_params or dependant.query_params:
        return True
    return any(_has_inputs(sub) for sub in dependant.dependencies)


def _checks_query(dependant: Dependant) -> bool:
    """Whether unknown query parameters are rejected (every /api/v1 route): a 422 even
    for a route that takes no input of its own."""
    if dependant.call is reject_unknown_query_params or getattr(
        dependant.call, "checks_query_params", False
    ):
        return True
    return any(_checks_query(sub) for sub in dependant.dependencies)


def _add(responses: dict[str, Any], cls: type[AppError], ref: dict[str, Any]) -> None:
    entry = responses.setdefault(
        str(cls.status),
        {"description": "", "content": {"application/json": {"schema": ref}}},
    )
    existing = entry.get("description", "").removeprefix("Error codes: ")
    codes = [c.strip(" `") for c in existing.split(",") if c.strip(" `")]
    entry["description"] = describe([*codes, cls.code])


def complete_schema(app: FastAPI, *, title: str, version: str, description: str) -> dict[str, Any]:
    schema = get_openapi(title=title, version=version, description=description, routes=app.routes)
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = (
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    schema["components"]["schemas"].update(
        ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {})
    )
    schema["components"]["schemas"]["ErrorBody"].pop("$defs", None)
    schema["components"]["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer lc_…`",
        }
    }
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        guard = _guard(route.dependant)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]  # FastAPI's own shape; ours is the error envelope
            if route.dependant.path_params:
                _add(responses, NotFound, ref)
            if _has_inputs(route.dependant) or _checks_query(route.dependant):
                _add(responses, UnprocessableEntity, ref)
            if guard is None:
                operation["description"] = (
                    operation.get("description", "") + "\n\n" + PUBLIC_NOTE
                ).strip()
                continue
            operation["security"] = [{"bearerAuth": []}]
            operation["x-required-role"] = guard.minimum.value
            role_note = f"**Requires** an API key with role `{guard.minimum.value}` or higher."
            operation["description"] = (
                operation.get("description", "") + "\n\n" + role_note
            ).strip()
            for cls in (
                Unauthenticated,
                InvalidApiKey,
                InsufficientRole,
                TenantSuspended,
                RateLimited,
                TenantRequired,
            ):
                _add(responses, cls, ref)
    return schema
