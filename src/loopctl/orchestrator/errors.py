"""Orchestrator state refusals: one class per stable code."""

from loopctl.platform.errors import Conflict, NotFound, PayloadTooLarge


class StateNotFound(NotFound):
    code = "orchestrator_state_not_found"
    default_message = "This project has no orchestrator state under this state_key"


class VersionConflict(Conflict):
    code = "version_conflict"
    default_message = (
        "The state changed since you read it: load it again (GET), merge, and save with "
        "its current version"
    )


class StateTooLarge(PayloadTooLarge):
    default_message = "state_data is larger than this server accepts"
