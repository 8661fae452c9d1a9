from loopctl.platform.errors import Conflict, Forbidden, NotFound

ProjectNotFound = NotFound.variant("project_not_found", "Project not found")

ProjectSlugTaken = Conflict.variant(
    "project_slug_taken", "A project with this slug already exists in this tenant"
)

ProjectArchived = Conflict.variant(
    "project_archived",
    (
        "This project is archived and read-only; a user key can reactivate it with "
        'PATCH /api/v1/projects/{id} {"status": "active"}'
    ),
)

ProjectLimitReached = Conflict.variant(
    "project_limit_reached",
    "This tenant has reached its limit of active projects; archive one first",
)


class ProjectStatusNeedsUser(Forbidden):
    # The same code as a route's role check: the caller's role is too low for this change.
    code = "insufficient_role"

    def __init__(self, role: str) -> None:
        super().__init__(
            "Archiving or reactivating a project (changing its status) requires the user "
            f"role; this key has the {role} role. Leave status out to change other fields",
            details={"required_role": "user", "role": role, "field": "status"},
        )
