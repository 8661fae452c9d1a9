"""``sort=field,-other`` parsing into a safe ORDER BY clause."""

from collections.abc import Mapping

from psycopg import sql

from loopctl.platform.errors import UnprocessableEntity


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
            allowed = ", ".join(sorted(columns))
            raise UnprocessableEntity.for_field(
                "query.sort", f"cannot sort by {name!r}; choose from {allowed}"
            )
        direction = sql.SQL("DESC") if descending else sql.SQL("ASC")
        parts.append(sql.SQL("{} {}").format(sql.Identifier(columns[name]), direction))
    parts.append(sql.SQL("id {}").format(direction))
    return sql.SQL("ORDER BY ") + sql.SQL(", ").join(parts)
