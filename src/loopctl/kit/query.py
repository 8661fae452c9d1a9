"""Unknown query parameters are rejected, so a misspelt filter never silently matches all."""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from loopctl.platform.errors import UnprocessableEntity

_allowed_by_route: dict[int, frozenset[str]] = {}
_guarded_by_route: dict[int, bool] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def allowed_query_params(route: APIRoute) -> frozenset[str]:
    key = id(route)
    if key not in _allowed_by_route:
        _allowed_by_route[key] = frozenset(_query_names(route.dependant))
    return _allowed_by_route[key]


def _guarded(dependant: Dependant) -> bool:
    return any(
        getattr(sub.call, "checks_query_params", False) or _guarded(sub)
        for sub in dependant.dependencies
    )


def guarded(route: APIRoute) -> bool:
    """Whether a dependency of the route (the role guard) checks the query itself, after
    authentication: FastAPI runs route-level dependencies first, and a request without a
    valid key must be a 401 whatever else is wrong with it."""
    key = id(route)
    if key not in _guarded_by_route:
        _guarded_by_route[key] = _guarded(route.dependant)
    return _guarded_by_route[key]


async def reject_unknown_query_params(request: Request) -> None:
    """The check as a dependency, for the routes no role guard covers (the public ones):
    they declare it, and api.include_api refuses an API route that has neither."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        check_query_params(request, route)


def check_query_params(request: Request, route: APIRoute) -> None:
    # The raw query string first: most requests have none, and parsing one costs more.
    if not request.scope.get("query_string") or not request.query_params:
        return
    allowed = allowed_query_params(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
    if unknown:
        hint = ", ".join(sorted(allowed)) or "none"
        raise UnprocessableEntity(
            f"Unknown query parameter(s): {', '.join(unknown)}; this endpoint accepts: {hint}",
            details={
                "errors": [
                    {
                        "field": f"query.{name}",
                        "message": "unknown query parameter",
                        "type": "extra_forbidden",
                    }
                    for name in unknown
                ]
            },
        )
