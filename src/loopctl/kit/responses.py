"""A JSON response rendered with orjson (UUIDs, datetimes with a ``Z`` suffix)."""

from typing import Any

import orjson
from starlette import responses


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


class JSONResponse(responses.JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
