from typing import Any

from loopctl.platform.errors import Conflict, Forbidden, UnprocessableEntity

ProjectNotEmpty = Conflict.variant(
    "project_not_empty",
    (
        "This project already has epics; import with ?merge=true to update it, or import "
        "into an empty project"
    ),
)

ImportConflict = Conflict.variant(
    "import_conflict",
    (
        "The project changed while the import ran (a concurrent edit took a number or removed "
        "an epic); nothing was imported, retry the import"
    ),
)


class StatusImportNeedsUser(Forbidden):
    code = "status_import_needs_user"

    def __init__(self, role: str, paths: list[str]) -> None:
        super().__init__(
            "Importing progress (agent_status/verified_status, or the reference's "
            "initial_agent_status/initial_verified_status, other than pending/unverified) "
            "records pre-existing work as done, which only a user (a human) may do; this key "
            f"has the {role} role. Remove the fields at: "
            + ", ".join(paths[:10])
            + (" …" if len(paths) > 10 else ""),
            details={"required_role": "user", "role": role, "fields": paths},
        )


class ImportInvalid(UnprocessableEntity):
    """Every problem found in the document, each naming its path (the 422 envelope)."""

    def __init__(self, errors: list[dict[str, Any]], total: int) -> None:
        shown = ", ".join(dict.fromkeys(e["field"] for e in errors[:5]))
        more = f" and {total - 5} more" if total > 5 else ""
        details: dict[str, Any] = {"errors": errors}
        if total > len(errors):
            details["truncated"] = True
            details["total_errors"] = total
        super().__init__(f"The document is invalid: {shown}{more}", details=details)
