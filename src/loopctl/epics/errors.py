from loopctl.platform.errors import Conflict, NotFound

EpicNotFound = NotFound.variant("epic_not_found", "Epic not found")

EpicNumberTaken = Conflict.variant(
    "epic_number_taken",
    (
        "An epic with this number already exists in this project; pick another number, or "
        "import with merge=true to update the existing one"
    ),
)

EpicNotEmpty = Conflict.variant(
    "epic_not_empty",
    (
        "This epic still has stories; delete them first, or delete with ?force=true to delete "
        "the epic with its stories and their dependencies"
    ),
)
