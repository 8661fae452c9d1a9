"""Audit entry response bodies and the query parameters that filter them."""

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query
from pydantic import Field, StringConstraints

from loopctl.kit.fields import NO_NUL
from loopctl.kit.schemas import Input, InputTimestamp, Metadata, Output, Timestamp

# Entity types and actions are short words ("story", "verified"); longer input is a mistake.
Word = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]

EntityTypeQuery = Annotated[Word | None, Query(description="Only entries about this entity type")]
ActionQuery = Annotated[Word | None, Query(description="Only entries with this action")]
ProjectQuery = Annotated[UUID | None, Query(description="Only entries of this project")]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The filters of an audit search, each a query parameter of GET /audit; None: any."""

    entity_type: EntityTypeQuery = None
    entity_id: Annotated[UUID | None, Query(description="Only entries about this entity")] = None
    action: ActionQuery = None
    actor: Annotated[
        UUID | None, Query(description="Only entries made by this agent id or API key id")
    ] = None
    project_id: ProjectQuery = None
    start: Annotated[
        InputTimestamp | None,
        Query(alias="from", description="Only entries at or after this time (ISO 8601)"),
    ] = None
    end: Annotated[
        InputTimestamp | None,
        Query(alias="to", description="Only entries at or before this time (ISO 8601)"),
    ] = None


class AuditEntry(Output):
    id: UUID
    project_id: UUID | None = Field(description="The project the entity belongs to, if any")
    entity_type: str = Field(description="story, epic, project, agent, api_key, ...")
    entity_id: UUID
    action: str = Field(description="created, updated, claimed, verified, ...")
    actor_role: str = Field(description="The role of the key that made the change")
    actor_key_id: UUID | None
    actor_agent_id: UUID | None
    actor_label: str = Field(description="Who made the change, for people to read")
    before: dict[str, Any] | None = Field(description="The entity before the change")
    after: dict[str, Any] | None = Field(description="The entity after the change")
    request_id: str | None = Field(description="The request that made the change")
    created_at: Timestamp = Field(description="When the writing transaction began")


class EventIn(Input):
    """An event an orchestrator reports about its own work (the observe pattern)."""

    event_type: Annotated[
        str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.:-]*$")
    ] = Field(description='What happened, e.g. "session_started", "rule_violation"')
    project_id: UUID | None = Field(default=None, description="The project it concerns")
    story_id: UUID | None = Field(default=None, description="The story it concerns")
    summary: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | None = None
    data: Metadata = Field(default_factory=dict, description="Structured details")
