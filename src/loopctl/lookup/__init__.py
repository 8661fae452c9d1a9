"""Handles: a project by slug, an epic or a story by number, resolved to ids in one request."""
