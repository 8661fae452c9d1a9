"""Field types and helpers that several domains' request bodies share."""

from typing import Annotated, Any, TypeVar

from pydantic import Field, StringConstraints

T = TypeVar("T")
# Text with a NUL byte cannot reach PostgreSQL; reject it as a validation error instead.
NO_NUL = r"^[^\x00]*$"
INT32_MAX = 2_147_483_647

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)
]
Description = Annotated[str, StringConstraints(max_length=50_000, pattern=NO_NUL)]


def not_bool(value: object) -> object:
    """Before-validator for integers: JSON true would otherwise pass as the integer 1."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


def not_null(value: T | None) -> T:
    """Validator for PATCH fields that may be omitted but not cleared."""
    if value is None:
        raise ValueError("cannot be null; omit the field to leave it unchanged")
    return value


def _without_null(schema: dict[str, Any]) -> None:
    options = [s for s in schema.pop("anyOf", []) if s != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    if "default" in schema and schema["default"] is None:
        del schema["default"]


def omittable(**kwargs: Any) -> Any:
    """A PATCH field that may be left out but not set to null (pair it with ``not_null``).

    Typed ``X | None`` so that omitting it works; documented as plain ``X``.
    """
    return Field(default=None, json_schema_extra=_without_null, **kwargs)
