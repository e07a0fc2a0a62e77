"""API keys: shape checks, peppered hashing and constant-time comparison.

Why: a key is a bearer secret. The store keeps only an HMAC-SHA256 of the key under a server-side
pepper (``Settings.api_key_pepper``), so a copy of the database alone cannot be replayed against
the API, nor brute-forced offline without the pepper. Keys are 256-bit random tokens
(``secrets``), so a fast keyed hash is the right tool (a slow password hash buys nothing for
high-entropy secrets and would cost milliseconds on every request). The plain key is shown once,
at creation (``tiering keys create``), and never stored or logged.

The format and the hash are the store's (``tiering.store.Store.create_principal`` /
``tiering.store.hash_key``): ``tk_`` + 43 url-safe characters. The first ten characters
(``key_prefix``) are not secret and tell keys apart in ``tiering keys list`` and in the logs.

>>> key = generate_key()
>>> looks_like_key(key), looks_like_key("tk_short"), looks_like_key("tk_" + "a" * 42 + "!")
(True, False, False)
>>> h = hash_key(key, "pepper")
>>> verify_key(key, h, "pepper"), verify_key(key[:-1] + "x", h, "pepper")
(True, False)
>>> key_id(key) == key[:10]
True
"""

from __future__ import annotations

import hmac
import re
import secrets

from tiering.store.store import KEY_PREFIX, hash_key

__all__ = ["KEY_PREFIX", "generate_key", "hash_key", "key_id", "looks_like_key", "verify_key"]

_SECRET_BYTES = 32  # 256 bits -> 43 url-safe base64 characters
_KEY_RE = re.compile(r"tk_[A-Za-z0-9_-]{43}")


def generate_key() -> str:
    """A fresh key in the store's format (print it once; store only :func:`hash_key`)."""
    return KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def looks_like_key(key: object) -> bool:
    """Cheap shape check so garbage headers never reach the store."""
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


def key_id(key: str) -> str | None:
    """The public prefix of a well-formed key (safe to log), else ``None``."""
    return key[:10] if looks_like_key(key) else None


def verify_key(key: str, stored_hash: str, pepper: str) -> bool:
    """Constant-time check of ``key`` against a stored hash."""
    return hmac.compare_digest(hash_key(key, pepper), stored_hash)
