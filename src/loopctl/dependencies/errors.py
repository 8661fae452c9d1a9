from typing import Any

from loopctl.platform.errors import Conflict, NotFound, UnprocessableEntity

StoryDependencyNotFound = NotFound.variant(
    "story_dependency_not_found", "Story dependency not found"
)

EpicDependencyNotFound = NotFound.variant("epic_dependency_not_found", "Epic dependency not found")


class DependencyOnSelf(UnprocessableEntity):
    code = "dependency_self"

    def __init__(self, kind: str, field: str) -> None:
        message = f"A {kind} cannot depend on itself"
        super().__init__(
            message, details={"errors": [{"field": field, "message": message, "type": "invalid"}]}
        )


class DependencyAcrossProjects(UnprocessableEntity):
    code = "dependency_cross_project"

    def __init__(self, kind: str, field: str) -> None:
        message = f"Both {kind}s of a dependency must belong to the same project"
        super().__init__(
            message, details={"errors": [{"field": field, "message": message, "type": "invalid"}]}
        )


DependencyExists = Conflict.variant("dependency_exists", "This dependency already exists")


class DependencyCycle(Conflict):
    code = "dependency_cycle"

    def __init__(self, cycle: list[dict[str, Any]]) -> None:
        steps = " -> ".join(f"{step['type']} {step['number']}" for step in cycle)
        super().__init__(
            "This dependency would close a cycle, so none of the work on it could ever "
            f"start: {steps}. In the path, a story waits for the next node; an epic means "
            "'every story of this epic'",
            details={"cycle": cycle},
        )
