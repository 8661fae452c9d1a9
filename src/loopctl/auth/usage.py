"""``last_used_at`` and ``last_seen_at``, recorded in memory and written in batches.

Writing them on every request would turn every read into a write; instead each process
keeps the latest time per key and agent and flushes them every few seconds, one
transaction per tenant.
"""

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID

from loopctl.auth import repository
from loopctl.auth.principal import Principal
from loopctl.database.connections import ConnectionSource, tenant_transaction

logger = logging.getLogger("loopctl.auth.usage")


# id -> (its tenant, the latest time it was used, as a Unix time). Keyed by the id alone
# (ids are unique): a UUID hashes in Python, and this runs on every authenticated request;
# a float, not a datetime, for the same reason (converted when flushed).
_Seen = dict[UUID, tuple[UUID, float]]


class UsageTracker:
    def __init__(self) -> None:
        self._keys: _Seen = {}
        self._agents: _Seen = {}

    def touch(self, principal: Principal) -> None:
        tenant_id = principal.tenant_id
        if tenant_id is None or principal.key_id is None:
            return
        seen = (tenant_id, time.time())
        self._keys[principal.key_id] = seen
        if principal.agent_id is not None:
            self._agents[principal.agent_id] = seen

    async def flush(self, source: ConnectionSource) -> None:
        keys, self._keys = self._keys, {}
        agents, self._agents = self._agents, {}
        per_tenant: dict[UUID, tuple[dict[UUID, float], dict[UUID, float]]] = defaultdict(
            lambda: ({}, {})
        )
        for key_id, (tenant_id, at) in keys.items():
            per_tenant[tenant_id][0][key_id] = at
        for agent_id, (tenant_id, at) in agents.items():
            per_tenant[tenant_id][1][agent_id] = at
        for tenant_id, (tenant_keys, tenant_agents) in per_tenant.items():
            try:
                async with tenant_transaction(source, tenant_id) as conn:
                    if tenant_keys:
                        await repository.touch_keys(conn, list(tenant_keys), _times(tenant_keys))
                    if tenant_agents:
                        await repository.touch_agents(
                            conn, list(tenant_agents), _times(tenant_agents)
                        )
            except Exception:
                logger.exception("could not record key usage; will retry")
                _restore(self._keys, tenant_id, tenant_keys)
                _restore(self._agents, tenant_id, tenant_agents)


def _times(seen: dict[UUID, float]) -> list[datetime]:
    return [datetime.fromtimestamp(at, UTC) for at in seen.values()]


def _restore(into: _Seen, tenant_id: UUID, times: dict[UUID, float]) -> None:
    """Put back what failed to flush, unless a newer use arrived meanwhile."""
    for some_id, at in times.items():
        newer = into.get(some_id)
        if newer is None or newer[1] < at:
            into[some_id] = (tenant_id, at)
