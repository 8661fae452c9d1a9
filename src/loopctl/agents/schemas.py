"""Agent request and response bodies."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from loopctl.kit.fields import NO_NUL
from loopctl.kit.schemas import Input, Metadata, Name, Output, Timestamp

AgentType = Literal["implementer", "orchestrator"]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
]


class Agent(Output):
    id: UUID
    name: str
    agent_type: AgentType = Field(
        description="implementer (holds agent keys) or orchestrator (planner/verifier, "
        "holds orchestrator keys)"
    )
    model: str | None = Field(description="Model the agent runs, e.g. claude-opus-4")
    provider: str | None = Field(description="Model provider, e.g. anthropic")
    metadata: dict[str, object]
    last_seen_at: Timestamp | None = Field(
        description="Last authenticated request by one of its keys (updated every few seconds)"
    )
    created_at: Timestamp
    updated_at: Timestamp


class AgentRegister(Input):
    name: Name = Field(description="Unique within the tenant")
    agent_type: AgentType
    model: Label | None = None
    provider: Label | None = None
    metadata: Metadata = Field(default_factory=dict)
