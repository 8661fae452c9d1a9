"""``limit``/``offset`` pagination, with the reference's ``page``/``page_size`` as aliases."""

from collections.abc import Sequence
from typing import Annotated, NamedTuple, TypeVar

from fastapi import Depends, Query

from loopctl.kit.schemas import Page, PageMeta
from loopctl.platform.errors import UnprocessableEntity

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Beyond any real list, and far inside PostgreSQL's bigint OFFSET (larger values were a 500).
MAX_OFFSET = 1_000_000_000

T = TypeVar("T")


class Pagination(NamedTuple):
    limit: int
    offset: int


def pagination(
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_LIMIT, description=f"Page size, default {DEFAULT_LIMIT}")
    ] = None,
    offset: Annotated[
        int | None, Query(ge=0, le=MAX_OFFSET, description="Rows to skip, default 0")
    ] = None,
    page: Annotated[
        int | None,
        Query(ge=1, le=MAX_OFFSET // MAX_LIMIT, description="Alias: 1-based page number"),
    ] = None,
    page_size: Annotated[
        int | None, Query(ge=1, le=MAX_LIMIT, description="Alias of limit")
    ] = None,
) -> Pagination:
    if limit is not None and page_size is not None:
        raise UnprocessableEntity.for_field("query.page_size", "give limit or page_size, not both")
    if page is not None and offset is not None:
        raise UnprocessableEntity.for_field("query.page", "give offset or page, not both")
    size = limit or page_size or DEFAULT_LIMIT
    start = (page - 1) * size if page is not None else (offset or 0)
    return Pagination(limit=size, offset=start)


PageParams = Annotated[Pagination, Depends(pagination)]


def page_of(rows: Sequence[T], total: int, params: Pagination) -> Page[T]:
    # total_count repeats total for clients written for the reference, whose lists use it.
    meta = PageMeta(total=total, total_count=total, limit=params.limit, offset=params.offset)
    return Page[T](data=list(rows), meta=meta)
