"""GET /api/v1/routes: every documented operation, read from the app's own route table."""

from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.query import reject_unknown_query_params
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Page
from loopctl.platform.openapi import required_role

router = api_router(tag="discovery")

RoleName = Literal["agent", "orchestrator", "user", "superadmin"]
# Lowest first: a key may call what its own role and every lower role may.
ROLES_LOW_TO_HIGH: list[str] = ["agent", "orchestrator", "user", "superadmin"]
METHOD_ORDER = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class RouteInfo(BaseModel):
    method: str = Field(description="HTTP method")
    path: str = Field(description="Path template, e.g. /api/v1/stories/{story_id}")
    role: RoleName | None = Field(description="Minimum role; null: public, no key needed")
    summary: str = Field(description="Short name of the operation (the OpenAPI summary)")
    description: str = Field(description="What it does (the first line of its description)")
    tags: list[str]


def _summary(route: APIRoute) -> str:
    # What FastAPI's OpenAPI generator uses when a route has no summary of its own.
    return route.summary or route.name.replace("_", " ").title()


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Built once per app: the route table does not change after start-up."""
    cached: list[RouteInfo] | None = getattr(app.state, "route_table", None)
    if cached is not None:
        return cached
    table = [
        RouteInfo.model_validate(
            {
                "method": method,
                "path": context.path_format,
                "role": required_role(context.dependant),
                "summary": _summary(context.original_route),
                "description": _first_line(context.original_route.description),
                "tags": [str(tag) for tag in context.original_route.tags],
            }
        )
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
        for method in context.methods or ()
    ]
    table.sort(key=lambda r: (r.path, METHOD_ORDER.index(r.method)))
    app.state.route_table = table
    return table


@router.get(
    "/routes",
    dependencies=[Depends(reject_unknown_query_params)],
)
async def list_routes(
    request: Request,
    page: PageParams,
    role: Annotated[
        RoleName | None,
        Query(description="Only the operations a key of this role may call (public ones too)"),
    ] = None,
) -> Page[RouteInfo]:
    """List every API operation: method, path, minimum role and summary (no API key needed)."""
    rows = route_table(request.app)
    if role is not None:
        allowed = ROLES_LOW_TO_HIGH[: ROLES_LOW_TO_HIGH.index(role) + 1]
        rows = [r for r in rows if r.role is None or r.role in allowed]
    return page_of(rows[page.offset : page.offset + page.limit], len(rows), page)
