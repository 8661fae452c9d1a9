"""OpenAPI: the error envelope's schema and the error responses a route declares.

Routes declare their own business errors with ``responses=errors(...)``;
``platform.openapi.complete_schema`` adds what every guarded route shares.
"""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from loopctl.platform.errors import AppError

PUBLIC_NOTE = "**Public**: no API key needed; any role, or none, may call it."


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status, repeated")
    code: str = Field(description="Stable machine-readable code; match on this, not on message")
    message: str = Field(description="Human-readable explanation")
    details: dict[str, Any] | None = Field(
        default=None,
        description="Structured context; validation errors list each field in details.errors",
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


def describe(codes: Iterable[str]) -> str:
    return "Error codes: " + ", ".join(f"`{c}`" for c in dict.fromkeys(codes))


def errors(*classes: type[AppError]) -> dict[int | str, dict[str, Any]]:
    by_status: dict[int, list[str]] = {}
    for cls in classes:
        by_status.setdefault(cls.status, []).append(cls.code)
    return {
        status: {"model": ErrorBody, "description": describe(codes)}
        for status, codes in by_status.items()
    }
