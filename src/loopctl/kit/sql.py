"""Small helpers for composing SQL from fixed pieces with psycopg.sql (never with formatting)."""

from psycopg import sql


def maybe(clause: str, when: bool) -> sql.SQL:
    """A fixed clause (e.g. " FOR UPDATE"), or nothing."""
    return sql.SQL(clause if when else "")
