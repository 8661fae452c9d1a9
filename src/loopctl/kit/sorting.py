"""``sort=field,-other`` parsing into a safe ORDER BY clause, with the reference's
``sort_by``/``sort_order`` accepted as aliases."""

from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from fastapi import Query
from psycopg import sql

from loopctl.platform.errors import UnprocessableEntity

# Field names the reference uses where ours differ: its rows carry inserted_at.
FIELD_ALIASES = {"inserted_at": "created_at"}


def order_by(sort: str | None, columns: Mapping[str, str], default: str) -> sql.Composed:
    """Build ``ORDER BY`` from a comma list of fields, ``-`` meaning descending.

    ``columns`` maps each public field name to its column; anything else is a 422.
    The id is always the last key so equal values page deterministically. Ids are
    UUIDv7 (time-ordered), so it follows the last key's direction: rows created in
    the same transaction share ``created_at`` yet still list newest-first under
    ``-created_at``.
    """
    parts: list[sql.Composable] = []
    direction = sql.SQL("ASC")
    for raw in (sort or default).split(","):
        name = raw.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in columns:
            name = FIELD_ALIASES.get(name, name)
        if name not in columns:
            allowed = ", ".join(sorted(columns))
            raise UnprocessableEntity.for_field(
                "query.sort", f"cannot sort by {name!r}; choose from {allowed}"
            )
        direction = sql.SQL("DESC") if descending else sql.SQL("ASC")
        parts.append(sql.SQL("{} {}").format(sql.Identifier(columns[name]), direction))
    parts.append(sql.SQL("id {}").format(direction))
    return sql.SQL("ORDER BY ") + sql.SQL(", ").join(parts)


def combine(sort: str | None, sort_by: str | None, sort_order: str | None) -> str | None:
    """One ``sort`` value from ours or the reference's pair (``sort_by`` is one field,
    ascending unless ``sort_order=desc``)."""
    if sort_by is None:
        if sort_order is not None:
            raise UnprocessableEntity.for_field(
                "query.sort_order", "sort_order needs sort_by (or use sort=-field)"
            )
        return sort
    if sort is not None:
        raise UnprocessableEntity.for_field("query.sort_by", "give sort or sort_by, not both")
    return ("-" if sort_order == "desc" else "") + sort_by


def sort_query(fields: str, default: str) -> Callable[..., str | None]:
    """The sort parameters of a list endpoint, as one dependency giving ``str | None``:
    ``Annotated[str | None, Depends(sort_query(...))]``. ``fields`` names the sortable
    fields for the OpenAPI text.
    """

    def sorting(
        sort: Annotated[
            str | None,
            Query(
                max_length=200,
                description=f"Comma-separated fields, '-' for descending: {fields} "
                f"(default {default})",
            ),
        ] = None,
        sort_by: Annotated[
            str | None,
            Query(
                pattern=r"^[a-z_]{1,50}$",
                description="Alias (the reference's): one field to sort by",
            ),
        ] = None,
        sort_order: Annotated[
            Literal["asc", "desc"] | None,
            Query(description="Alias (with sort_by): asc (default) or desc"),
        ] = None,
    ) -> str | None:
        return combine(sort, sort_by, sort_order)

    return sorting
