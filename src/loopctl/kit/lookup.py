"""The one way a service turns "no such row" into its domain's not-found error."""

from typing import TypeVar

from loopctl.platform.errors import AppError

R = TypeVar("R")


def found(row: R | None, missing: type[AppError]) -> R:
    """``row``, or ``missing`` raised when there is none (absent, or hidden by RLS)."""
    if row is None:
        raise missing()
    return row
