"""The story loop's calls of ``ServiceBackend``: the endpoints' service calls, one each."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.mcp.backend import Id
from loopctl.mcp.inputs import Bound, as_id, body_of
from loopctl.progress import bulk, records
from loopctl.progress import service as progress
from loopctl.progress.schemas import (
    Artifact,
    ArtifactIn,
    BackfillIn,
    ClaimedStory,
    ClaimNextIn,
    ContractIn,
    LeaseIn,
    RejectIn,
    ReportIn,
    ReviewIn,
    ReviewRecord,
    StoryProgress,
    VerifyAllIn,
    VerifyAllResult,
    VerifyIn,
)

# A lease holder's step of progress.service: start, heartbeat, request_review, unclaim.
Step = Callable[[Connection, Principal, UUID, int | None], Awaitable[StoryProgress]]


class LoopCalls(Bound):
    """The implementer's, reviewer's and verifier's steps."""

    # The implementer's loop

    async def contract(
        self, story_id: Id, *, story_title: str | None = None, ac_count: int | None = None
    ) -> StoryProgress:
        body = body_of(ContractIn, story_title=story_title, ac_count=ac_count)
        return await progress.contract(self.conn, self.principal, as_id(story_id, "story_id"), body)

    async def claim(self, story_id: Id) -> StoryProgress:
        return await progress.claim(self.conn, self.principal, as_id(story_id, "story_id"))

    async def claim_next(
        self, *, project_id: Id | None = None, epic_id: Id | None = None
    ) -> ClaimedStory:
        body = body_of(ClaimNextIn, project_id=project_id, epic_id=epic_id)
        return await progress.claim_next(self.conn, self.principal, body)

    async def _leased(self, step: Step, story_id: Id, lease_token: int | None) -> StoryProgress:
        token = body_of(LeaseIn, lease_token=lease_token).lease_token
        return await step(self.conn, self.principal, as_id(story_id, "story_id"), token)

    async def start(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress:
        return await self._leased(progress.start, story_id, lease_token)

    async def heartbeat(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress:
        return await self._leased(progress.heartbeat, story_id, lease_token)

    async def request_review(
        self, story_id: Id, *, lease_token: int | None = None
    ) -> StoryProgress:
        return await self._leased(progress.request_review, story_id, lease_token)

    async def unclaim(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress:
        return await self._leased(progress.unclaim, story_id, lease_token)

    async def add_artifact(self, story_id: Id, artifact_type: str, path: str) -> Artifact:
        body = body_of(ArtifactIn, artifact_type=artifact_type, path=path)
        story = as_id(story_id, "story_id")
        return Artifact.model_validate(
            await records.add_artifact(self.conn, self.principal, story, body)
        )

    # The reviewer's and verifier's loop

    async def report(
        self, story_id: Id, *, artifact: dict[str, Any] | None = None
    ) -> StoryProgress:
        body = body_of(ReportIn, artifact=artifact)
        return await progress.report(self.conn, self.principal, as_id(story_id, "story_id"), body)

    async def review_complete(
        self,
        story_id: Id,
        review_type: str,
        *,
        findings_count: int | None = None,
        fixes_count: int | None = None,
        disproved_count: int | None = None,
        summary: str | None = None,
    ) -> ReviewRecord:
        body = body_of(
            ReviewIn,
            review_type=review_type,
            findings_count=findings_count,
            fixes_count=fixes_count,
            disproved_count=disproved_count,
            summary=summary,
        )
        story = as_id(story_id, "story_id")
        row = await progress.review_complete(self.conn, self.principal, story, body)
        return ReviewRecord.model_validate(row)

    async def verify(
        self,
        story_id: Id,
        *,
        criteria: list[dict[str, Any]] | None = None,
        summary: str | None = None,
        review_type: str | None = None,
        result: str | None = None,
        commit_sha: str | None = None,
    ) -> StoryProgress:
        body = body_of(
            VerifyIn,
            criteria=criteria,
            summary=summary,
            review_type=review_type,
            result=result,
            commit_sha=commit_sha,
        )
        return await progress.verify(self.conn, self.principal, as_id(story_id, "story_id"), body)

    async def reject(
        self,
        story_id: Id,
        reason: str,
        *,
        criteria: list[dict[str, Any]] | None = None,
        summary: str | None = None,
        review_type: str | None = None,
    ) -> StoryProgress:
        body = body_of(
            RejectIn, reason=reason, criteria=criteria, summary=summary, review_type=review_type
        )
        return await progress.reject(self.conn, self.principal, as_id(story_id, "story_id"), body)

    async def force_unclaim(self, story_id: Id) -> StoryProgress:
        return await progress.force_unclaim(self.conn, self.principal, as_id(story_id, "story_id"))

    async def verify_all(
        self, epic_id: Id, *, summary: str | None = None, review_type: str | None = None
    ) -> VerifyAllResult:
        body = body_of(VerifyAllIn, summary=summary, review_type=review_type)
        return await bulk.verify_all(self.conn, self.principal, as_id(epic_id, "epic_id"), body)

    async def backfill(
        self,
        story_id: Id,
        reason: str,
        *,
        evidence: str | None = None,
        evidence_url: str | None = None,
        pr_number: int | None = None,
    ) -> StoryProgress:
        body = body_of(
            BackfillIn,
            reason=reason,
            evidence=evidence,
            evidence_url=evidence_url,
            pr_number=pr_number,
        )
        return await records.backfill(self.conn, self.principal, as_id(story_id, "story_id"), body)
