from loopctl.errors import Conflict, NotFound


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
