"""API key format and storage: ``lc_`` + 32 random bytes, stored only as a keyed hash."""

import hmac
import re
import secrets

KEY_PREFIX = "lc_"
# 32 random bytes in unpadded URL-safe base64 are 43 characters.
_KEY_PATTERN = re.compile(r"^lc_[A-Za-z0-9_-]{43,128}$")
DISPLAY_PREFIX_LENGTH = 11


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def well_formed(token: str) -> bool:
    return bool(_KEY_PATTERN.match(token))


def display_prefix(key: str) -> str:
    """The part of a key that may be shown and logged: ``lc_`` and 8 characters."""
    return key[:DISPLAY_PREFIX_LENGTH]


class KeyHasher:
    """HMAC-SHA256 under the server secret: a stolen table alone cannot be replayed."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the server secret key must be at least 16 bytes")
        self._secret = secret

    def digest(self, key: str) -> str:
        # hmac.digest: OpenSSL's one-shot HMAC, several times cheaper than hmac.new().
        return hmac.digest(self._secret, key.encode(), "sha256").hex()

    def bucket(self, name: str) -> bytes:
        """An opaque, fixed-size id for a rate-limit bucket (keeps IPs out of the table)."""
        return hmac.digest(self._secret, b"bucket:" + name.encode(), "sha256")[:16]
