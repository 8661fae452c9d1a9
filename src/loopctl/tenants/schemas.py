"""Tenant request and response bodies."""

from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from loopctl.api_keys.schemas import ApiKeyCreated
from loopctl.kit.schemas import Email, Input, Name, Output, Slug, Timestamp
from loopctl.tenants.settings import TenantSettings, TenantSettingsPatch


class TenantLimits(Output):
    """Set by the server's operator (LOOPCTL_* settings); tenants cannot change them."""

    rate_limit_per_minute: int = Field(description="Requests per minute per API key")
    max_api_keys: int = Field(description="Live (unrevoked, unexpired) keys per tenant")


class Tenant(Output):
    id: UUID
    name: str
    slug: str
    email: str | None
    status: Literal["active", "suspended"]
    settings: TenantSettings
    limits: TenantLimits
    created_at: Timestamp
    updated_at: Timestamp


class TenantRegister(Input):
    name: Name
    slug: Slug = Field(description="Lowercase letters, digits and '-', 2-63 characters; unique")
    email: Email | None = Field(default=None, description="Contact address")


class TenantUpdate(Input):
    name: Name | None = None
    email: Email | None = Field(default=None, description="null clears it")
    settings: TenantSettingsPatch | None = Field(
        default=None, description="Only the settings given change; unknown settings are rejected"
    )

    # Field validators, not a model validator, so that the 422 names the field
    # (body.name), not the whole body. They run only for values the client sent.
    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("name cannot be null")
        return value

    @field_validator("settings")
    @classmethod
    def _settings_not_null(cls, value: TenantSettingsPatch | None) -> TenantSettingsPatch | None:
        if value is None:
            raise ValueError("settings cannot be null; send an object with the settings to change")
        return value


class TenantRegistered(Output):
    tenant: Tenant
    api_key: ApiKeyCreated = Field(description="The tenant's first user key, shown only here")
