"""``last_used_at`` and ``last_seen_at``, recorded in memory and written in batches.

Writing them on every request would turn every read into a write; instead each process
keeps the latest time per key and agent and flushes them every few seconds, one
transaction per tenant.
"""

import logging
from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID

from loopctl.auth import repository
from loopctl.auth.principal import Principal
from loopctl.db import ConnectionSource, tenant_transaction

logger = logging.getLogger("loopctl.auth.usage")


class UsageTracker:
    def __init__(self) -> None:
        self._keys: dict[tuple[UUID, UUID], datetime] = {}
        self._agents: dict[tuple[UUID, UUID], datetime] = {}

    def touch(self, principal: Principal) -> None:
        if principal.tenant_id is None or principal.key_id is None:
            return
        now = datetime.now(UTC)
        self._keys[(principal.tenant_id, principal.key_id)] = now
        if principal.agent_id is not None:
            self._agents[(principal.tenant_id, principal.agent_id)] = now

    async def flush(self, source: ConnectionSource) -> None:
        keys, self._keys = self._keys, {}
        agents, self._agents = self._agents, {}
        per_tenant: dict[UUID, tuple[dict[UUID, datetime], dict[UUID, datetime]]] = defaultdict(
            lambda: ({}, {})
        )
        for (tenant_id, key_id), at in keys.items():
            per_tenant[tenant_id][0][key_id] = at
        for (tenant_id, agent_id), at in agents.items():
            per_tenant[tenant_id][1][agent_id] = at
        for tenant_id, (tenant_keys, tenant_agents) in per_tenant.items():
            try:
                async with tenant_transaction(source, tenant_id) as conn:
                    if tenant_keys:
                        await repository.touch_keys(
                            conn, list(tenant_keys), list(tenant_keys.values())
                        )
                    if tenant_agents:
                        await repository.touch_agents(
                            conn, list(tenant_agents), list(tenant_agents.values())
                        )
            except Exception:
                logger.exception("could not record key usage; will retry")
                self._restore(tenant_id, tenant_keys, tenant_agents)

    def _restore(
        self, tenant_id: UUID, keys: dict[UUID, datetime], agents: dict[UUID, datetime]
    ) -> None:
        for key_id, at in keys.items():
            self._keys[(tenant_id, key_id)] = max(at, self._keys.get((tenant_id, key_id), at))
        for agent_id, at in agents.items():
            self._agents[(tenant_id, agent_id)] = max(
                at, self._agents.get((tenant_id, agent_id), at)
            )
