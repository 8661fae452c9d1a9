"""loopctl: a multi-tenant project state store for AI development loops."""
