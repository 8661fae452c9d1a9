"""What a tool calls: the calls both transports answer, with the Python client's signatures.

``loopctl mcp`` (stdio) passes its ``AsyncClient``, which sends each call to the REST API;
the server's ``/mcp`` passes a ``services.ServiceBackend``, which calls the domain services
in the tool call's transaction. The tools (tools.py) are written once against this protocol;
mypy holds both backends to it.
"""

from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel

from loopctl.dependencies.schemas import BlockedItem, WorkItem
from loopctl.kit.schemas import Page
from loopctl.orchestrator.schemas import OrchestratorState, StateVersion
from loopctl.progress.schemas import (
    Artifact,
    ClaimedStory,
    CriterionStatus,
    ReviewRecord,
    StoryProgress,
    Verification,
    VerifyAllResult,
)
from loopctl.projects.schemas import Project, ProjectDetail, ProjectProgress
from loopctl.stories.schemas import Story, StoryDetail

Id = UUID | str


class Backend(Protocol):
    # Reads
    async def list_projects(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> Page[Project]: ...
    async def get_project(self, project_id: Id) -> ProjectDetail: ...
    async def project_progress(self, project_id: Id) -> ProjectProgress: ...
    async def list_stories(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        agent_status: str | None = None,
        verified_status: str | None = None,
    ) -> Page[Story]: ...
    async def ready(
        self,
        *,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[WorkItem]: ...
    async def blocked(
        self,
        *,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[BlockedItem]: ...
    async def get_story(self, story_id: Id) -> StoryDetail: ...
    async def story_history(
        self, story_id: Id, *, limit: int | None = None, offset: int | None = None
    ) -> Page[Any]: ...
    async def list_artifacts(self, story_id: Id) -> Page[Artifact]: ...
    async def list_verifications(self, story_id: Id) -> Page[Verification]: ...
    async def acceptance_criteria(self, story_id: Id) -> Page[CriterionStatus]: ...
    async def changes(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        project_id: Id | None = None,
        entity_type: str | None = None,
        action: str | None = None,
    ) -> BaseModel: ...

    # The implementer's loop
    async def contract(
        self, story_id: Id, *, story_title: str | None = None, ac_count: int | None = None
    ) -> StoryProgress: ...
    async def claim(self, story_id: Id) -> StoryProgress: ...
    async def claim_next(
        self, *, project_id: Id | None = None, epic_id: Id | None = None
    ) -> ClaimedStory: ...
    async def start(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress: ...
    async def heartbeat(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress: ...
    async def request_review(
        self, story_id: Id, *, lease_token: int | None = None
    ) -> StoryProgress: ...
    async def unclaim(self, story_id: Id, *, lease_token: int | None = None) -> StoryProgress: ...
    async def add_artifact(self, story_id: Id, artifact_type: str, path: str) -> Artifact: ...

    # The reviewer's and verifier's loop
    async def report(
        self, story_id: Id, *, artifact: dict[str, Any] | None = None
    ) -> StoryProgress: ...
    async def review_complete(
        self,
        story_id: Id,
        review_type: str,
        *,
        findings_count: int | None = None,
        fixes_count: int | None = None,
        disproved_count: int | None = None,
        summary: str | None = None,
    ) -> ReviewRecord: ...
    async def verify(
        self,
        story_id: Id,
        *,
        criteria: list[dict[str, Any]] | None = None,
        summary: str | None = None,
        review_type: str | None = None,
        result: str | None = None,
        commit_sha: str | None = None,
    ) -> StoryProgress: ...
    async def reject(
        self,
        story_id: Id,
        reason: str,
        *,
        criteria: list[dict[str, Any]] | None = None,
        summary: str | None = None,
        review_type: str | None = None,
    ) -> StoryProgress: ...
    async def force_unclaim(self, story_id: Id) -> StoryProgress: ...
    async def verify_all(
        self, epic_id: Id, *, summary: str | None = None, review_type: str | None = None
    ) -> VerifyAllResult: ...
    async def backfill(
        self,
        story_id: Id,
        reason: str,
        *,
        evidence: str | None = None,
        evidence_url: str | None = None,
        pr_number: int | None = None,
    ) -> StoryProgress: ...

    # The orchestrator's checkpoints and events
    async def save_state(
        self,
        project_id: Id,
        state_data: dict[str, Any],
        *,
        state_key: str | None = None,
        version: int | None = None,
        cursor: str | None = None,
    ) -> OrchestratorState: ...
    async def get_state(
        self, project_id: Id, *, state_key: str | None = None
    ) -> OrchestratorState: ...
    async def state_history(
        self,
        project_id: Id,
        *,
        state_key: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[StateVersion]: ...
    async def report_event(
        self,
        event_type: str,
        *,
        project_id: Id | None = None,
        story_id: Id | None = None,
        summary: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> BaseModel: ...
