"""/api/v1/projects/{project_id}/import and /export"""

from typing import Annotated
from uuid import UUID

from fastapi import Query
from starlette.responses import Response

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal
from loopctl.database.connections import RequestConn
from loopctl.import_export import service
from loopctl.import_export.errors import ImportConflict, ProjectNotEmpty, StatusImportNeedsUser
from loopctl.import_export.schemas import ImportReport, ProjectDocument
from loopctl.kit.openapi import errors
from loopctl.kit.responses import JSONResponse
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item
from loopctl.platform.errors import PayloadTooLarge
from loopctl.platform.heavy import TooManyHeavyRequests
from loopctl.platform.runtime import RuntimeDep
from loopctl.projects.errors import ProjectArchived, ProjectNotFound

router = api_router(tag="import/export")


@router.post(
    "/projects/{project_id}/import",
    responses=errors(
        ProjectNotFound,
        ProjectArchived,
        ProjectNotEmpty,
        ImportConflict,
        StatusImportNeedsUser,
        PayloadTooLarge,
        TooManyHeavyRequests,
    ),
)
async def import_project(
    project_id: UUID,
    body: ProjectDocument,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    runtime: RuntimeDep,
    merge: Annotated[
        bool,
        Query(
            description="Update a project that has epics: match epics and stories by number, "
            "add what is new, keep progress, report what the document lacks as orphaned"
        ),
    ] = False,
    dry_run: Annotated[
        bool, Query(description="Validate and report what would change; write nothing")
    ] = False,
) -> Item[ImportReport]:
    """Import a loopctl.project.v1 document or the reference's, all or nothing (docs/import-export.md)."""
    async with runtime.heavy.slot(principal):
        report = await service.import_document(
            conn, principal, project_id, body, merge=merge, dry_run=dry_run
        )
    return Item(data=report)


@router.get(
    "/projects/{project_id}/export",
    response_model=None,
    responses={
        200: {
            "model": Item[ProjectDocument],
            "description": "The document in the usual envelope: post `data` back to import",
        },
        **errors(ProjectNotFound, TooManyHeavyRequests),
    },
)
async def export_project(
    project_id: UUID, conn: RequestConn, principal: AgentPrincipal, runtime: RuntimeDep
) -> Response:
    """Export the project as a loopctl.project.v1 document, in a deterministic order."""
    async with runtime.heavy.slot(principal):
        document = await service.export_document(conn, principal, project_id)
        return JSONResponse({"data": document})  # serializing is part of the cost
