from loopctl.platform.errors import Conflict, Forbidden, NotFound

ApiKeyNotFound = NotFound.variant("api_key_not_found", "API key not found")

RoleTooHigh = Forbidden.variant(
    "role_too_high", "A key cannot create a key with a higher role than its own"
)

ApiKeyLimitReached = Conflict.variant(
    "api_key_limit_reached",
    "This tenant has reached its limit of live API keys; revoke unused keys",
)

AgentKeyExists = Conflict.variant(
    "agent_key_exists",
    (
        "This agent already has a live key; rotate it (POST /api/v1/api_keys/{id}/rotate) "
        "or revoke it first"
    ),
)

ApiKeyNotRotatable = Conflict.variant("api_key_not_rotatable", "Only an active key can be rotated")

LastUserKey = Conflict.variant(
    "last_user_key",
    "This is the tenant's last live user key; create or rotate another user key first",
)

KeyInGracePeriod = Forbidden.variant(
    "key_in_grace_period",
    (
        "This key was replaced by rotation and works only until its grace period ends; "
        "manage keys (create, rotate, revoke) with its replacement"
    ),
)
