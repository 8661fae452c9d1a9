"""Base classes for request and response bodies."""

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

T = TypeVar("T")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# Every timestamp leaves the server as ISO 8601 in UTC with a Z suffix.
Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=str)]

# Text that arrives from outside: no NUL (PostgreSQL rejects it), no surrounding blanks.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
Slug = Annotated[
    str,
    StringConstraints(min_length=2, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])$"),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
    ),
]

# JSON objects supplied by clients are stored as given, within a size limit.
METADATA_MAX_BYTES = 16_384


class Input(BaseModel):
    """A request body: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Output(BaseModel):
    """A response body built from the typed rows that repositories return."""

    model_config = ConfigDict(from_attributes=True)


class Item(BaseModel, Generic[T]):
    """The single-resource envelope."""

    data: T


class PageMeta(BaseModel):
    total: int = Field(description="Rows matching the filters, ignoring limit and offset")
    limit: int
    offset: int


class Page(BaseModel, Generic[T]):
    """The list envelope."""

    data: list[T]
    meta: PageMeta


def metadata_size_ok(value: dict[str, Any]) -> dict[str, Any]:
    if len(orjson.dumps(value)) > METADATA_MAX_BYTES:
        raise ValueError(f"must serialize to at most {METADATA_MAX_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(metadata_size_ok)]
