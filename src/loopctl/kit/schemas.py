"""Base classes for request and response bodies."""

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

T = TypeVar("T")


def _utc(value: datetime) -> str:
    # Sessions run in UTC (db.conninfo), so values read back need no conversion.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # Formatted from the fields: an aware datetime's isoformat() costs about three times
    # as much, and every timestamp of every response comes through here.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


# Every timestamp leaves the server as ISO 8601 in UTC with a Z suffix.
Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=str)]

# Timestamps that arrive from outside: with a UTC offset, and between these after conversion
# to UTC. An offset can push 9999-12-31 past what a datetime holds (an OverflowError, once a
# 500); the floor keeps values PostgreSQL, Python and every client agree on.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_RANGE = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"
# Expiries further ahead than this are a typo, not a plan (a key that never expires omits it).
EXPIRY_HORIZON = timedelta(days=36_525)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(_RANGE) from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(_RANGE)
    return utc


def _within_horizon(value: datetime) -> datetime:
    if value > datetime.now(UTC) + EXPIRY_HORIZON:
        raise ValueError("must be at most 100 years from now")
    return value


def _naive_is_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Every datetime field of a request body uses one of these.
InputTimestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
# For documents written by other software (the reference's exports), whose timestamps may
# lack an offset: those are read as UTC, then bounded like the others.
LenientTimestamp = Annotated[datetime, AfterValidator(_naive_is_utc), AfterValidator(_in_range)]
ExpiryTimestamp = Annotated[InputTimestamp, AfterValidator(_within_horizon)]

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
    total_count: int = Field(
        description="The same as total, under the name the reference's clients page by"
    )
    limit: int
    offset: int


class Page(BaseModel, Generic[T]):
    """The list envelope."""

    data: list[T]
    meta: PageMeta


# Deeper than this is surely a mistake, and orjson refuses to encode past 255 levels.
METADATA_MAX_DEPTH = 64
# PostgreSQL's jsonb rejects NUL (\u0000) and UTF-8 cannot carry an unpaired surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_INT_RANGE = range(-(2**63), 2**63)
_FLOAT_LIMIT = float(2**63)


def _storable(value: Any, path: str, depth: int) -> None:
    """Raise ValueError naming the first part of ``value`` that jsonb cannot store as given."""
    if isinstance(value, dict | list) and depth > METADATA_MAX_DEPTH:
        raise ValueError(f"nests objects and arrays more than {METADATA_MAX_DEPTH} deep")
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise ValueError(f"{path} contains a NUL character or an unpaired surrogate")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if value not in _INT_RANGE:
            raise ValueError(f"{path} is an integer outside the 64-bit range")
    elif isinstance(value, float):
        # orjson would silently write NaN and Infinity as null; and jsonb gives 1e300 back
        # as a 301-digit integer, which orjson then cannot write (in the next audit entry).
        if not math.isfinite(value):
            raise ValueError(f"{path} is not a finite number")
        if abs(value) >= _FLOAT_LIMIT:
            raise ValueError(f"{path} is a number outside the 64-bit integer range")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                raise ValueError(f"a key in {path} contains a NUL character or unpaired surrogate")
            _storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _storable(item, f"{path}[{index}]", depth + 1)
    else:
        raise ValueError(f"{path} is not a JSON value")


def storable(value: dict[str, Any], field: str) -> None:
    """Raise ValueError naming the part of ``field``'s object that jsonb cannot store as given."""
    _storable(value, field, 1)


def metadata_size_ok(value: dict[str, Any]) -> dict[str, Any]:
    """Size-limited, and storable as given: what would fail in PostgreSQL or change on the way
    (NUL, unpaired surrogates, NaN, huge integers, absurd nesting) is a validation error."""
    _storable(value, "metadata", 1)
    if len(orjson.dumps(value)) > METADATA_MAX_BYTES:
        raise ValueError(f"must serialize to at most {METADATA_MAX_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(metadata_size_ok)]
