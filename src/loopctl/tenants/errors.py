from loopctl.platform.errors import Conflict

SlugTaken = Conflict.variant("slug_taken", "This slug is already taken")
