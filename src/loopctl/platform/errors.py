"""One error envelope for every failure: ``{"error": {"status", "code", "message", "details"?}}``.

Services raise ``AppError`` subclasses; the handlers installed by ``install_error_handlers``
render them, FastAPI's validation errors, Starlette's HTTP errors and unexpected exceptions
in the same shape.
"""

import functools
import logging
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self, cast

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from psycopg.errors import DeadlockDetected, QueryCanceled, SerializationFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from loopctl.kit.responses import JSONResponse

logger = logging.getLogger("loopctl.platform.errors")


class AppError(Exception):
    status: int = 500
    code: str = "internal_error"
    default_message: ClassVar[str] = "Internal server error"
    # True for an error whose request's writes must still commit (the audit entry of a
    # blocked self-action); database.connections.request_transaction reads it.
    keeps_changes: ClassVar[bool] = False

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        """A subclass states in its header what it changes: its HTTP status, its stable code,
        its default message (``class NotFound(AppError, status=404, code="not_found",
        message="Not found")``)."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
        if message is not None:
            cls.default_message = message

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = dict(details) if details else None
        self.headers = dict(headers) if headers else None
        super().__init__(self.message)

    @classmethod
    def variant(
        cls, code: str, message: str | None = None, *, keeps_changes: bool = False
    ) -> type[Self]:
        """A subclass for one refusal of a domain: its stable code and default message.

        Named after its code (``agent_not_found`` is ``AgentNotFound``) in the module that
        declares it, as a class statement would be, so a domain lists its refusals one
        line each.
        """
        name = "".join(word.capitalize() for word in code.split("_"))
        # As namedtuple and the Enum functional API do: the caller's module owns the class.
        module = sys._getframe(1).f_globals.get("__name__", cls.__module__)
        namespace: dict[str, Any] = {"code": code, "__module__": module}
        if message is not None:
            namespace["default_message"] = message
        if keeps_changes:
            namespace["keeps_changes"] = True
        return cast(type[Self], type(name, (cls,), namespace))

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}

    def located(self, locate: Callable[[str], str]) -> "AppError":
        """This error with each field it names placed where the edge received it.

        Services name fields as the domain does (``epic_number``,
        ``acceptance_criteria[0].id``); each edge knows where that field came from (REST:
        ``body.epic_number``). Fields already placed (``query.sort``) stay as they are.
        """
        details = dict(self.details or {})
        message = self.message
        errors = details.get("errors")
        if isinstance(errors, list):
            placed_errors = []
            for error in errors:
                field = error.get("field") if isinstance(error, dict) else None
                if isinstance(field, str) and not is_placed(field):
                    placed = locate(field)
                    if message.startswith(f"{field}: "):
                        message = placed + message[len(field) :]
                    error = {**error, "field": placed}
                placed_errors.append(error)
            details["errors"] = placed_errors
        field = details.get("field")
        if isinstance(field, str) and not is_placed(field):
            details["field"] = locate(field)
        if details != (self.details or {}) or message != self.message:
            # In place: an error is raised once and rendered once.
            self.details, self.message = details, message
        return self


# Where an edge can have received a field; a field named without one is a domain name.
PLACES = ("body", "query", "path", "header")


def is_placed(field: str) -> bool:
    return re.split(r"[.\[]", field, maxsplit=1)[0] in PLACES


class BadRequest(AppError, status=400, code="bad_request", message="Bad request"):
    """A request this server cannot act on as sent."""


class Unauthenticated(
    AppError,
    status=401,
    code="unauthorized",
    message="Missing or malformed Authorization header; send 'Authorization: Bearer <key>'",
):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="loopctl"'})


class InvalidApiKey(
    Unauthenticated, code="invalid_api_key", message="Invalid API key: unknown, revoked or expired"
):
    """A bearer key that no live key matches."""


class Forbidden(AppError, status=403, code="forbidden", message="Forbidden"):
    """A caller known to the server, refused this action."""


class InsufficientRole(Forbidden, code="insufficient_role"):
    def __init__(self, required: str, actual: str) -> None:
        super().__init__(
            f"This endpoint requires the {required} role or higher; this key has the {actual} role",
            details={"required_role": required, "role": actual},
        )


class NotFound(AppError, status=404, code="not_found", message="Not found"):
    """Absent, or another tenant's (row-level security hides it)."""


class MethodNotAllowed(
    AppError, status=405, code="method_not_allowed", message="Method not allowed"
):
    """A known path without this method."""


class Conflict(AppError, status=409, code="conflict", message="Conflict"):
    """Refused because of the current state of what the request changes."""


class PayloadTooLarge(
    AppError, status=413, code="payload_too_large", message="Request body too large"
):
    """A body over the server's limit."""


class UnprocessableEntity(
    AppError, status=422, code="validation_error", message="Validation failed"
):
    @classmethod
    def for_field(
        cls, field: str, message: str, *, type_: str = "invalid"
    ) -> "UnprocessableEntity":
        return cls(
            f"{field}: {message}",
            details={"errors": [{"field": field, "message": message, "type": type_}]},
        )


class RateLimited(AppError, status=429, code="rate_limited", message="Rate limit exceeded"):
    def __init__(self, retry_after: int, limit: int, scope: str, per: str = "minute") -> None:
        super().__init__(
            f"Rate limit exceeded: {limit} per {per} for this {scope}; retry after {retry_after} s",
            details={
                "retry_after_seconds": retry_after,
                "limit": limit,
                "per": per,
                "scope": scope,
            },
            headers={"Retry-After": str(retry_after)},
        )


