"""The size of each role's MCP tool list, as a model receives it (docs/mcp.md, "Token budget").

Run: .venv/bin/python -m benchmarks.mcp_tokens. Tokens are estimated as characters / 4.
Targets (issue 13): the agent role under 3,000 tokens, the orchestrator under 6,000.
"""

import json

from mcp import types

from loopctl.mcp.catalogue import visible

TARGETS = {"agent": 3000, "orchestrator": 6000}


def tool_list(role: str) -> str:
    """The ``tools/list`` result for ``role`` as JSON text, the way it goes over the wire."""
    tools = [
        types.Tool(name=t.name, description=t.description, input_schema=t.schema)
        for t in visible(role)
    ]
    result = types.ListToolsResult(tools=tools)
    return json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))


def main() -> None:
    print(f"{'role':<14}{'tools':>6}{'chars':>8}{'tokens':>8}{'target':>8}")
    for role, target in TARGETS.items():
        text = tool_list(role)
        tokens = len(text) // 4
        verdict = "ok" if tokens < target else "OVER"
        count = len(visible(role))
        print(f"{role:<14}{count:>6}{len(text):>8}{tokens:>8}{target:>8} {verdict}")


if __name__ == "__main__":
    main()
