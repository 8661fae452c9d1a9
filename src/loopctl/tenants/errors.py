from loopctl.platform.errors import Conflict


class SlugTaken(Conflict):
    code = "slug_taken"
    default_message = "This slug is already taken"
