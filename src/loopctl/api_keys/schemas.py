"""API key request and response bodies."""

from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from loopctl.kit.fields import at_fields
from loopctl.kit.schemas import ExpiryTimestamp, Input, Name, Output, Timestamp

KeyRole = Literal["user", "orchestrator", "agent"]
KeyStatus = Literal["active", "rotated", "expired", "revoked"]


class ApiKey(Output):
    id: UUID
    name: str
    key_prefix: str = Field(description="The first characters of the key, safe to show and log")
    role: KeyRole
    agent_id: UUID | None = Field(description="The agent an agent or orchestrator key acts as")
    agent_name: str | None
    status: KeyStatus = Field(
        description="active; rotated (replaced, works until expires_at); expired; revoked"
    )
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    rotated_at: Timestamp | None
    replaces_key_id: UUID | None = Field(description="The key this one replaced by rotation")
    last_used_at: Timestamp | None = Field(description="Updated every few seconds, not per request")
    created_by_key_id: UUID | None
    created_at: Timestamp


class ApiKeyCreated(ApiKey):
    raw_key: str = Field(description="The key itself. Shown only in this response: store it now")


class ApiKeyCreate(Input):
    name: Name
    role: KeyRole = Field(description="No higher than the caller's own role")
    expires_at: ExpiryTimestamp | None = Field(
        default=None,
        description="When the key stops working (ISO 8601 with a UTC offset); default: the "
        "tenant's api_key_default_ttl_days setting, or never",
    )
    agent_id: UUID | None = Field(
        default=None, description="Agent and orchestrator keys: bind to this existing agent"
    )
    agent_name: Name | None = Field(
        default=None,
        description="Agent and orchestrator keys: bind to the agent of this name, creating it "
        "if it does not exist",
    )

    @model_validator(mode="after")
    def _one_agent_reference(self) -> Self:
        given = [name for name in _AGENT_REFS if getattr(self, name) is not None]
        if self.role == "user" and given:
            raise at_fields(
                self,
                given,
                "user keys are not bound to an agent; omit agent_id and agent_name",
                "agent_binding",
            )
        if self.role != "user" and len(given) != 1:
            raise at_fields(
                self,
                _AGENT_REFS,
                f"{self.role} keys are always bound to one agent: give agent_id or agent_name, "
                "not both",
                "agent_binding",
            )
        return self


_AGENT_REFS = ("agent_id", "agent_name")


class ApiKeyRotate(Input):
    grace_period_hours: int | None = Field(
        default=None,
        ge=0,
        le=168,
        description="How long the old key keeps working (0-168); default: the tenant's "
        "api_key_rotation_grace_hours setting",
    )
    expires_at: ExpiryTimestamp | None = Field(
        default=None, description="Expiry of the new key; default as for a new key"
    )


class ApiKeyRotated(Output):
    new_key: ApiKeyCreated
    old_key: ApiKey


def as_created(key: ApiKey, raw_key: str) -> ApiKeyCreated:
    return ApiKeyCreated(**key.model_dump(), raw_key=raw_key)
