"""/api/v1/stories/bulk/* and /api/v1/epics/{id}/verify-all."""

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

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
    BulkBackfillItem,
    BulkClaimIn,
    BulkRejectIn,
    BulkRejectItem,
    BulkResults,
    BulkVerifyIn,
    BulkVerifyItem,
    RejectIn,
    VerifyAllIn,
    VerifyAllResult,
    VerifyIn,
)

router = api_router(tag="progress")
M = TypeVar("M", bound=BaseModel)


def _split(
    entries: Sequence[BulkVerifyItem | BulkRejectItem | BulkBackfillItem], single: type[M]
) -> tuple[list[M], list[UUID]]:
    """Each entry as its single endpoint's body, and the entries' story ids in the same order."""
    items = [single(**e.model_dump(exclude={"story_id"})) for e in entries]
    return items, [e.story_id for e in entries]


@router.post("/stories/bulk/claim")
async def bulk_claim(
    body: BulkClaimIn, conn: RequestConn, principal: AgentPrincipal
) -> BulkResults:
    """Claim up to 50 contracted stories (agent keys); one result per story, in id order."""
    return await bulk.claim(conn, principal, body.story_ids)


@router.post("/stories/bulk/verify")
async def bulk_verify(
    body: BulkVerifyIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> BulkResults:
    """Verify up to 50 stories (orchestrator keys), each with all of verify's checks."""
    return await bulk.verify(conn, principal, *_split(body.stories, VerifyIn))


@router.post("/stories/bulk/reject")
async def bulk_reject(
    body: BulkRejectIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> BulkResults:
    """Reject up to 50 stories (orchestrator keys), each with all of reject's checks."""
    return await bulk.reject(conn, principal, *_split(body.stories, RejectIn))


@router.post("/stories/bulk/mark-complete")
async def bulk_mark_complete(
    body: BulkBackfillIn, conn: RequestConn, principal: UserPrincipal
) -> BulkResults:
    """Backfill up to 50 stories of work done before loopctl (user keys; the reference's
    mark-complete, which here is never a way around verification)."""
    return await bulk.backfill(conn, principal, *_split(body.stories, BackfillIn))


@router.post(
    "/epics/{epic_id}/verify-all",
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
