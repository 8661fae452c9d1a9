"""The HTTP platform: the app factory, the /api/v1 routers, settings, errors, middleware,
observability and per-process runtime state."""
