"""Field types and helpers that several domains' request bodies share."""

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, StringConstraints, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

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


def at_fields(
    model: BaseModel, fields: Sequence[str], message: str, kind: str = "cross_field"
) -> ValidationError:
    """A cross-field error located at each offending field (body.agent_id), not at the body.

    A ValueError raised in a model validator is located at the whole model; pydantic keeps
    the locations of a ValidationError raised there instead.
    """
    return ValidationError.from_exception_data(
        type(model).__name__,
        [
            InitErrorDetails(
                type=PydanticCustomError(kind, message),
                loc=(name,),
                input=getattr(model, name),
            )
            for name in fields
        ],
    )
