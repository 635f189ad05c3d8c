"""OAuth client authentication, applied identically at every endpoint (device authorization,
token, revocation), and the one function that POSTs an authenticated form.

Methods (RFC 7591 names): none, client_secret_basic, client_secret_post (RFC 6749 §2.3.1),
tls_client_auth (RFC 8705 §2.1; the certificate itself is presented by the transport),
client_secret_jwt and private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9: a fresh signed
assertion, new `jti`, per request). Secrets go only into the body or the Authorization header.
"""

import binascii
import gc

from devauth.errors import ConfigError, DevauthError
from devauth.net.url import encode, quote

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")


def apply(config, form, now=None):
    """Add this client's credentials to `form` [(name, value)]; return the extra headers.

    `now` (Unix seconds) is needed by the JWT methods; None means the clock is not set.
    """
    method = config.token_endpoint_auth_method
    # client_id in the body of every request, Basic too: PingFederate "included with every
    # request", RFC 8628 §3.1, RFC 8705 §2.1; oauthlib servers refuse a device authorization
    # request without it. The secret is never in both places.
    form.insert(0, ("client_id", config.client_id))
    if method == "client_secret_basic":
        # RFC 6749 §2.3.1: id and secret are form-urlencoded *before* base64.
        pair = quote(config.client_id) + ":" + quote(config.client_secret)
        token = binascii.b2a_base64(pair.encode()).strip().decode()
        return [("Authorization", "Basic " + token)]
    if method == "client_secret_post":
        form.insert(1, ("client_secret", config.client_secret))
    elif method in JWT_METHODS:
        form.insert(1, ("client_assertion_type", ASSERTION_TYPE))
        form.insert(2, ("client_assertion", _assertion(config, now)))
    return []


def post(config, transport, url, form, now=None):
    """POST `form` to `url` with this client's authentication -> http.Response."""
    return transport.post_form(*post_step(config, url, form, now)[1])


def post_step(config, url, form, now=None):
    """The step (devauth.oauth.steps) that POSTs `form` to `url` with this client's
    authentication: `resp = yield post_step(...)`."""
    headers = apply(config, form, now)
    return ("post_form", (url, encode(form), headers))


def _assertion(config, now):
    from devauth.jose import jwt

    if now is None:
        raise DevauthError(
            "%s needs the time: the clock is not set (NTP)" % config.token_endpoint_auth_method,
            "Clock not set",
        )
    audience = config.client_assertion_audience or config.token_endpoint
    gc.collect()  # RSA/EC signing churns through big-int garbage: start from a compact heap
    try:
        return jwt.client_assertion(
            config.client_id,
            audience,
            now,
            secret=config.client_secret,
            key=config.private_key,
            alg=config.token_endpoint_auth_signing_alg,
            kid=config.private_key_id,
        )
    except ValueError as e:  # the key, the secret or the alg of the config: exit code 2
        raise ConfigError("client assertion: %s" % e) from None
