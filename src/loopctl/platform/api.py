"""The /api/v1 routes: every domain router's routes, added to the app in matching order."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from loopctl.agents.endpoints import router as agents
from loopctl.api_keys.endpoints import router as api_keys
from loopctl.audit.endpoints import router as audit
from loopctl.changes.endpoints import router as changes
from loopctl.dependencies.endpoints import router as dependencies
from loopctl.discovery.endpoints import api_root
from loopctl.discovery.routes import router as route_list
from loopctl.epics.endpoints import router as epics
from loopctl.import_export.endpoints import router as import_export
from loopctl.kit.query import guarded, reject_unknown_query_params
from loopctl.kit.routers import API_PREFIX
from loopctl.lookup.endpoints import router as lookup
from loopctl.orchestrator.endpoints import router as orchestrator
from loopctl.progress.bulk_endpoints import router as progress_bulk
from loopctl.progress.endpoints import router as progress
from loopctl.progress.records_endpoints import router as progress_records
from loopctl.projects.endpoints import router as projects
from loopctl.stories.endpoints import router as stories
from loopctl.tenants.endpoints import router as tenants

# In matching order.
ROUTERS: list[APIRouter] = [
    api_root,
    route_list,
    tenants,
    agents,
    api_keys,
    projects,
    epics,
    # Before stories: /stories/ready and /stories/blocked must win over /stories/{story_id}.
    dependencies,
    # Before stories: /stories/bulk/... must win over /stories/{story_id}.
    progress_bulk,
    # Before stories: /stories/{story_id}/history is the audit domain's.
    audit,
    stories,
    progress,
    progress_records,
    import_export,
    orchestrator,
    changes,
    lookup,
]


def include_api(app: FastAPI) -> None:
    """Add every API route to the app's own router, as declared (kit/routers.py says why).

    Every route must reject unknown query parameters: guarded routes do it in their role
    guard, after authentication; public routes declare ``reject_unknown_query_params``.
    A route doing neither stops the app from being built.
    """
    # Ahead of FastAPI's own routes (the OpenAPI document, Swagger UI): API requests are
    # the many, and every route tried before the right one costs a match.
    app.router.routes[:0] = [route for router in ROUTERS for route in _checked(router)]


def add_routes(app: FastAPI, router: APIRouter) -> None:
    app.router.routes.extend(_checked(router))


def _checked(router: APIRouter) -> list[BaseRoute]:
    for route in router.routes:
        if _unchecked(route):
            raise RuntimeError(
                f"{getattr(route, 'path', route)}: neither a role guard nor "
                "reject_unknown_query_params checks its query parameters"
            )
    return list(router.routes)


def _unchecked(route: BaseRoute) -> bool:
    if not isinstance(route, APIRoute) or not route.path.startswith(API_PREFIX):
        return False
    checked = any(d.dependency is reject_unknown_query_params for d in route.dependencies)
    return not checked and not guarded(route)
