"""Listing and calling the tools for one caller's role: the same on both transports.

A transport supplies the role and a runner (how a tool reaches its backend, and how the
backend's refusals become ``ToolFailure``); everything a model sees is decided here: which
tools exist for the role, how arguments are checked, and how answers and errors look.
"""

import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from mcp import types

from loopctl.mcp.catalogue import BY_NAME, visible
from loopctl.mcp.tools import Args, Tool

INSTRUCTIONS = (
    "loopctl is the shared record of this project's stories. Implementers: claim_next, "
    "start_story, work, heartbeat, request_review. Reviewers: report_story, review_complete, "
    "verify_story or reject_story. Errors carry a stable code; read it and correct the call."
)
# Where REST received a field (body.summary, query.cursor); a tool has only arguments.
_PLACE = re.compile(r"(?<![\w.])(?:body|query)\.(?=[A-Za-z_])")

Runner = Callable[[Tool, Args], Awaitable[Any]]


class ToolFailure(Exception):
    """A refusal with our error code, to be answered as a tool error."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details) if details else None


def listing(role: str) -> types.ListToolsResult:
    """The ``tools/list`` answer for a key of ``role``."""
    return types.ListToolsResult(
        tools=[
            types.Tool(name=t.name, description=t.description, input_schema=t.schema)
            for t in visible(role)
        ]
    )


def answer(value: Any, *, error: bool = False) -> types.CallToolResult:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(type="text", text=body)], is_error=error)


def refusal(
    code: str, message: str, details: Mapping[str, Any] | None = None
) -> types.CallToolResult:
    """A tool error: ``{"error": {"code", "message", "details"?}}``, fields named as arguments."""
    placed = _unplaced(dict(details)) if details else None
    errors = (placed or {}).get("errors")
    if code == "validation_error" and isinstance(errors, list) and errors:
        # REST's message names the fields where it received them: name the arguments.
        names = (e.get("field") for e in errors if isinstance(e, dict))
        message = f"Validation failed: {', '.join(dict.fromkeys(str(n) for n in names))}"
    body: dict[str, Any] = {"code": code, "message": f"{code}: {_PLACE.sub('', message)}"}
    if placed:
        body["details"] = placed
    return answer({"error": body}, error=True)


def _argument(field: str) -> str:
    """A field as the tool's argument: ``body.summary`` is ``summary``; the whole body (a
    rule across fields) is ``arguments``."""
    name = _PLACE.sub("", field)
    return "arguments" if name in ("", "body", "query") else name


def _unplaced(details: dict[str, Any]) -> dict[str, Any]:
    if isinstance(details.get("field"), str):
        details["field"] = _argument(details["field"])
    errors = details.get("errors")
    if isinstance(errors, list):
        details["errors"] = [
            {**e, "field": _argument(e["field"])}
            if isinstance(e, dict) and isinstance(e.get("field"), str)
            else e
            for e in errors
        ]
    return details


async def call(
    role: str, name: str, arguments: Mapping[str, Any] | None, run: Runner
) -> types.CallToolResult:
    """Check that ``role`` sees the tool and the arguments fit its schema, then run it."""
    tool = BY_NAME.get(name)
    if tool is None:
        return refusal("unknown_tool", f"there is no tool named {name!r}")
    if role not in tool.roles:
        return refusal(
            "insufficient_role",
            f"{name} is not available to a key of role {role}",
            {"role": role},
        )
    args = dict(arguments or {})
    problems = [_problem(e) for e in _validator(name).iter_errors(args)]
    if problems:
        fields = ", ".join(dict.fromkeys(p["field"] for p in problems))
        return refusal("validation_error", f"Validation failed: {fields}", {"errors": problems})
    try:
        return answer(await run(tool, args))
    except ToolFailure as exc:
        return refusal(exc.code, exc.message, exc.details)


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    # Unknown arguments are refused (a misspelt lease_token must not be dropped silently),
    # without spending tokens on "additionalProperties" in every listed schema.
    strict = {**BY_NAME[name].schema, "additionalProperties": False}
    return Draft202012Validator(strict, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _problem(error: SchemaError) -> dict[str, str]:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in instance]
        path += f".{missing[0]}" if missing else ""
        return {"field": path.lstrip("."), "message": "Field required", "type": "missing"}
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = [n for n in instance if n not in allowed]
        path += f".{extra[0]}" if extra else ""
        return {"field": path.lstrip("."), "message": "Unknown argument", "type": "extra"}
    return {"field": path.lstrip(".") or "arguments", "message": error.message, "type": "invalid"}
