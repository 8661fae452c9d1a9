"""Orchestrator state request and response bodies, with the reference's field names."""

from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from loopctl.kit.fields import INT32_MAX, NO_NUL, not_bool
from loopctl.kit.schemas import Input, Output, Timestamp, storable

DEFAULT_KEY = "main"
CURSOR_MAX = 1000

StateKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NO_NUL),
    Field(description="Which of the project's checkpoints (default main)"),
]


def _storable_state(value: dict[str, Any]) -> dict[str, Any]:
    # Its size is checked by the service against LOOPCTL_MAX_STATE_BYTES (a 413, not a 422).
    storable(value, "state_data")
    return value


StateData = Annotated[
    dict[str, Any],
    AfterValidator(_storable_state),
    Field(description="The orchestrator's state: any JSON object, stored and returned as given"),
]
Version = Annotated[
    int,
    BeforeValidator(not_bool),
    Field(
        ge=0,
        le=INT32_MAX,
        description="The version you last read (0 or absent: create the first version)",
    ),
]
Cursor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CURSOR_MAX, pattern=NO_NUL),
    Field(
        description="A change-feed cursor (meta.next_cursor of GET /api/v1/changes) stored "
        "with the state, so that a resumed orchestrator reads the events after this checkpoint"
    ),
]


class StateSave(Input):
    state_key: StateKey = DEFAULT_KEY
    state_data: StateData
    version: Version | None = None
    cursor: Cursor | None = None


class OrchestratorState(Output):
    id: UUID = Field(description="The checkpoint's id, the same in every version")
    tenant_id: UUID
    project_id: UUID
    state_key: str
    state_data: dict[str, Any]
    cursor: str | None
    version: int
    saved_by: str = Field(description="The label of the key that saved this version")
    saved_by_agent_id: UUID | None
    inserted_at: Timestamp = Field(description="When version 1 was saved")
    updated_at: Timestamp = Field(description="When this version was saved")


class StateVersion(Output):
    version: int
    state_data: dict[str, Any]
    cursor: str | None
    saved_by: str
    saved_by_agent_id: UUID | None
    saved_at: Timestamp