class ServiceUnavailable(
    AppError, status=503, code="service_unavailable", message="Service unavailable"
):
    """The server cannot serve the request now; a retry may succeed."""


class QueryTimeout(
    ServiceUnavailable,
    code="query_timeout",
    message="The request's database work ran longer than this server allows "
    "(its statement timeout) and was cancelled; nothing was changed",
):
    """A statement cancelled by the statement timeout."""


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"
    default_message = (
        "A concurrent request locked the same rows in the opposite order and PostgreSQL "
        "aborted this one; nothing was changed: send it again"
    )


def _field_path(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = list(err.get("loc", ()))
        out.append(
            {
                "field": _field_path(loc),
                "message": str(err.get("msg", "invalid")),
                "type": str(err.get("type", "invalid")),
            }
        )
    return out


def _render(error: AppError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _render(exc.located(functools.partial(_rest_place, request)))


def _rest_place(request: Request, field: str) -> str:
    """REST's place for a domain field: a query parameter of the route, else the body."""
    route = request.scope.get("route")
    names = _query_names(route.dependant) if isinstance(route, APIRoute) else frozenset()
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    return f"query.{field}" if root in names else f"body.{field}"


def _query_names(dependant: Dependant) -> frozenset[str]:
    # Only on an error path, so not cached.
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _json_invalid(err: Mapping[str, Any]) -> UnprocessableEntity:
    # FastAPI reports the character offset as the second part of loc (("body", 8)), which
    # our field naming would render as the list index "body[8]": it goes in the message.
    loc = list(err.get("loc", ()))
    reason = str((err.get("ctx") or {}).get("error") or err.get("msg") or "JSON decode error")
    where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
    message = f"{reason}{where}"
    return UnprocessableEntity(
        f"Request body is not valid JSON: {message}",
        details={"errors": [{"field": "body", "message": message, "type": "json_invalid"}]},
    )


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # A malformed id in the path names a resource that cannot exist: 404, not 422.
    if any(err.get("loc", ("",))[0] == "path" for err in errors):
        return _render(NotFound())
    decode = next((err for err in errors if err.get("type") == "json_invalid"), None)
    if decode is not None:
        return _render(_json_invalid(decode))
    details = validation_details(errors)
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return _render(UnprocessableEntity(f"Validation failed: {fields}", details={"errors": details}))


@functools.cache
def _path_pattern(path_format: str) -> re.Pattern[str]:
    return compile_path(path_format)[0]


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at this path (RFC 9110 wants them all in Allow).

    Starlette's own Allow names only the first route whose path matched, and GET and PATCH
    of one path are separate routes here.
    """
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.path_format and _path_pattern(route.path_format).match(path):
            methods |= set(route.methods)
    return methods


def _unreadable_body(exc: StarletteHTTPException) -> UnprocessableEntity | None:
    """FastAPI turns a body it cannot decode at all (not UTF-8, nested past the parser's
    recursion limit) into a bare 400; report it like any other invalid JSON instead."""
    cause = exc.__cause__
    if exc.status_code != 400 or not isinstance(cause, UnicodeDecodeError | RecursionError):
        return None
    reason = "not UTF-8" if isinstance(cause, UnicodeDecodeError) else "nested too deeply"
    return _json_invalid({"msg": reason, "loc": ("body",)})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _render(NotFound())
    if exc.status_code == 405:
        allow = ", ".join(sorted(_allowed_methods(request)))
        return _render(MethodNotAllowed(headers={**(exc.headers or {}), "Allow": allow}))
    if exc.status_code == 413:
        limit = getattr(exc, "limit_bytes", None)  # platform.middleware's body limit
        if isinstance(limit, int):
            message = f"Request body exceeds {limit} bytes"
            return _render(PayloadTooLarge(message, details={"limit_bytes": limit}))
        return _render(PayloadTooLarge())
    unreadable = _unreadable_body(exc)
    if unreadable is not None:
        return _render(unreadable)
    error = AppError(str(exc.detail), headers=exc.headers)
    error.status, error.code = exc.status_code, "http_error"
    return _render(error)


async def _query_canceled(request: Request, _exc: Exception) -> Response:
    # PostgreSQL cancelled a statement: the statement timeout (LOOPCTL_STATEMENT_TIMEOUT_MS)
    # or an operator's pg_cancel_backend. The transaction has been rolled back.
    request_id = getattr(request.state, "request_id", None)
    logger.warning("statement cancelled", extra={"request_id": request_id})
    return _render(QueryTimeout())


async def _lock_conflict(request: Request, _exc: Exception) -> Response:
    # A deadlock (two bulk requests locking overlapping stories in different orders) or a
    # serialization failure: PostgreSQL rolled the transaction back, so a retry is safe.
    request_id = getattr(request.state, "request_id", None)
    logger.warning("transaction aborted by a lock conflict", extra={"request_id": request_id})
    return _render(ConcurrentUpdate())


async def _unexpected(request: Request, _exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", None)
    logger.exception("unhandled error", extra={"request_id": request_id})
    # RequestMiddleware adds the x-request-id header, to this response as to any other
    # (kit/stack.py puts the error handling inside it).
    return _render(
        AppError(
            "Internal server error; quote the request id when reporting it",
            details={"request_id": request_id},
        )
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(QueryCanceled, _query_canceled)
    app.add_exception_handler(DeadlockDetected, _lock_conflict)
    app.add_exception_handler(SerializationFailure, _lock_conflict)
    app.add_exception_handler(Exception, _unexpected)
