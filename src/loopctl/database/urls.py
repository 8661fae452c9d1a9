"""Keeping passwords out of what we print: redacting libpq URLs, conninfo strings and errors.

Every error path that may show a connection string, or a message built from one (libpq
quotes the offending part of a malformed URL), passes its text through ``scrub``.
"""

import re
from collections.abc import Iterable
from urllib.parse import unquote

import psycopg

MASK = "***"

# postgresql://user:PASSWORD@host — the password runs to the last "@" before the host part.
_URL_PASSWORD = re.compile(r"(?P<head>\bpostgres(?:ql)?://[^:/?#@\s]*:)(?P<secret>[^\s/?#]*)(?=@)")
# password=VALUE in key=value conninfo, quoted or not, and ?password=VALUE in a URL query.
_KV_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|[^\s&'\"]+)", re.IGNORECASE
)


def redact(text: str) -> str:
    """``text`` with the password of every libpq URL or conninfo in it replaced by ***."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m["head"] + MASK, text)


def password_of(url: str) -> str | None:
    """The password in a URL or conninfo string, parsed as libpq would, or found by pattern."""
    try:
        value = psycopg.conninfo.conninfo_to_dict(url).get("password")
    except psycopg.Error:
        value = None
    if value:
        return str(value)
    for pattern in (_URL_PASSWORD, _KV_PASSWORD):
        found = pattern.search(url)
        if found:
            return unquote(found["secret"].strip("'"))
    return None


def secrets_of(values: Iterable[str | None]) -> list[str]:
    """The strings to hide: each value itself and, for connection strings, their passwords."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        found.append(value)
        password = password_of(value)
        if password:
            found.append(password)
    return found


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any password pattern and without any of ``secrets`` (URL-quoted too)."""
    text = redact(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) < 4:
            continue
        text = text.replace(secret, MASK)
        quoted = _quoted(secret)
        if quoted != secret:
            text = text.replace(quoted, MASK)
    return text


def _quoted(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-._~" else f"%{ord(c):02X}" for c in value)


def without_password(url: str) -> tuple[str, str | None]:
    """Split a URL or conninfo into a key=value conninfo without password, and the password.

    Child processes (pg_dump, pg_restore) get the first on their command line and the
    password through the environment, so it never shows in ``ps``.
    """
    info = psycopg.conninfo.conninfo_to_dict(url)
    password = info.pop("password", None)
    conninfo = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
    return conninfo, (str(password) if password is not None else None)
