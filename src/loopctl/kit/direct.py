"""``DirectRoute``: serves the simplest routes without FastAPI's per-request dependency solver.

Why: an authenticated read spent about a third of its CPU in FastAPI's machinery (solving
the same three dependencies afresh on every request, two exit stacks, the exception
wrapper), more than its three SQL statements cost (docs/benchmarks.md). The plan below is
worked out once per route instead.

A route is served directly when everything its endpoint asks for is one of:

- a path, query, header or cookie parameter, validated by FastAPI's own
  ``request_params_to_args`` (same errors, in FastAPI's order; a malformed id is still
  the 404 of ``errors.py``);
- the ``Request``;
- the request connection (``database.connections.request_connection``): opened by the
  ``request_transaction`` that dependency uses too, begun before the first dependency
  and committed **before** the response is sent, as ``Depends(…, scope="function")``
  does, so a failed commit is an error response and never a false success;
- an ``async def`` dependency (not a generator) whose own parameters are only the
  ``Request`` and the request connection: the role guards and the runtime;
- one body parameter (not a form or file, not embedded; in practice a model): read and
  parsed first, before the transaction begins, as FastAPI does (so malformed JSON is
  refused before authentication, the same ``json_invalid`` error, and a missing or
  non-JSON content type leaves the body unparsed), then validated by FastAPI's own
  ``request_body_to_args``.

and the endpoint is ``async def`` with the default response class. Dependencies run in
declaration order, the parameters and the body are validated after them (401 and 403
before 404 and 422) and their errors reported together, the response model validates and
serializes the result exactly as FastAPI does (``serialize_response``), and errors
propagate to the app's exception handlers.

Everything else (a form, several body parameters, a dependency taking parameters of its
own, any other kind of dependency) runs through
FastAPI as usual, and so does every request while FastAPI's OpenTelemetry instrumentation
is recording (``LOOPCTL_OPENTELEMETRY``), whose spans come from FastAPI's own solver. The
route stays an ``APIRoute``, so OpenAPI, matching, 405 handling and ``url_path_for`` are
FastAPI's own. ``app.dependency_overrides`` apply to neither path: API routes are added to
the app as declared (``kit/routers.py``), with no overrides provider, and tests use the
real dependencies.
"""

import email.message
import inspect
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic_core import PydanticUndefined as Undefined
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from loopctl.database.connections import Connection, request_connection, request_transaction

# Where FastAPI 0.165 keeps the inclusion context of the matched route (fastapi.routing's
# _FASTAPI_SCOPE_KEY / _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY); constraints.txt pins it.
_SCOPE_KEY = "fastapi"
_CONTEXT_KEY = "effective_route_context"


