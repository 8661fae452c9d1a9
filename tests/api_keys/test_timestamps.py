"""Timestamps in request bodies are bounded: extreme values and offsets are a 422, never a 500.

The key expiries are the only datetime fields of today's bodies; the last test walks every
body schema so that a new datetime field cannot arrive without the bound.
"""

import types
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import AwareDatetime, BaseModel, FutureDatetime, NaiveDatetime, PastDatetime

import loopctl.platform.app  # noqa: F401  (imports every domain's schemas)
from loopctl.kit import schemas as kit
from tests.fixtures.factories import Key
from tests.fixtures.http import API, data_of, invalid

KEYS = f"{API}/api_keys"
DATETIMES = (datetime, AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)

# Each is outside the bounds once converted to UTC; several overflow Python's datetime.
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC: the 500 of the issue
    "9999-12-31T23:59:59+14:00",  # representable, but 8,000 years ahead
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC
    "0001-01-01T00:00:00-14:00",
    "1970-01-01T00:00:00+14:00",  # 1969 in UTC
    "1969-12-31T23:59:59Z",
    "+10000-01-01T00:00:00Z",
    "2030-01-01T00:00:00",  # no offset
]


def in_years(years: int, offset: str = "Z") -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365 * years)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_create_refuses_an_expiry_out_of_range(
    client: httpx.AsyncClient, user_key: Key, value: str
) -> None:
    body = {"name": "far", "role": "user", "expires_at": value}
    invalid(await client.post(KEYS, json=body, headers=user_key.headers), "body.expires_at")
    # The connection and the app are still fine: the next request succeeds.
    data_of(await client.get(KEYS, headers=user_key.headers))


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_rotate_refuses_an_expiry_out_of_range_and_leaves_the_key_active(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key, value: str
) -> None:
    response = await client.post(
        f"{KEYS}/{agent_key.id}/rotate", json={"expires_at": value}, headers=user_key.headers
    )
    invalid(response, "body.expires_at")
    shown = data_of(await client.get(f"{KEYS}/{agent_key.id}", headers=user_key.headers))
    assert shown["status"] == "active"


@pytest.mark.parametrize("offset", ["+14:00", "-14:00", "Z"])
async def test_expiries_within_the_horizon_are_accepted_in_utc_whatever_the_offset(
    client: httpx.AsyncClient, user_key: Key, agent_key: Key, offset: str
) -> None:
    value = in_years(99, offset)
    expected = datetime.fromisoformat(value).astimezone(UTC)
    body = {"name": "long", "role": "user", "expires_at": value}
    created = data_of(await client.post(KEYS, json=body, headers=user_key.headers), 201)
    assert datetime.fromisoformat(created["expires_at"]) == expected
    response = await client.post(
        f"{KEYS}/{agent_key.id}/rotate", json={"expires_at": value}, headers=user_key.headers
    )
    rotated = data_of(response, 201)
    assert datetime.fromisoformat(rotated["new_key"]["expires_at"]) == expected


async def test_an_expiry_past_the_horizon_names_the_bound(
    client: httpx.AsyncClient, user_key: Key
) -> None:
    body = {"name": "far", "role": "user", "expires_at": in_years(101, "+14:00")}
    errors = invalid(await client.post(KEYS, json=body, headers=user_key.headers))
    assert [e["field"] for e in errors] == ["body.expires_at"]
    assert "100 years" in errors[0]["message"]


def _body_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [kit.Input]
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def _unbounded_datetimes(annotation: Any, bounded: bool = False) -> int:
    """How many datetimes in ``annotation`` lack the kit's range validator."""
    if annotation in DATETIMES:
        return 0 if bounded else 1
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extras = typing.get_args(annotation)
        checked = bounded or any(getattr(e, "func", None) is kit._in_range for e in extras)
        return _unbounded_datetimes(inner, checked)
    if origin in (typing.Union, types.UnionType, list, tuple, set, dict):
        return sum(_unbounded_datetimes(arg, bounded) for arg in typing.get_args(annotation))
    return 0


def test_every_datetime_field_of_every_body_is_bounded() -> None:
    models = _body_models()
    assert any(m.__name__ == "ApiKeyCreate" for m in models)
    unbounded = []
    checked = 0
    for model in models:
        for name, field in model.model_fields.items():
            # pydantic moves a field's outer Annotated metadata into field.metadata.
            annotation: Any = field.annotation
            if field.metadata:
                annotation = typing.Annotated[(annotation, *field.metadata)]
            if "datetime" in repr(annotation).lower():
                checked += 1
            if _unbounded_datetimes(annotation):
                unbounded.append(f"{model.__module__}.{model.__name__}.{name}")
    assert checked >= 2
    assert not unbounded, f"use kit.schemas.InputTimestamp for {unbounded}"
