from loopctl.platform.errors import Conflict, NotFound

StoryNotFound = NotFound.variant("story_not_found", "Story not found")

StoryNumberTaken = Conflict.variant(
    "story_number_taken",
    (
        "A story with this number already exists in this project; pick another number, or "
        "import with merge=true to update the existing one"
    ),
)
