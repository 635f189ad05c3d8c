"""JWT client authentication: `client_secret_jwt` and `private_key_jwt` assertions.

Builds the client assertion of RFC 7523 section 2.2 (used as in OpenID Connect Core
section 9): a JWS (RFC 7515) in compact form signed with HS256, RS256 or ES256 (RFC 7518
sections 3.2-3.4). Claims: iss = sub = client_id, aud, a fresh jti, iat and exp.
The caller owns the clock and passes `now` in Unix seconds.
"""

import json
import os

from devauth.jose import b64

ALGS = ("HS256", "RS256", "ES256")
_MIN_NOW = 1577836800  # 2020-01-01: an earlier `now` means the device clock was never set
_MIN_SECRET = 32  # RFC 7518 section 3.2: HS256 key at least the hash size
_MIN_RSA_BITS = 2048  # RFC 7518 section 3.3


class JWTError(ValueError):
    """A client assertion cannot be built; the message is one line without key material."""


def load_key(key):
    """PEM/DER bytes or PEM str -> a key object for `client_assertion` (parse once, reuse)."""
    if getattr(key, "kty", None) in ("RSA", "EC"):  # already parsed (devauth.jose.der)
        return key
    from devauth.jose import der

    if not isinstance(key, (bytes, bytearray, memoryview, str)):
        raise JWTError("private_key: not an RSA or EC private key")
    try:
        return der.load_private_key(key)
    except ValueError as e:
        raise JWTError("private_key: %s" % e) from None


def _value(v):
    if isinstance(v, list):  # no whitespace, the same on both interpreters
        return "[%s]" % ",".join(json.dumps(x) for x in v)
    return json.dumps(v)


def _json(pairs):
    # Fixed member order on both interpreters (MicroPython dicts do not promise order).
    return "{%s}" % ",".join("%s:%s" % (json.dumps(k), _value(v)) for k, v in pairs)


def new_jti():
    """16 random bytes from os.urandom, base64url: a fresh JWT ID."""
    return b64.encode(os.urandom(16))


def sign(signing_input, alg, *, secret=None, key=None):
    """JWS signature bytes over signing_input (ASCII bytes) for HS256, RS256 or ES256."""
    if alg == "HS256":
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is None or secret == b"":
            raise JWTError("client_secret_jwt needs client_secret")
        if not isinstance(secret, (bytes, bytearray)):
            raise JWTError("client_secret: must be str or bytes")
        if key is not None:
            raise JWTError("client_secret_jwt takes client_secret, not a private key")
        if len(secret) < _MIN_SECRET:
            raise JWTError("client_secret: shorter than 32 bytes (RFC 7518 section 3.2)")
        from devauth.jose.hmac256 import hmac_sha256

        return hmac_sha256(secret, signing_input)
    if alg not in ALGS:
        raise JWTError("alg: unsupported (use HS256, RS256 or ES256)")
    if key is None:
        raise JWTError("private_key_jwt needs a private key")
    if secret is not None:
        raise JWTError("private_key_jwt takes a private key, not client_secret")
    key = load_key(key)
    if alg == "RS256":
        if key.kty != "RSA":
            raise JWTError("private_key: RS256 needs an RSA key")
        if key.bits < _MIN_RSA_BITS:
            raise JWTError("private_key: RSA key shorter than 2048 bits")
        from devauth.jose import rsa

        try:
            return rsa.sign(key, signing_input)
        except ValueError:  # the CRT result failed the public-exponent check
            raise JWTError("private_key: RSA signature self-check failed (corrupt key?)") from None
    if key.kty != "EC":
        raise JWTError("private_key: ES256 needs an EC P-256 key")
    from devauth.jose import ecdsa

    try:
        return ecdsa.sign(key.d, signing_input)
    except ValueError:
        raise JWTError("private_key: EC private scalar out of range") from None


def client_assertion(
    client_id, audience, now, *, secret=None, key=None, alg="RS256", kid=None, lifetime=60
):
    """A signed client assertion (compact JWS str) for `client_assertion=` in token requests.

    client_secret_jwt: alg="HS256", secret=the client secret (str or bytes, >= 32 bytes).
    private_key_jwt: alg="RS256" or "ES256", key=PEM/DER bytes, PEM str or a `load_key()`
    result (load once and reuse it: parsing a PEM key costs more than an HS256 assertion).
    audience: the authorization server's token endpoint URL (str, or a list of str).
    now: Unix seconds from a set clock (int; a float is truncated, and boards with
    single-precision floats cannot hold today's time to the second); lifetime: seconds to exp.
    Raises JWTError (a ValueError) with a one-line message.
    """
    if not isinstance(client_id, str) or not client_id:
        raise JWTError("client_id: must be a non-empty string")
    if isinstance(audience, (list, tuple)):
        audience = list(audience)
        ok = audience and all(isinstance(a, str) and a for a in audience)
    else:
        ok = isinstance(audience, str) and audience
    if not ok:
        raise JWTError("audience: must be a non-empty string or list of strings")
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise JWTError("now: must be Unix time in seconds")
    now = int(now)
    if now < _MIN_NOW:
        raise JWTError("now: clock not set (before 2020)")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise JWTError("lifetime: must be a positive number of seconds")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise JWTError("kid: must be a non-empty string")
    if alg not in ALGS:
        raise JWTError("alg: unsupported (use HS256, RS256 or ES256)")
    header = [("alg", alg), ("typ", "JWT")]
    if kid is not None:
        header.append(("kid", kid))
    claims = (
        ("iss", client_id),
        ("sub", client_id),
        ("aud", audience),
        ("jti", new_jti()),
        ("iat", now),
        ("exp", now + lifetime),
    )
    signing_input = b64.encode(_json(header).encode()) + "." + b64.encode(_json(claims).encode())
    sig = sign(signing_input.encode(), alg, secret=secret, key=key)
    return "%s.%s" % (signing_input, b64.encode(sig))
