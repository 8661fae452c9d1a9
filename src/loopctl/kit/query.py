"""Unknown query parameters are rejected, so a misspelt filter never silently matches all."""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from loopctl.errors import UnprocessableEntity

_allowed_by_route: dict[int, frozenset[str]] = {}


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


async def reject_unknown_query_params(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
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
