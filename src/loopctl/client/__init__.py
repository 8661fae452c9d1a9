"""A typed Python client for the loopctl REST API, sync (``Client``) and async (``AsyncClient``).

Docs: docs/client.md. Results are the server's own response models (pydantic); failures are
``LoopctlError`` subclasses, one per error class.
"""

from loopctl.client.clients import AsyncClient, Client
from loopctl.client.core import RetryPolicy
from loopctl.client.errors import (
    AuthError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    LoopctlError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)

__all__ = [
    "AsyncClient",
    "AuthError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ForbiddenError",
    "LoopctlError",
    "NetworkError",
    "NotFoundError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "ValidationError",
]
