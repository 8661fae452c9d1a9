"""Acceptance criteria: a list of {id, criterion}; ids are stable once given."""

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, StringConstraints

from loopctl.kit.fields import NO_NUL
from loopctl.kit.schemas import Input, Output

MAX_CRITERIA = 100


def _id_from_int(value: object) -> object:
    # Plans (the reference's among them) number criteria 1, 2, 3: the id "1".
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


CriterionId = Annotated[
    str, BeforeValidator(_id_from_int), StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,50}$")
]
CriterionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NO_NUL),
]
_GENERATED = re.compile(r"^AC-(\d+)$")


class CriterionIn(Input):
    id: CriterionId | None = Field(default=None, description="Kept if given; else AC-<n>")
    criterion: CriterionText = Field(
        validation_alias=AliasChoices("criterion", "description"),
        description="What must hold (the reference's `description` is accepted as an alias)",
    )


class DuplicateCriterionId(ValueError):
    """Two criteria of one list would share an id; ``field`` names the second one."""

    def __init__(self, index: int, ident: str) -> None:
        super().__init__(f"duplicate acceptance criterion id {ident!r}")
        self.field = f"acceptance_criteria[{index}].id"


class Criterion(Output):
    id: str
    criterion: str


def normalize(
    items: Sequence[CriterionIn], previous: Sequence[dict[str, Any]] = ()
) -> list[dict[str, str]]:
    """Give every criterion an id: its own, the id an identical earlier criterion had, or
    the next AC-<n> not used before.

    Reusing the earlier id for unchanged text keeps ids stable when a client resends the
    list without ids, so an unchanged list is a no-op. Raises DuplicateCriterionId.
    """
    explicit = {i.id for i in items if i.id is not None}
    used = [str(c.get("id")) for c in previous] + list(explicit)
    numbers = [int(m.group(1)) for m in map(_GENERATED.match, used) if m]
    next_number = max(numbers, default=0) + 1
    earlier: dict[str, list[str]] = {}
    for c in previous:
        old = str(c.get("id"))
        if old not in explicit:
            earlier.setdefault(str(c.get("criterion")), []).append(old)
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for index, item in enumerate(items):
        ident = item.id
        if ident is None and earlier.get(item.criterion):
            ident = earlier[item.criterion].pop(0)
        elif ident is None:
            ident = f"AC-{next_number}"
            next_number += 1
        if ident in seen:
            raise DuplicateCriterionId(index, ident)
        seen.add(ident)
        out.append({"id": ident, "criterion": item.criterion})
    return out
