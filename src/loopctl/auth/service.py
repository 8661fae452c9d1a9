"""Authentication: bearer token → live key → tenant status → rate limits → principal."""

from typing import NoReturn

from loopctl.auth import keys, repository
from loopctl.auth.errors import TenantSuspended
from loopctl.auth.keys import KeyHasher
from loopctl.auth.principal import Principal
from loopctl.auth.rate_limit import RateLimiter
from loopctl.auth.roles import Role
from loopctl.auth.usage import UsageTracker
from loopctl.database.connections import Connection
from loopctl.platform.config import Settings
from loopctl.platform.errors import InvalidApiKey, RateLimited, Unauthenticated


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    return token.strip()


# A dict lookup, not Role(value): the enum's call machinery is slow for a per-request step.
_ROLES = {role.value: role for role in Role}


def _label(identity: repository.KeyIdentity) -> str:
    name = identity.agent_name if identity.agent_name is not None else identity.key_name
    return f"{identity.role}:{name}"


class Authenticator:
    def __init__(
        self, settings: Settings, hasher: KeyHasher, limiter: RateLimiter, usage: UsageTracker
    ) -> None:
        self._settings = settings
        self._hasher = hasher
        self._limiter = limiter
        self._usage = usage

    async def authenticate(
        self, conn: Connection, authorization: str | None, client: str, request_id: str | None
    ) -> Principal:
        token = bearer_token(authorization)
        identity = None
        digest = ""
        if keys.well_formed(token):
            digest = self._hasher.digest(token)
            identity = await repository.resolve_key(conn, digest)
        if identity is None:
            self._refuse_failure(client)
        if identity.tenant_status != "active":
            raise TenantSuspended()
        principal = Principal(
            tenant_id=identity.tenant_id,
            role=_ROLES[identity.role],  # the column's CHECK keeps it one of them
            label=_label(identity),
            key_id=identity.key_id,
            key_prefix=identity.key_prefix,
            agent_id=identity.agent_id,
            request_id=request_id,
            in_grace=identity.in_grace,
        )
        self._enforce_limits(principal, client, digest)
        self._usage.touch(principal)
        return principal

    async def confirm(
        self, conn: Connection, authorization: str | None, principal: Principal
    ) -> None:
        """Resolve ``principal``'s key again, on a later transaction of the same request.

        For a request served in more than one transaction (an MCP tool call, mcp/http.py):
        the key's resolution sets that transaction's tenant exactly as ``authenticate``
        does, and a key revoked (or a tenant suspended) since is refused. Not counted
        against the rate limits again: it is the same request.
        """
        token = bearer_token(authorization)
        identity = None
        if keys.well_formed(token):
            identity = await repository.resolve_key(conn, self._hasher.digest(token))
        if identity is None or identity.key_id != principal.key_id:
            raise InvalidApiKey()
        if identity.tenant_status != "active":
            raise TenantSuspended()

    def _refuse_failure(self, client: str) -> NoReturn:
        """A token that names no live key: 401, or 429 once the address has failed too often.

        Only failing attempts are throttled. A valid key from the same address is admitted
        (subject to the ordinary limits), so one misconfigured agent does not lock out every
        agent behind the same address; a 256-bit key cannot be found by guessing anyway.
        """
        failures = f"authfail:{client}"
        limit = self._settings.auth_failures_per_ip_per_minute
        wait = self._limiter.exceeded(failures, limit)
        if wait is not None:
            raise RateLimited(wait, limit, "client address's failed authentications")
        self._limiter.add(failures)
        raise InvalidApiKey()

    def _enforce_limits(self, principal: Principal, client: str, digest: str) -> None:
        ip_limit = self._settings.rate_limit_ip_per_minute
        wait = self._limiter.hit(f"ip:{client}", ip_limit)
        if wait is not None:
            raise RateLimited(wait, ip_limit, "client address")
        if principal.role is Role.superadmin:
            return
        key_limit = self._settings.rate_limit_per_minute
        # Named by the key's hash rather than its id: one key, one hash, and no UUID to
        # format on every request.
        wait = self._limiter.hit("key:" + digest, key_limit)
        if wait is not None:
            raise RateLimited(wait, key_limit, "API key")

    def limit_signup(self, client: str) -> None:
        limit = self._settings.signups_per_ip_per_hour
        wait = self._limiter.hit(f"signup:{client}", limit, window=3600) if limit else 1
        if wait is not None:
            raise RateLimited(wait, limit, "client address's registrations", per="hour")
