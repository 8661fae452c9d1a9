"""`loopctl mcp`: the MCP server on stdin/stdout, for one key (docs/mcp.md)."""

from loopctl.cli.errors import ApiError, CliError, NetworkError, UsageProblem
from loopctl.client import ConfigurationError, LoopctlError
from loopctl.client import NetworkError as ClientNetworkError
from loopctl.mcp.server import run_stdio


def mcp() -> None:
    """Serve the loop's MCP tools over stdio, scoped to the role of the one key in the environment."""
    try:
        run_stdio()
    except ConfigurationError as exc:
        raise UsageProblem(exc.code, exc.message) from exc
    except ClientNetworkError as exc:
        raise NetworkError(exc.code, exc.message) from exc
    except LoopctlError as exc:
        if exc.status is None:
            raise CliError(exc.code, exc.message) from exc
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from exc
