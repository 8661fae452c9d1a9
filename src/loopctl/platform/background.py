"""Per-process upkeep: share rate-limit counts, flush usage timestamps, sample the pool."""

import asyncio
import logging
import time
from collections.abc import Callable

from loopctl.platform.observability import Metrics
from loopctl.platform.runtime import Runtime

logger = logging.getLogger("loopctl.platform.background")


async def maintain(
    runtime: Runtime, metrics: Metrics, pool_stats: Callable[[], dict[str, int]] | None
) -> None:
    settings = runtime.settings
    last_flush = time.monotonic()
    while True:
        await asyncio.sleep(settings.rate_limit_sync_seconds)
        try:
            await runtime.limiter.sync(runtime.connections)
        except Exception:
            logger.warning("could not share rate-limit counts; using local counts", exc_info=True)
        if time.monotonic() - last_flush >= settings.last_used_flush_seconds:
            last_flush = time.monotonic()
            await runtime.usage.flush(runtime.connections)
        if pool_stats is not None:
            metrics.observe_pool(pool_stats())
