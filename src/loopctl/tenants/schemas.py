"""Tenant request and response bodies."""

from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

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

    @model_validator(mode="after")
    def _name_not_null(self) -> Self:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        if "settings" in self.model_fields_set and self.settings is None:
            raise ValueError("settings cannot be null; send an object with the settings to change")
        return self


class TenantRegistered(Output):
    tenant: Tenant
    api_key: ApiKeyCreated = Field(description="The tenant's first user key, shown only here")
