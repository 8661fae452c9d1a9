from loopctl.platform.errors import Conflict, Forbidden, NotFound


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    default_message = "API key not found"


class RoleTooHigh(Forbidden):
    code = "role_too_high"
    default_message = "A key cannot create a key with a higher role than its own"


class ApiKeyLimitReached(Conflict):
    code = "api_key_limit_reached"
    default_message = "This tenant has reached its limit of live API keys; revoke unused keys"


class AgentKeyExists(Conflict):
    code = "agent_key_exists"
    default_message = (
        "This agent already has a live key; rotate it (POST /api/v1/api_keys/{id}/rotate) "
        "or revoke it first"
    )


class ApiKeyNotRotatable(Conflict):
    code = "api_key_not_rotatable"
    default_message = "Only an active key can be rotated"


class LastUserKey(Conflict):
    code = "last_user_key"
    default_message = (
        "This is the tenant's last live user key; create or rotate another user key first"
    )


class KeyInGracePeriod(Forbidden):
    code = "key_in_grace_period"
    default_message = (
        "This key was replaced by rotation and works only until its grace period ends; "
        "manage keys (create, rotate, revoke) with its replacement"
    )
