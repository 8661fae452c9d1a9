"""Time-ordered ids (UUID version 7), generated in the application."""

from uuid import UUID

import uuid_utils
from uuid_utils.compat import uuid7


def new_id() -> UUID:
    return uuid7()


def new_id_hex() -> str:
    """A new id as 32 hex digits, without building a ``uuid.UUID`` (request ids)."""
    return uuid_utils.uuid7().hex
