"""/api/v1/stories/bulk/* and /api/v1/epics/{id}/verify-all."""

from uuid import UUID

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.openapi import errors
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item
from loopctl.progress import bulk
from loopctl.progress.schemas import (
    BackfillIn,
    BulkBackfillIn,
    BulkClaimIn,
    BulkRejectIn,
    BulkResults,
    BulkVerifyIn,
    RejectIn,
    VerifyAllIn,
    VerifyAllResult,
    VerifyIn,
)

router = api_router(tag="progress")


@router.post("/stories/bulk/claim", response_model=BulkResults)
async def bulk_claim(
    body: BulkClaimIn, conn: RequestConn, principal: AgentPrincipal
) -> BulkResults:
    """Claim up to 50 contracted stories (agent keys); one result per story, in id order."""
    return await bulk.claim(conn, principal, body.story_ids)


@router.post("/stories/bulk/verify", response_model=BulkResults)
async def bulk_verify(
    body: BulkVerifyIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> BulkResults:
    """Verify up to 50 stories (orchestrator keys), each with all of verify's checks."""
    ids = [i.story_id for i in body.stories]
    items = [VerifyIn(**i.model_dump(exclude={"story_id"})) for i in body.stories]
    return await bulk.verify(conn, principal, items, ids)


@router.post("/stories/bulk/reject", response_model=BulkResults)
async def bulk_reject(
    body: BulkRejectIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> BulkResults:
    """Reject up to 50 stories (orchestrator keys), each with all of reject's checks."""
    ids = [i.story_id for i in body.stories]
    items = [RejectIn(**i.model_dump(exclude={"story_id"})) for i in body.stories]
    return await bulk.reject(conn, principal, items, ids)


@router.post("/stories/bulk/mark-complete", response_model=BulkResults)
async def bulk_mark_complete(
    body: BulkBackfillIn, conn: RequestConn, principal: UserPrincipal
) -> BulkResults:
    """Backfill up to 50 stories of work done before loopctl (user keys; the reference's
    mark-complete, which here is never a way around verification)."""
    ids = [i.story_id for i in body.stories]
    items = [BackfillIn(**i.model_dump(exclude={"story_id"})) for i in body.stories]
    return await bulk.backfill(conn, principal, items, ids)


@router.post(
    "/epics/{epic_id}/verify-all",
    response_model=Item[VerifyAllResult],
    responses=errors(EpicNotFound),
)
async def verify_all(
    epic_id: UUID,
    conn: RequestConn,
    principal: OrchestratorPrincipal,
    body: VerifyAllIn | None = None,
) -> Item[VerifyAllResult]:
    """Verify every reported, unverified story of an epic (orchestrator keys), each with
    verify's full checks; refused stories are listed in errors."""
    return Item(data=await bulk.verify_all(conn, principal, epic_id, body or VerifyAllIn()))
