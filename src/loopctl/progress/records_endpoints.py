"""/api/v1/stories/{id}/artifacts, /verifications, /acceptance_criteria and /backfill."""

from uuid import UUID

from loopctl.auth.dependencies import AgentPrincipal, OrchestratorPrincipal, UserPrincipal
from loopctl.database.connections import RequestConn
from loopctl.kit.openapi import errors
from loopctl.kit.routers import api_router
from loopctl.kit.schemas import Item, Page, PageMeta
from loopctl.progress import records
from loopctl.progress.errors import AlreadyVerified, InvalidTransition, RoleRefused
from loopctl.progress.schemas import (
    Artifact,
    ArtifactIn,
    BackfillIn,
    CriterionStatus,
    StoryProgress,
    Verification,
)
from loopctl.stories.errors import StoryNotFound

router = api_router("/stories", tag="progress")


def _all(items: list[object]) -> PageMeta:
    # These lists are bounded by the story (its verdicts, artifacts, criteria): one page.
    return PageMeta(total=len(items), total_count=len(items), limit=len(items), offset=0)


@router.post(
    "/{story_id}/artifacts",
    status_code=201,
    responses=errors(StoryNotFound),
)
async def add_artifact(
    story_id: UUID, body: ArtifactIn, conn: RequestConn, principal: AgentPrincipal
) -> Item[Artifact]:
    """Record an artifact of a story (type, path, whether it exists, details) and who reported it."""
    row = await records.add_artifact(conn, principal, story_id, body)
    return Item(data=Artifact.model_validate(row))


@router.get("/{story_id}/artifacts", responses=errors(StoryNotFound))
async def list_artifacts(story_id: UUID, conn: RequestConn, _: AgentPrincipal) -> Page[Artifact]:
    """A story's artifacts, oldest first."""
    data = [Artifact.model_validate(r) for r in await records.artifacts(conn, story_id)]
    return Page(data=data, meta=_all(list(data)))


@router.get(
    "/{story_id}/verifications",
    responses=errors(StoryNotFound),
)
async def list_verifications(
    story_id: UUID, conn: RequestConn, _: OrchestratorPrincipal
) -> Page[Verification]:
    """Every verdict on a story with its iteration number, newest first."""
    data = [Verification.model_validate(r) for r in await records.verifications(conn, story_id)]
    return Page(data=data, meta=_all(list(data)))


@router.get(
    "/{story_id}/acceptance_criteria",
    responses=errors(StoryNotFound),
)
async def list_acceptance_criteria(
    story_id: UUID, conn: RequestConn, _: AgentPrincipal
) -> Page[CriterionStatus]:
    """Each acceptance criterion with its latest checked result and evidence."""
    data = await records.acceptance_criteria(conn, story_id)
    return Page(data=data, meta=_all(list(data)))


@router.post(
    "/{story_id}/backfill",
    responses=errors(StoryNotFound, RoleRefused, InvalidTransition, AlreadyVerified),
)
async def backfill_story(
    story_id: UUID, body: BackfillIn, conn: RequestConn, principal: UserPrincipal
) -> Item[StoryProgress]:
    """Record work done before loopctl as done and verified (user keys; recorded as backfill,
    never as agent-verified)."""
    return Item(data=await records.backfill(conn, principal, story_id, body))
