"""The server's backend for ``/mcp``: each call is the REST endpoint's service call.

One ``ServiceBackend`` serves one tool call, on that call's transaction and principal
(http.py opens both). Bodies are built with the REST API's own input models, so the same
rules and limits apply; a model's refusal becomes the same 422 ``validation_error`` REST
answers. Results are the same response models the Python client returns.
"""

from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as ModelError

from loopctl.audit import events, queries
from loopctl.audit.schemas import AuditEntry, EventIn, Word
from loopctl.auth.principal import Principal
from loopctl.changes import service as changes
from loopctl.changes.schemas import FeedPage
from loopctl.database.connections import Connection
from loopctl.dependencies import graph_service
from loopctl.dependencies.schemas import BlockedItem, WorkItem
from loopctl.kit.pagination import DEFAULT_LIMIT, Pagination, page_of
from loopctl.kit.schemas import Page, PageMeta
from loopctl.mcp.backend import Id
from loopctl.orchestrator import service as orchestrator
from loopctl.orchestrator.schemas import DEFAULT_KEY, OrchestratorState, StateSave, StateVersion
from loopctl.platform.errors import UnprocessableEntity, validation_details
from loopctl.progress import bulk, records
from loopctl.progress import service as progress
from loopctl.progress.schemas import (
    Artifact,
    ArtifactIn,
    BackfillIn,
    ClaimedStory,
    ClaimNextIn,
    ContractIn,
    CriterionStatus,
    LeaseIn,
    RejectIn,
    ReportIn,
    ReviewIn,
    ReviewRecord,
    StoryProgress,
    Verification,
    VerifyAllIn,
    VerifyAllResult,
    VerifyIn,
)
from loopctl.projects import progress as project_progress
from loopctl.projects import service as projects
from loopctl.projects.schemas import Project, ProjectDetail, ProjectProgress
from loopctl.stories import service as stories
from loopctl.stories.schemas import Story, StoryDetail

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
_WORD = TypeAdapter(Word)
_ID = TypeAdapter(UUID)


def _checked(adapter: TypeAdapter[T], value: Any, field: str) -> T:
    try:
        return adapter.validate_python(value)
    except ModelError as exc:
        raise _invalid(exc, field) from None


def _invalid(exc: ModelError, prefix: str = "") -> UnprocessableEntity:
    details = validation_details(exc.errors())
    for detail in details:
        detail["field"] = ".".join(p for p in (prefix, detail["field"]) if p)
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return UnprocessableEntity(f"Validation failed: {fields}", details={"errors": details})


