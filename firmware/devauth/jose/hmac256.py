"""HMAC-SHA256 (RFC 2104, test vectors RFC 4231) over `hashlib.sha256`.

MicroPython has no `hmac` module and its hash objects have no `copy()`, so each call builds
fresh inner and outer hashes. Used for HS256 (RFC 7518 section 3.2) and RFC 6979 nonces.
"""

import hashlib

_BLOCK = 64


def _pad(key, byte):
    return bytes(b ^ byte for b in key)


def hmac_sha256(key, msg):
    """HMAC-SHA256 of msg under key (both bytes-like); returns 32 bytes."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(_BLOCK - len(key))
    inner = hashlib.sha256(_pad(key, 0x36))
    inner.update(msg)
    outer = hashlib.sha256(_pad(key, 0x5C))
    outer.update(inner.digest())
    return outer.digest()


def compare_digest(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
