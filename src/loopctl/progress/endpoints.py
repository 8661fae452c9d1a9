"""/api/v1/stories/{id}/<transition>: the story loop (contract, claim, ..., verify)."""

from uuid import UUID

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal
from loopctl.database.connections import RequestConn
from loopctl.epics.errors import EpicNotFound
from loopctl.kit.openapi import errors
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item
from loopctl.progress import service
from loopctl.progress.errors import (
    AgentIdentityRequired,
    AlreadyClaimed,
    AlreadyVerified,
    ContractMismatch,
    CriteriaRequired,
    DependenciesNotVerified,
    InvalidTransition,
    LeaseExpired,
    LeaseLost,
    NoReadyStory,
    NotAssignee,
    ReviewRequired,
    RoleRefused,
    SelfReportBlocked,
    SelfReviewBlocked,
    SelfVerifyBlocked,
    UnknownCriterion,
    VerdictContradictsCriteria,
)
from loopctl.progress.schemas import (
    ClaimedStory,
    ClaimNextIn,
    ContractIn,
    LeaseIn,
    RejectIn,
    ReportIn,
    ReviewIn,
    ReviewRecord,
    StoryProgress,
    VerifyIn,
)
from loopctl.projects.errors import ProjectNotFound
from loopctl.stories.errors import StoryNotFound

router = api_router("/stories", tag="progress")

_COMMON = (StoryNotFound, RoleRefused, AgentIdentityRequired, InvalidTransition)
_HOLDER = (*_COMMON, NotAssignee, LeaseLost)


def _token(body: LeaseIn | None) -> int | None:
    return None if body is None else body.lease_token


@router.post(
    "/{story_id}/contract",
    responses=errors(*_COMMON, AlreadyVerified, ContractMismatch),
)
async def contract_story(
    story_id: UUID, body: ContractIn, conn: RequestConn, principal: AgentPrincipal
) -> Item[StoryProgress]:
    """Contract a pending story (agent or orchestrator); agents echo its title and ac_count."""
    return Item(data=await service.contract(conn, principal, story_id, body))


@router.post(
    "/{story_id}/claim",
    responses=errors(*_COMMON, AlreadyClaimed, DependenciesNotVerified),
)
async def claim_story(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: LeaseIn | None = None
) -> Item[StoryProgress]:
    """Claim a contracted story (agent keys): a lease with a fencing token (lease.token)."""
    return Item(data=await service.claim(conn, principal, story_id, _token(body)))


for _path in ("/{story_id}/start", "/{story_id}/start-work"):

    @router.post(_path, responses=errors(*_HOLDER))
    async def start_story(
        story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: LeaseIn | None = None
    ) -> Item[StoryProgress]:
        """Start work on a claimed story (its assignee); /start-work is an alias."""
        return Item(data=await service.start(conn, principal, story_id, _token(body)))


@router.post("/{story_id}/request-review", responses=errors(*_HOLDER))
async def request_review(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: LeaseIn | None = None
) -> Item[StoryProgress]:
    """Hand an implementing story over for review; its lease then no longer expires."""
    return Item(data=await service.request_review(conn, principal, story_id, _token(body)))


@router.post("/{story_id}/heartbeat", responses=errors(*_HOLDER))
async def heartbeat(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: LeaseIn | None = None
) -> Item[StoryProgress]:
    """Extend the caller's lease on a story it holds by the tenant's lease_ttl_seconds."""
    return Item(data=await service.heartbeat(conn, principal, story_id, _token(body)))


@router.post("/{story_id}/unclaim", responses=errors(*_HOLDER))
async def unclaim_story(
    story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: LeaseIn | None = None
) -> Item[StoryProgress]:
    """Release a story the caller holds; it goes back to pending."""
    return Item(data=await service.unclaim(conn, principal, story_id, _token(body)))


for _path in ("/{story_id}/report", "/{story_id}/report-done"):

    @router.post(
        _path,
        responses=errors(*_COMMON, SelfReportBlocked, LeaseExpired, LeaseLost),
    )
    async def report_story(
        story_id: UUID, conn: RequestConn, principal: AgentPrincipal, body: ReportIn | None = None
    ) -> Item[StoryProgress]:
        """Report an implementing story done: any identity but its implementer (alias /report-done)."""
        return Item(data=await service.report(conn, principal, story_id, body or ReportIn()))


@router.post(
    "/{story_id}/review-complete",
    status_code=201,
    responses=errors(*_COMMON, SelfReviewBlocked),
)
async def complete_review(
    story_id: UUID, body: ReviewIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[ReviewRecord]:
    """Record a review of a reported story (orchestrator or user; never its implementer)."""
    row = await service.review_complete(conn, principal, story_id, body)
    return Item(data=ReviewRecord.model_validate(row))


@router.post(
    "/{story_id}/verify",
    responses=errors(
        *_COMMON,
        SelfVerifyBlocked,
        AlreadyVerified,
        ReviewRequired,
        CriteriaRequired,
        UnknownCriterion,
        VerdictContradictsCriteria,
    ),
)
async def verify_story(
    story_id: UUID, body: VerifyIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[StoryProgress]:
    """Verify a reported story (orchestrator keys) after a review recorded since its report."""
    return Item(data=await service.verify(conn, principal, story_id, body))


@router.post(
    "/{story_id}/reject",
    responses=errors(*_COMMON, SelfVerifyBlocked, UnknownCriterion),
)
async def reject_story(
    story_id: UUID, body: RejectIn, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[StoryProgress]:
    """Reject a reported or verified story (orchestrator keys); by default it goes back to
    pending for another claim."""
    return Item(data=await service.reject(conn, principal, story_id, body))


@router.post(
    "/{story_id}/force-unclaim",
    responses=errors(*_COMMON, AlreadyVerified),
)
async def force_unclaim_story(
    story_id: UUID, conn: RequestConn, principal: OrchestratorPrincipal
) -> Item[StoryProgress]:
    """Take a story back from its assignee (orchestrator keys); it goes back to pending."""
    return Item(data=await service.force_unclaim(conn, principal, story_id))


CLAIM_ORDER = (
    "Claim the best ready story for the caller in one call (agent keys): among the stories"
    " that are not verified, unclaimed (or whose lease expired) and waiting for nothing, the"
    " first in claim order. Critical path first: the heaviest chain of unverified stories"
    " that starts at the story and runs through the stories waiting for it, weighted as"
    " GET /projects/{id}/critical_path weighs it (estimated hours when every unverified"
    " story of the project has one, else 1 per story); then the unblocks count (unverified"
    " stories waiting for it directly); then epic position, epic number and story number."
    " A pending story is contracted for the caller on the way. 404 no_ready_story when"
    " nothing can be claimed (docs/progress.md)."
)


@router.post(
    "/claim-next",
    description=CLAIM_ORDER,
    responses=errors(
        RoleRefused, AgentIdentityRequired, NoReadyStory, ProjectNotFound, EpicNotFound
    ),
)
async def claim_next(
    conn: RequestConn, principal: AgentPrincipal, body: ClaimNextIn | None = None
) -> Item[ClaimedStory]:
    """Claim the best ready story for the caller in one call (agent keys)."""
    return Item(data=await service.claim_next(conn, principal, body or ClaimNextIn()))
