"""Tenant settings: typed, validated, and limited to what a tenant may decide for itself.

Rate limits and quotas are the operator's (LOOPCTL_* settings) and are not here, so a
tenant cannot raise them.
"""

from uuid import UUID

from pydantic import Field, field_validator

from loopctl.database.connections import Connection
from loopctl.kit.schemas import Input
from loopctl.tenants import repository


class TenantSettings(Input):
    api_key_rotation_grace_hours: int = Field(
        default=24,
        ge=0,
        le=168,
        description="Default hours a rotated key keeps working (0-168)",
    )
    api_key_default_ttl_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Expiry given to new keys created without expires_at; null: never expire",
    )
    lease_ttl_seconds: int = Field(
        default=1800,
        ge=60,
        le=86_400,
        description="How long a claim holds a story without a heartbeat (60-86400 s)",
    )
    auto_reset_on_rejection: bool = Field(
        default=True, description="A rejected story goes back to pending for another claim"
    )
    require_criteria_for_verify: bool = Field(
        default=False,
        description="verify needs a passed or failed result for every acceptance criterion",
    )


class TenantSettingsPatch(Input):
    """Any subset of the settings; fields left out keep their value."""

    api_key_rotation_grace_hours: int | None = Field(default=None, ge=0, le=168)
    api_key_default_ttl_days: int | None = Field(default=None, ge=1, le=3650)
    lease_ttl_seconds: int | None = Field(default=None, ge=60, le=86_400)
    auto_reset_on_rejection: bool | None = None
    require_criteria_for_verify: bool | None = None

    # A field validator (runs only when the client sent the field) so the 422 names it.
    @field_validator(
        "api_key_rotation_grace_hours",
        "lease_ttl_seconds",
        "auto_reset_on_rejection",
        "require_criteria_for_verify",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("this setting cannot be null")
        return value

    def apply(self, current: TenantSettings) -> TenantSettings:
        return TenantSettings.model_validate(
            {**current.model_dump(), **self.model_dump(include=self.model_fields_set)}
        )


def parse(stored: dict[str, object]) -> TenantSettings:
    # Keys from a later version that this one does not know are ignored, not fatal.
    known = {k: v for k, v in stored.items() if k in TenantSettings.model_fields}
    return TenantSettings.model_validate(known)


async def load(conn: Connection, tenant_id: UUID, *, lock: bool = False) -> TenantSettings:
    """The tenant's settings; ``lock`` also serializes the caller with other lockers."""
    return parse(await repository.get_settings(conn, tenant_id, lock=lock))
