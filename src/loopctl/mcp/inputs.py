"""The REST API's input rules for calls that skip HTTP: its models, ids and pages.

``services.ServiceBackend`` builds each body with the endpoint's own input model, so the same
limits apply; a refusal becomes the 422 ``validation_error`` REST answers, fields named as
the domain names them.
"""

from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as ModelError

from loopctl.audit.schemas import Word
from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, Pagination
from loopctl.kit.schemas import Page, PageMeta
from loopctl.mcp.backend import Id
from loopctl.platform.errors import UnprocessableEntity, validation_details

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
WORD = TypeAdapter(Word)
_ID = TypeAdapter(UUID)


def checked(adapter: TypeAdapter[T], value: Any, field: str) -> T:
    try:
        return adapter.validate_python(value)
    except ModelError as exc:
        raise invalid(exc, field) from None


def invalid(exc: ModelError, prefix: str = "") -> UnprocessableEntity:
    details = validation_details(exc.errors())
    for detail in details:
        detail["field"] = ".".join(p for p in (prefix, detail["field"]) if p)
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return UnprocessableEntity(f"Validation failed: {fields}", details={"errors": details})


def body_of(model: type[M], **fields: Any) -> M:
    """``model`` from the fields given (``None``: not sent, so the model's default applies)."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ModelError as exc:
        raise invalid(exc) from None


def as_id(value: Id, field: str) -> UUID:
    return value if isinstance(value, UUID) else checked(_ID, value, field)


def maybe_id(value: Id | None, field: str) -> UUID | None:
    return None if value is None else as_id(value, field)


def paged(limit: int | None, offset: int | None) -> Pagination:
    """A page as REST's ``pagination`` allows it (its bounds keep OFFSET inside a bigint)."""
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise UnprocessableEntity.for_field("limit", f"must be between 1 and {MAX_LIMIT}")
    if offset is not None and not 0 <= offset <= MAX_OFFSET:
        raise UnprocessableEntity.for_field("offset", f"must be between 0 and {MAX_OFFSET}")
    return Pagination(limit=limit or DEFAULT_LIMIT, offset=offset or 0)


def whole(items: list[M]) -> Page[M]:
    # As REST's: these lists are bounded by the story, one page.
    meta = PageMeta(total=len(items), total_count=len(items), limit=len(items), offset=0)
    return Page[M](data=items, meta=meta)


class Bound:
    """One tool call's connection (in its transaction), caller and server limits."""

    def __init__(self, conn: Connection, principal: Principal, max_state_bytes: int) -> None:
        self.conn = conn
        self.principal = principal
        self.max_state_bytes = max_state_bytes
