"""The MCP server: the story loop as tools for a model, scoped to the caller's role (docs/mcp.md)."""
