from loopctl.platform.errors import Conflict, NotFound


class EpicNotFound(NotFound):
    code = "epic_not_found"
    default_message = "Epic not found"


class EpicNumberTaken(Conflict):
    code = "epic_number_taken"
    default_message = (
        "An epic with this number already exists in this project; pick another number, or "
        "import with merge=true to update the existing one"
    )


class EpicNotEmpty(Conflict):
    code = "epic_not_empty"
    default_message = (
        "This epic still has stories; delete them first, or delete with ?force=true to delete "
        "the epic with its stories and their dependencies"
    )
