"""The server's backend for ``/mcp``: each call is the REST endpoint's service call.

One ``ServiceBackend`` serves one tool call, on that call's transaction and principal
(http.py opens both). Bodies are built with the REST API's own input models, so the same
rules and limits apply; a model's refusal becomes the same 422 ``validation_error`` REST
answers. Results are the same response models the Python client returns.
"""

from typing import Any

from loopctl.audit import events, queries
from loopctl.audit.schemas import AuditEntry, EventIn
from loopctl.changes import service as changes
from loopctl.changes.schemas import FeedPage
from loopctl.dependencies import graph_service
from loopctl.dependencies.schemas import BlockedItem, WorkItem
from loopctl.kit.pagination import page_of
from loopctl.kit.schemas import Page
from loopctl.mcp.backend import Id
from loopctl.mcp.inputs import WORD, as_id, body_of, checked, maybe_id, paged, whole
from loopctl.mcp.service_loop import LoopCalls
from loopctl.orchestrator import service as orchestrator
from loopctl.orchestrator.schemas import DEFAULT_KEY, OrchestratorState, StateSave, StateVersion
from loopctl.platform.errors import UnprocessableEntity
from loopctl.progress import records
from loopctl.progress.schemas import (
    Artifact,
    CriterionStatus,
    Verification,
)
from loopctl.projects import progress as project_progress
from loopctl.projects import service as projects
from loopctl.projects.schemas import Project, ProjectDetail, ProjectProgress
from loopctl.stories import service as stories
from loopctl.stories.schemas import Story, StoryDetail


class ServiceBackend(LoopCalls):
    """``backend.Backend`` on the domain services, for one tool call (its reads here, its
    loop steps in service_loop.py)."""

    # Reads

    async def list_projects(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> Page[Project]:
        page = paged(limit, offset)
        rows, total = await projects.list_projects(
            self.conn, self.principal, status=None, include_archived=False, sort=None, page=page
        )
        return page_of([projects.view(r) for r in rows], total, page)

    async def get_project(self, project_id: Id) -> ProjectDetail:
        return await projects.detail(self.conn, self.principal, as_id(project_id, "project_id"))

    async def project_progress(self, project_id: Id) -> ProjectProgress:
        project = as_id(project_id, "project_id")
        return await project_progress.progress(self.conn, self.principal, project)

    async def list_stories(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        agent_status: str | None = None,
        verified_status: str | None = None,
    ) -> Page[Story]:
        if project_id is None:
            raise UnprocessableEntity.for_field("project_id", "Field required", type_="missing")
        page = paged(limit, offset)
        rows, total = await stories.list_in_project(
            self.conn,
            self.principal,
            as_id(project_id, "project_id"),
            epic_id=maybe_id(epic_id, "epic_id"),
            agent_status=agent_status,
            verified_status=verified_status,
            q=None,
            page=page,
        )
        return page_of([stories.view(r) for r in rows], total, page)

    async def ready(
        self,
        *,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[WorkItem]:
        page = paged(limit, offset)
        rows, total = await graph_service.ready(
            self.conn,
            self.principal,
            project_id=maybe_id(project_id, "project_id"),
            epic_id=maybe_id(epic_id, "epic_id"),
            page=page,
        )
        return page_of(rows, total, page)

    async def blocked(
        self,
        *,
        project_id: Id | None = None,
        epic_id: Id | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[BlockedItem]:
        page = paged(limit, offset)
        rows, total = await graph_service.blocked(
            self.conn,
            self.principal,
            project_id=maybe_id(project_id, "project_id"),
            epic_id=maybe_id(epic_id, "epic_id"),
            page=page,
        )
        return page_of(rows, total, page)

    async def get_story(self, story_id: Id) -> StoryDetail:
        return await stories.detail(self.conn, self.principal, as_id(story_id, "story_id"))

    async def story_history(
        self, story_id: Id, *, limit: int | None = None, offset: int | None = None
    ) -> Page[AuditEntry]:
        page = paged(limit, offset)
        story = as_id(story_id, "story_id")
        rows, total = await queries.story_history(self.conn, self.principal, story, page)
        return page_of([queries.view(r) for r in rows], total, page)

    async def list_artifacts(self, story_id: Id) -> Page[Artifact]:
        rows = await records.artifacts(self.conn, as_id(story_id, "story_id"))
        return whole([Artifact.model_validate(r) for r in rows])

    async def list_verifications(self, story_id: Id) -> Page[Verification]:
        rows = await records.verifications(self.conn, as_id(story_id, "story_id"))
        return whole([Verification.model_validate(r) for r in rows])

    async def acceptance_criteria(self, story_id: Id) -> Page[CriterionStatus]:
        return whole(await records.acceptance_criteria(self.conn, as_id(story_id, "story_id")))

    async def changes(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        project_id: Id | None = None,
        entity_type: str | None = None,
        action: str | None = None,
    ) -> FeedPage:
        filters = changes.Filters(
            project_id=maybe_id(project_id, "project_id"),
            entity_type=None if entity_type is None else checked(WORD, entity_type, "entity_type"),
            action=None if action is None else checked(WORD, action, "action"),
        )
        return await changes.read(
            self.conn,
            self.principal,
            cursor=cursor,
            since=None,
            filters=filters,
            limit=min(limit or changes.MAX_LIMIT, changes.MAX_LIMIT),
        )

    # The orchestrator's checkpoints and events

    async def save_state(
        self,
        project_id: Id,
        state_data: dict[str, Any],
        *,
        state_key: str | None = None,
        version: int | None = None,
        cursor: str | None = None,
    ) -> OrchestratorState:
        body = body_of(
            StateSave, state_data=state_data, state_key=state_key, version=version, cursor=cursor
        )
        row = await orchestrator.save(
            self.conn,
            self.principal,
            as_id(project_id, "project_id"),
            body,
            expected=body.version,
            max_bytes=self.max_state_bytes,
        )
        return orchestrator.view(row)

    async def get_state(self, project_id: Id, *, state_key: str | None = None) -> OrchestratorState:
        key = self._state_key(state_key)
        row = await orchestrator.get(
            self.conn, self.principal, as_id(project_id, "project_id"), key
        )
        return orchestrator.view(row)

    async def state_history(
        self,
        project_id: Id,
        *,
        state_key: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[StateVersion]:
        page = paged(limit, offset)
        project = as_id(project_id, "project_id")
        key = self._state_key(state_key)
        rows, total = await orchestrator.history(self.conn, self.principal, project, key, page)
        return page_of([orchestrator.version_view(r) for r in rows], total, page)

    def _state_key(self, state_key: str | None) -> str:
        # The same rules as a saved key's (StateSave.state_key).
        return body_of(StateSave, state_data={}, state_key=state_key or DEFAULT_KEY).state_key

    async def report_event(
        self,
        event_type: str,
        *,
        project_id: Id | None = None,
        story_id: Id | None = None,
        summary: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditEntry:
        body = body_of(
            EventIn,
            event_type=event_type,
            project_id=project_id,
            story_id=story_id,
            summary=summary,
            data=data,
        )
        return queries.view(await events.report(self.conn, self.principal, body))
