"""The tool lists stay within the token targets (benchmarks/mcp_tokens.py prints the figures)."""

import json

from benchmarks.mcp_tokens import TARGETS, tool_list


def test_each_role_list_is_under_its_target() -> None:
    for role, target in TARGETS.items():
        text = tool_list(role)
        assert len(json.loads(text)["tools"]) > 10
        assert len(text) / 4 < target, role
