"""/api/v1/lookup"""

from typing import Annotated

from fastapi import Query

from loopctl.auth.dependencies import AgentPrincipal
from loopctl.database.connections import RequestConn
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.fields import INT32_MAX
from loopctl.kit.openapi import errors
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item
from loopctl.lookup import service
from loopctl.lookup.schemas import Lookup
from loopctl.projects.errors import ProjectNotFound
from loopctl.stories.errors import StoryNotFound
from loopctl.stories.schemas import NUMBER_PATTERN

router = api_router("/lookup", tag="lookup")

# A slug (kit/schemas.py) or an id, in either case: a wrong case is simply not found.
HANDLE_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"


@router.get(
    "",
    response_model=Item[Lookup],
    responses=errors(ProjectNotFound, EpicNotFound, StoryNotFound),
)
async def lookup(
    conn: RequestConn,
    principal: AgentPrincipal,
    project: Annotated[
        str,
        Query(max_length=63, pattern=HANDLE_PATTERN, description="The project's slug or id"),
    ],
    epic: Annotated[
        int | None, Query(gt=0, le=INT32_MAX, description="An epic's number in the project")
    ] = None,
    story: Annotated[
        str | None,
        Query(max_length=30, pattern=NUMBER_PATTERN, description="A story's number (1.2)"),
    ] = None,
) -> Item[Lookup]:
    """Resolve a project slug, an epic number and a story number to ids (any role)."""
    return Item(data=await service.resolve(conn, principal, project, epic=epic, story=story))
