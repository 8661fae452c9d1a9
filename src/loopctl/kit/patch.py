"""PATCH semantics shared by every domain: a field left out of the body keeps its value."""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel


def values_of(source: object, names: Iterable[str]) -> dict[str, Any]:
    """The named fields of a body or a row, as the column values a repository writes."""
    return {name: getattr(source, name) for name in names}


def patched(body: BaseModel, current: object, editable: Iterable[str]) -> dict[str, Any]:
    """The editable fields after the PATCH: each one the body gives, else its current value
    (a field given as null is given)."""
    given = body.model_fields_set
    return {name: getattr(body if name in given else current, name) for name in editable}


def unchanged(values: Mapping[str, Any], current: object) -> bool:
    """True when writing ``values`` would change nothing: such a PATCH writes no row and no
    audit entry."""
    return all(getattr(current, name) == value for name, value in values.items())
