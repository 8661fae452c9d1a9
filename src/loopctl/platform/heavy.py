"""A per-tenant bound on the requests whose cost grows with a whole project.

Heavy routes: the dependency graph, the critical path, export and import (each reads or
writes a whole project, unpaged). A tenant may run ``LOOPCTL_HEAVY_REQUESTS_PER_TENANT`` of
them at once in one server process; one more is refused at once with 429
``too_many_heavy_requests`` rather than queued: the request already holds a pooled
connection (authentication runs on it), so waiting would let one tenant drain the pool that
every tenant shares. Paged reads (lists, ready, blocked) are not capped; every statement is
bounded by ``LOOPCTL_STATEMENT_TIMEOUT_MS``.

One event loop per process: the counts need no lock.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from loopctl.auth.principal import Principal
from loopctl.platform.errors import AppError

RETRY_AFTER_SECONDS = 1


class TooManyHeavyRequests(AppError):
    status = 429
    code = "too_many_heavy_requests"
    default_message = "Too many heavy requests at once for this tenant"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This tenant already has {limit} heavy request(s) (graph, critical path, import, "
            f"export) running on this server; retry after {RETRY_AFTER_SECONDS} s",
            details={"limit": limit, "retry_after_seconds": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class HeavyLimiter:
    """Counts each tenant's heavy requests in flight; 0 means no cap."""

    def __init__(self, per_tenant: int) -> None:
        self.per_tenant = per_tenant
        self._running: dict[UUID | None, int] = {}

    def running(self, tenant_id: UUID | None) -> int:
        return self._running.get(tenant_id, 0)

    @asynccontextmanager
    async def slot(self, principal: Principal) -> AsyncIterator[None]:
        """Hold one of the tenant's slots for the body of the ``async with``."""
        tenant = principal.tenant_id
        running = self._running.get(tenant, 0)
        if self.per_tenant and running >= self.per_tenant:
            raise TooManyHeavyRequests(self.per_tenant)
        self._running[tenant] = running + 1
        try:
            yield
        finally:
            left = self._running[tenant] - 1
            if left:
                self._running[tenant] = left
            else:
                del self._running[tenant]
