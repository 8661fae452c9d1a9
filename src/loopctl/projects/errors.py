from loopctl.platform.errors import Conflict, Forbidden, NotFound


class ProjectNotFound(NotFound):
    code = "project_not_found"
    default_message = "Project not found"


class ProjectSlugTaken(Conflict):
    code = "project_slug_taken"
    default_message = "A project with this slug already exists in this tenant"


class ProjectArchived(Conflict):
    code = "project_archived"
    default_message = (
        "This project is archived and read-only; a user key can reactivate it with "
        'PATCH /api/v1/projects/{id} {"status": "active"}'
    )


class ProjectLimitReached(Conflict):
    code = "project_limit_reached"
    default_message = "This tenant has reached its limit of active projects; archive one first"


class ProjectStatusNeedsUser(Forbidden):
    # The same code as a route's role check: the caller's role is too low for this change.
    code = "insufficient_role"

    def __init__(self, role: str) -> None:
        super().__init__(
            "Archiving or reactivating a project (changing its status) requires the user "
            f"role; this key has the {role} role. Leave status out to change other fields",
            details={"required_role": "user", "role": role, "field": "status"},
        )