@dataclass(frozen=True, slots=True)
class _Step:
    """One dependency to await; its result goes to the endpoint under ``name``."""

    call: Callable[..., Awaitable[Any]]
    name: str | None  # None: a route-level dependency, run for its checks only
    request_arg: str | None
    conn_arg: str | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to serve one route directly, worked out from its (effective) route state."""

    endpoint: Callable[..., Awaitable[Any]]
    steps: tuple[_Step, ...]
    request_arg: str | None
    conn_arg: str | None
    uses_connection: bool
    body: Any  # FastAPI's ModelField of the one JSON body parameter, or None
    strict_content_type: bool  # FastAPI's: a body without a content type is not JSON
    dependant: Dependant
    route: Any  # the APIRoute or its inclusion context: response model and status code


def is_async_function(call: Any) -> bool:
    """An ``async def`` function or an instance whose ``__call__`` is one (not a generator)."""
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call)
    if inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004


def _asks_for_more_than_request(dependant: Dependant, *, endpoint: bool = False) -> bool:
    """Whether it asks for what a plan cannot give: the endpoint itself may also take
    query, header and cookie parameters and a body; a dependency only the request."""
    return bool(
        (
            not endpoint
            and (
                dependant.query_params
                or dependant.header_params
                or dependant.cookie_params
                or dependant.body_params
            )
        )
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
    )


def _is_connection(dependant: Dependant) -> bool:
    return dependant.call is request_connection and dependant.name is not None


def _step(sub: Dependant) -> _Step | None:
    if not is_async_function(sub.call) or sub.path_params or _asks_for_more_than_request(sub):
        return None
    conn_arg = None
    for inner in sub.dependencies:
        if not _is_connection(inner) or conn_arg is not None:
            return None
        conn_arg = inner.name
    assert sub.call is not None
    return _Step(
        call=sub.call, name=sub.name, request_arg=sub.request_param_name, conn_arg=conn_arg
    )


def _json_body(dependant: Dependant) -> tuple[bool, Any]:
    """Whether the body (if any) can be served directly, and its one field."""
    if not dependant.body_params:
        return True, None
    if len(dependant.body_params) != 1:
        return False, None
    field = dependant.body_params[0]
    info = field.field_info
    # Forms and files (File is a Form) and embedded bodies: FastAPI's reader.
    if isinstance(info, params.Form) or getattr(info, "embed", False):
        return False, None
    return True, field


def _strict(route: Any) -> bool:
    value = getattr(route, "strict_content_type", True)
    return bool(value.value if isinstance(value, DefaultPlaceholder) else value)


def plan_for(route: Any, dependant: Dependant) -> _Plan | None:
    """How to serve a route directly, or None when FastAPI must serve it."""
    if not is_async_function(dependant.call) or _asks_for_more_than_request(
        dependant, endpoint=True
    ):
        return None
    if not isinstance(route.response_class, DefaultPlaceholder):
        return None
    servable, body = _json_body(dependant)
    if not servable:
        return None
    steps: list[_Step] = []
    conn_arg = None
    for sub in dependant.dependencies:
        if _is_connection(sub) and conn_arg is None:
            conn_arg = sub.name
            continue
        step = _step(sub)
        if step is None:
            return None
        steps.append(step)
    assert dependant.call is not None
    return _Plan(
        endpoint=dependant.call,
        steps=tuple(steps),
        request_arg=dependant.request_param_name,
        conn_arg=conn_arg,
        uses_connection=conn_arg is not None or any(s.conn_arg for s in steps),
        body=body,
        strict_content_type=_strict(route),
        dependant=dependant,
        route=route,
    )


class DirectRoute(APIRoute):
    """An ``APIRoute`` that serves itself directly when its plan allows (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(route or inclusion context) -> its plan, or None where FastAPI must serve.
        self._direct_plans: dict[int, _Plan | None] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self._plan(scope)
        if (
            plan is None
            or scope["method"] not in (self.methods or ())
            # FastAPI's OpenTelemetry spans (LOOPCTL_OPENTELEMETRY) come from its own
            # solver; its native telemetry keeps the request's record under this key.
            or scope.get("fastapi.telemetry") is not None
            # The switch that makes FastAPI serve everything (LOOPCTL_DIRECT_ROUTES=false):
            # the test suite runs once each way to hold both paths to the same answers.
            or not getattr(scope.get("app"), "serve_directly", True)
        ):
            # The exit stack FastAPI's request handler closes uploads with; the app's
            # middleware stack leaves it to the routes that need it (kit/stack.py).
            async with AsyncExitStack() as stack:
                scope["fastapi_middleware_astack"] = stack
                await super().handle(scope, receive, send)
            return
        request = Request(scope, receive, send)
        # FastAPI reads and parses the body before any dependency runs; so does this, and
        # before taking a connection, so a slow upload never holds one of the pool's.
        body = await _read_body(request, plan.strict_content_type) if plan.body else Undefined
        if plan.uses_connection:
            async with request_transaction(request) as conn:
                # Built inside the transaction: a response that fails validation rolls back.
                response = await _run(plan, request, conn, body)
        else:
            response = await _run(plan, request, None, body)
        await response(scope, receive, send)

    def _plan(self, scope: Scope) -> _Plan | None:
        # A route included through include_router is served through its inclusion context,
        # which has its own dependant (router-level dependencies added): plan per context.
        fastapi_scope = scope.get(_SCOPE_KEY)
        context = fastapi_scope.get(_CONTEXT_KEY) if fastapi_scope is not None else None
        source: Any = self if context is None or context.original_route is not self else context
        key = id(source)
        try:
            return self._direct_plans[key]
        except KeyError:
            plan = self._direct_plans[key] = plan_for(source, source.dependant)
            return plan


async def _run(plan: _Plan, request: Request, conn: Connection | None, body: Any) -> Response:
    values: dict[str, Any] = {}
    for step in plan.steps:
        arguments: dict[str, Any] = {}
        if step.request_arg:
            arguments[step.request_arg] = request
        if step.conn_arg:
            arguments[step.conn_arg] = conn
        result = await step.call(**arguments)
        if step.name is not None:
            values[step.name] = result
    if plan.request_arg:
        values[plan.request_arg] = request
    if plan.conn_arg:
        values[plan.conn_arg] = conn
    # After the dependencies, as FastAPI does (401 and 403 come before a malformed id), in
    # its order: path, query, header and cookie parameters, then the body, errors together.
    errors: list[Any] = []
    dependant = plan.dependant
    for fields, received in (
        (dependant.path_params, request.path_params),
        (dependant.query_params, request.query_params),
        (dependant.header_params, request.headers),
        (dependant.cookie_params, request.cookies),
    ):
        if fields:
            found, wrong = request_params_to_args(fields, received)
            values.update(found)
            errors.extend(wrong)
    if plan.body is not None:
        body_values, body_errors = await request_body_to_args(
            body_fields=[plan.body], received_body=body, embed_body_fields=False
        )
        values.update(body_values)
        errors.extend(body_errors)
    if errors:
        raise RequestValidationError(errors, body=None if body is Undefined else body)
    raw = await plan.endpoint(**values)
    if isinstance(raw, Response):
        return raw
    return await _response(plan.route, raw)


async def _read_body(request: Request, strict_content_type: bool) -> Any:
    """The body as FastAPI's request handler reads it: parsed JSON, raw bytes or Undefined."""
    try:
        raw = await request.body()
        if not raw:
            return Undefined
        if not _is_json(request.headers.get("content-type"), strict_content_type):
            return raw
        return json.loads(raw)
    except json.JSONDecodeError as error:
        invalid = {
            "type": "json_invalid",
            "loc": ("body", error.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": error.msg},
        }
        raise RequestValidationError([invalid], body=error.doc) from error
    except HTTPException:
        raise  # the middleware's 413 for a body over the limit
    except Exception as error:  # undecodable bytes, a client gone: FastAPI's 400
        raise HTTPException(
            status_code=400, detail="There was an error parsing the body"
        ) from error


def _is_json(content_type: str | None, strict_content_type: bool) -> bool:
    if not content_type:
        return not strict_content_type
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


async def _response(route: Any, raw: Any) -> Response:
    status: int = route.status_code or 200
    if route.response_field is None:
        response: Response = JSONResponse(
            await serialize_response(response_content=raw), status_code=status
        )
        if not is_body_allowed_for_status_code(status):
            response.body = b""  # as FastAPI: a 204's null is no body at all
        return response
    body = await serialize_response(
        field=route.response_field,
        response_content=raw,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        dump_json=True,
    )
    response = Response(content=body, media_type="application/json", status_code=status)
    if not is_body_allowed_for_status_code(status):
        response.body = b""
    return response
