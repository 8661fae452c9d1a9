"""The role hierarchy: superadmin > user > orchestrator > agent."""

from enum import StrEnum


class Role(StrEnum):
    agent = "agent"
    orchestrator = "orchestrator"
    user = "user"
    superadmin = "superadmin"

    @property
    def level(self) -> int:
        return _LEVELS[self]

    def at_least(self, other: "Role") -> bool:
        return self.level >= other.level


_LEVELS = {Role.agent: 1, Role.orchestrator: 2, Role.user: 3, Role.superadmin: 4}
