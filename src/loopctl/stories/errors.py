from loopctl.platform.errors import Conflict, NotFound


class StoryNotFound(NotFound):
    code = "story_not_found"
    default_message = "Story not found"


class StoryNumberTaken(Conflict):
    code = "story_number_taken"
    default_message = (
        "A story with this number already exists in this project; pick another number, or "
        "import with merge=true to update the existing one"
    )
