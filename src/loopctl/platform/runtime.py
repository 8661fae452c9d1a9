"""Everything one server process shares between requests (kept on ``app.state.runtime``).

Nothing here is state another process would need: limits are shared through the
database, usage timestamps are flushed to it.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from loopctl.auth.keys import KeyHasher
from loopctl.auth.rate_limit import RateLimiter
from loopctl.auth.service import Authenticator
from loopctl.auth.usage import UsageTracker
from loopctl.database.connections import ConnectionSource
from loopctl.platform.config import Settings
from loopctl.platform.heavy import HeavyLimiter


@dataclass
class Runtime:
    settings: Settings
    connections: ConnectionSource
    hasher: KeyHasher
    limiter: RateLimiter
    usage: UsageTracker
    authenticator: Authenticator
    heavy: HeavyLimiter

    @classmethod
    def build(cls, settings: Settings, connections: ConnectionSource, secret: bytes) -> "Runtime":
        hasher = KeyHasher(secret)
        limiter = RateLimiter(hasher)
        usage = UsageTracker()
        return cls(
            settings=settings,
            connections=connections,
            hasher=hasher,
            limiter=limiter,
            usage=usage,
            authenticator=Authenticator(settings, hasher, limiter, usage),
            heavy=HeavyLimiter(settings.heavy_requests_per_tenant),
        )


# async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread handoff
# per request on every route that asks for the runtime.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
