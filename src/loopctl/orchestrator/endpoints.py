"""/api/v1/orchestrator/state/{project_id}: checkpoints, their versions and history."""

import re
from typing import Annotated
from uuid import UUID

from fastapi import Header, Query, Response

from loopctl.auth.dependencies import OrchestratorPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.pagination import PageParams, page_of
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page
from loopctl.orchestrator import service
from loopctl.orchestrator.errors import StateNotFound, StateTooLarge, VersionConflict
from loopctl.orchestrator.schemas import (
    DEFAULT_KEY,
    OrchestratorState,
    StateKey,
    StateSave,
    StateVersion,
)
from loopctl.platform.errors import UnprocessableEntity
from loopctl.platform.runtime import RuntimeDep
from loopctl.projects.errors import ProjectArchived, ProjectNotFound

router = api_router("/orchestrator/state", tag="orchestrator")

# A version as an entity tag: 3, "3" or W/"3" (the version is the whole tag).
_TAG = re.compile(r'^(?:W/)?"?([0-9]{1,10})"?$')
KeyQuery = Annotated[StateKey, Query(description="Which checkpoint (default main)")]


def _if_match(value: str | None, body_version: int | None) -> int | None:
    """The version the writer read: the If-Match header's, or the body's; both must agree."""
    if value is None:
        return body_version
    match = _TAG.match(value.strip())
    if match is None or int(match.group(1)) > 2_147_483_647:
        raise UnprocessableEntity.for_field(
            "header.if-match", 'must be the version you read, e.g. 3 or "3"'
        )
    version = int(match.group(1))
    if body_version is not None and body_version != version:
        raise UnprocessableEntity.for_field(
            "header.if-match", f"says version {version} but the body says {body_version}"
        )
    return version


@router.put(
    "/{project_id}",
    responses=errors(ProjectNotFound, ProjectArchived, VersionConflict, StateTooLarge),
)
async def save_state(
    project_id: UUID,
    body: StateSave,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    runtime: RuntimeDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(description="The version you read, instead of body.version")
    ] = None,
) -> Item[OrchestratorState]:
    """Save the next version of a checkpoint; 409 version_conflict unless you read the latest."""
    row = await service.save(
        conn,
        principal,
        project_id,
        body,
        expected=_if_match(if_match, body.version),
        max_bytes=runtime.settings.max_state_bytes,
    )
    response.headers["ETag"] = f'"{row.version}"'
    return Item(data=service.view(row))


@router.get(
    "/{project_id}",
    responses=errors(ProjectNotFound, StateNotFound),
)
async def get_state(
    project_id: UUID,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    response: Response,
    state_key: KeyQuery = DEFAULT_KEY,
) -> Item[OrchestratorState]:
    """The latest version of a checkpoint, with its version as the ETag."""
    row = await service.get(conn, principal, project_id, state_key)
    response.headers["ETag"] = f'"{row.version}"'
    return Item(data=service.view(row))


@router.get(
    "/{project_id}/history",
    responses=errors(ProjectNotFound),
)
async def state_history(
    project_id: UUID,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    page: PageParams,
    state_key: KeyQuery = DEFAULT_KEY,
) -> Page[StateVersion]:
    """Every saved version of a checkpoint, newest first."""
    rows, total = await service.history(conn, principal, project_id, state_key, page)
    return page_of([service.version_view(r) for r in rows], total, page)