def _body(model: type[M], **fields: Any) -> M:
    """``model`` from the fields given (``None``: not sent, so the model's default applies)."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ModelError as exc:
        raise _invalid(exc) from None


def _id(value: Id, field: str) -> UUID:
    return value if isinstance(value, UUID) else _checked(_ID, value, field)


def _maybe_id(value: Id | None, field: str) -> UUID | None:
    return None if value is None else _id(value, field)


def _paged(limit: int | None, offset: int | None) -> Pagination:
    return Pagination(limit=limit or DEFAULT_LIMIT, offset=offset or 0)


def _whole(items: list[M]) -> Page[M]:
    # As REST's: these lists are bounded by the story, one page.
    meta = PageMeta(total=len(items), total_count=len(items), limit=len(items), offset=0)
    return Page[M](data=items, meta=meta)


class ServiceBackend:
    """``backend.Backend`` on the domain services, for one tool call."""

    def __init__(self, conn: Connection, principal: Principal, max_state_bytes: int) -> None:
        self.conn = conn
        self.principal = principal
        self.max_state_bytes = max_state_bytes

    # Reads

    async def list_projects(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> Page[Project]:
        page = _paged(limit, offset)
        rows, total = await projects.list_projects(
            self.conn, self.principal, status=None, include_archived=False, sort=None, page=page
        )
        return page_of([projects.view(r) for r in rows], total, page)

    async def get_project(self, project_id: Id) -> ProjectDetail:
        return await projects.detail(self.conn, self.principal, _id(project_id, "project_id"))

    async def project_progress(self, project_id: Id) -> ProjectProgress:
        project = _id(project_id, "project_id")
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
        page = _paged(limit, offset)
        rows, total = await stories.list_in_project(
            self.conn,
            self.principal,
            _id(project_id, "project_id"),
            epic_id=_maybe_id(epic_id, "epic_id"),
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
        page = _paged(limit, offset)
        rows, total = await graph_service.ready(
            self.conn,
            self.principal,
            project_id=_maybe_id(project_id, "project_id"),
            epic_id=_maybe_id(epic_id, "epic_id"),
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
        page = _paged(limit, offset)
        rows, total = await graph_service.blocked(
            self.conn,
            self.principal,
            project_id=_maybe_id(project_id, "project_id"),
            epic_id=_maybe_id(epic_id, "epic_id"),
            page=page,
        )
        return page_of(rows, total, page)

    async def get_story(self, story_id: Id) -> StoryDetail:
        return await stories.detail(self.conn, self.principal, _id(story_id, "story_id"))

    async def story_history(
        self, story_id: Id, *, limit: int | None = None, offset: int | None = None
    ) -> Page[AuditEntry]:
        page = _paged(limit, offset)
        story = _id(story_id, "story_id")
        rows, total = await queries.story_history(self.conn, self.principal, story, page)
        return page_of([queries.view(r) for r in rows], total, page)

    async def list_artifacts(self, story_id: Id) -> Page[Artifact]:
        rows = await records.artifacts(self.conn, _id(story_id, "story_id"))
        return _whole([Artifact.model_validate(r) for r in rows])

    async def list_verifications(self, story_id: Id) -> Page[Verification]:
        rows = await records.verifications(self.conn, _id(story_id, "story_id"))
        return _whole([Verification.model_validate(r) for r in rows])

    async def acceptance_criteria(self, story_id: Id) -> Page[CriterionStatus]:
        return _whole(await records.acceptance_criteria(self.conn, _id(story_id, "story_id")))

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
            project_id=_maybe_id(project_id, "project_id"),
            entity_type=None
            if entity_type is None
            else _checked(_WORD, entity_type, "entity_type"),
            action=None if action is None else _checked(_WORD, action, "action"),
        )
        return await changes.read(
            self.conn,
            self.principal,
            cursor=cursor,
            since=None,
            filters=filters,
            limit=min(limit or changes.MAX_LIMIT, changes.MAX_LIMIT),
        )

    # The implementer's loop

    async def contract(
        self, story_id: Id, *, story_title: str | None = None, ac_count: int | None = None
    ) -> StoryProgress:
        body = _body(ContractIn, story_title=story_title, ac_count=ac_count)
        return await progress.contract(self.conn, self.principal, _id(story_id, "story_id"), body)

    async def claim(self, story_id: Id) -> StoryProgress:
        return await progress.claim(self.conn, self.principal, _id(story_id, "story_id"))

    async def claim_next(
        self, *, project_id: Id | None = None, epic_id: Id | None = None
    ) -> ClaimedStory:
        body = _body(ClaimNextIn, project_id=project_id, epic_id=epic_id)
        return await progress.claim_next(self.conn, self.principal, body)

    async def _leased(self, step: Any, story_id: Id, lease_token: int | None) -> StoryProgress:
        token = _body(LeaseIn, lease_token=lease_token).lease_token
        story: StoryProgress = await step(
            self.conn, self.principal, _id(story_id, "story_id"), token
        )
        return story

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
        body = _body(ArtifactIn, artifact_type=artifact_type, path=path)
        story = _id(story_id, "story_id")
        return Artifact.model_validate(
            await records.add_artifact(self.conn, self.principal, story, body)
        )

    # The reviewer's and verifier's loop

    async def report(
        self, story_id: Id, *, artifact: dict[str, Any] | None = None
    ) -> StoryProgress:
        body = _body(ReportIn, artifact=artifact)
        return await progress.report(self.conn, self.principal, _id(story_id, "story_id"), body)

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
        body = _body(
            ReviewIn,
            review_type=review_type,
            findings_count=findings_count,
            fixes_count=fixes_count,
            disproved_count=disproved_count,
            summary=summary,
        )
        story = _id(story_id, "story_id")
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
        body = _body(
            VerifyIn,
            criteria=criteria,
            summary=summary,
            review_type=review_type,
            result=result,
            commit_sha=commit_sha,
        )
        return await progress.verify(self.conn, self.principal, _id(story_id, "story_id"), body)

    async def reject(
        self,
        story_id: Id,
        reason: str,
        *,
        criteria: list[dict[str, Any]] | None = None,
        summary: str | None = None,
        review_type: str | None = None,
    ) -> StoryProgress:
        body = _body(
            RejectIn, reason=reason, criteria=criteria, summary=summary, review_type=review_type
        )
        return await progress.reject(self.conn, self.principal, _id(story_id, "story_id"), body)

    async def force_unclaim(self, story_id: Id) -> StoryProgress:
        return await progress.force_unclaim(self.conn, self.principal, _id(story_id, "story_id"))

    async def verify_all(
        self, epic_id: Id, *, summary: str | None = None, review_type: str | None = None
    ) -> VerifyAllResult:
        body = _body(VerifyAllIn, summary=summary, review_type=review_type)
        return await bulk.verify_all(self.conn, self.principal, _id(epic_id, "epic_id"), body)

    async def backfill(
        self,
        story_id: Id,
        reason: str,
        *,
        evidence: str | None = None,
        evidence_url: str | None = None,
        pr_number: int | None = None,
    ) -> StoryProgress:
        body = _body(
            BackfillIn,
            reason=reason,
            evidence=evidence,
            evidence_url=evidence_url,
            pr_number=pr_number,
        )
        return await records.backfill(self.conn, self.principal, _id(story_id, "story_id"), body)

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
        body = _body(
            StateSave, state_data=state_data, state_key=state_key, version=version, cursor=cursor
        )
        row = await orchestrator.save(
            self.conn,
            self.principal,
            _id(project_id, "project_id"),
            body,
            expected=body.version,
            max_bytes=self.max_state_bytes,
        )
        return orchestrator.view(row)

    async def get_state(self, project_id: Id, *, state_key: str | None = None) -> OrchestratorState:
        key = self._state_key(state_key)
        row = await orchestrator.get(self.conn, self.principal, _id(project_id, "project_id"), key)
        return orchestrator.view(row)

    async def state_history(
        self,
        project_id: Id,
        *,
        state_key: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[StateVersion]:
        page = _paged(limit, offset)
        project = _id(project_id, "project_id")
        key = self._state_key(state_key)
        rows, total = await orchestrator.history(self.conn, self.principal, project, key, page)
        return page_of([orchestrator.version_view(r) for r in rows], total, page)

    def _state_key(self, state_key: str | None) -> str:
        # The same rules as a saved key's (StateSave.state_key).
        return _body(StateSave, state_data={}, state_key=state_key or DEFAULT_KEY).state_key

    async def report_event(
        self,
        event_type: str,
        *,
        project_id: Id | None = None,
        story_id: Id | None = None,
        summary: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditEntry:
        body = _body(
            EventIn,
            event_type=event_type,
            project_id=project_id,
            story_id=story_id,
            summary=summary,
            data=data,
        )
        return queries.view(await events.report(self.conn, self.principal, body))
