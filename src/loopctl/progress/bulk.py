"""Bulk transitions and verify-all: each item passes exactly its single endpoint's checks.

Items are processed in ascending story id (so two bulk calls lock rows in the same order
and cannot deadlock), in the caller's one transaction. A refused item is reported and the
others go on: every refusal is raised before its item writes anything but the audit entry
of a blocked self-action, which is meant to stay.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.database.connections import Connection
from loopctl.epics import service as epics
from loopctl.platform.errors import AppError
from loopctl.progress import records, repository, service
from loopctl.progress.schemas import (
    BackfillIn,
    BulkMeta,
    BulkResult,
    BulkResults,
    ItemError,
    RejectIn,
    VerifyAllIn,
    VerifyAllResult,
    VerifyIn,
)

T = TypeVar("T")

# Errors an item may end with; anything else is unexpected and fails the whole request.
ITEM_ERRORS = (AppError,)


async def _each(
    items: Sequence[T], story_of: Callable[[T], UUID], act: Callable[[T], Awaitable[object]]
) -> list[BulkResult]:
    results = []
    for item in sorted(items, key=lambda i: story_of(i).bytes):
        try:
            await act(item)
        except ITEM_ERRORS as exc:
            results.append(_failed(story_of(item), exc))
        else:
            results.append(BulkResult(story_id=story_of(item), status="success"))
    return results


async def _each_item(
    ids: Sequence[UUID], items: Sequence[T], act: Callable[[UUID, T], Awaitable[object]]
) -> BulkResults:
    """``act`` on each story id with its item (the two lists are aligned), as ``_each``."""
    pairs = list(zip(ids, items, strict=True))
    return _envelope(await _each(pairs, lambda p: p[0], lambda p: act(*p)))


def _failed(story_id: UUID, exc: AppError) -> BulkResult:
    return BulkResult(
        story_id=story_id,
        status="error",
        error=ItemError(code=exc.code, message=exc.message),
        reason=exc.message,
    )


def _envelope(results: list[BulkResult]) -> BulkResults:
    ok = sum(1 for r in results if r.status == "success")
    return BulkResults(data=results, meta=BulkMeta(succeeded=ok, failed=len(results) - ok))


async def claim(conn: Connection, principal: Principal, story_ids: list[UUID]) -> BulkResults:
    return _envelope(
        await _each(story_ids, lambda i: i, lambda i: service.claim(conn, principal, i))
    )


async def verify(
    conn: Connection, principal: Principal, items: Sequence[VerifyIn], ids: Sequence[UUID]
) -> BulkResults:
    return await _each_item(ids, items, lambda i, item: service.verify(conn, principal, i, item))


async def reject(
    conn: Connection, principal: Principal, items: Sequence[RejectIn], ids: Sequence[UUID]
) -> BulkResults:
    return await _each_item(ids, items, lambda i, item: service.reject(conn, principal, i, item))


async def backfill(
    conn: Connection, principal: Principal, items: Sequence[BackfillIn], ids: Sequence[UUID]
) -> BulkResults:
    return await _each_item(ids, items, lambda i, item: records.backfill(conn, principal, i, item))


async def verify_all(
    conn: Connection, principal: Principal, epic_id: UUID, body: VerifyAllIn
) -> VerifyAllResult:
    """Verify every reported, unverified story of an epic, each with verify's full checks."""
    await epics.get(conn, principal, epic_id)
    eligible = await repository.reported_unverified(conn, epic_id)
    verdict = VerifyIn(summary=body.summary, review_type=body.review_type, findings=body.findings)
    results = await _each(
        eligible, lambda i: i, lambda i: service.verify(conn, principal, i, verdict)
    )
    errors = [r for r in results if r.status == "error"]
    return VerifyAllResult(
        verified_count=len(results) - len(errors),
        skipped_count=len(errors),
        total_eligible=len(eligible),
        errors=errors,
    )
