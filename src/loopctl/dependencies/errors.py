from typing import Any

from loopctl.platform.errors import Conflict, NotFound, UnprocessableEntity

StoryDependencyNotFound = NotFound.variant(
    "story_dependency_not_found", "Story dependency not found"
)

EpicDependencyNotFound = NotFound.variant("epic_dependency_not_found", "Epic dependency not found")


class _InvalidEdge(UnprocessableEntity):
    """An edge refused for its ends, naming the field of the end at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(
            message, details={"errors": [{"field": field, "message": message, "type": "invalid"}]}
        )


class DependencyOnSelf(_InvalidEdge):
    code = "dependency_self"

    def __init__(self, kind: str, field: str) -> None:
        super().__init__(f"A {kind} cannot depend on itself", field)


class DependencyAcrossProjects(_InvalidEdge):
    code = "dependency_cross_project"

    def __init__(self, kind: str, field: str) -> None:
        super().__init__(f"Both {kind}s of a dependency must belong to the same project", field)


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
