"""devauth dev-as: a local OAuth 2.0 authorization server for the Device Authorization Grant.

RFC 8628 on PingFederate's paths, built on Authlib (`DeviceAuthorizationEndpoint`,
`DeviceCodeGrant`, `RefreshTokenGrant`, `RevocationEndpoint`, `JWTBearerClientAssertion`, the
Flask `AuthorizationServer`), served over HTTPS with a trustme test CA by werkzeug's threaded
server with HTTP/1.1 keep-alive:

- `POST /as/device_authz.oauth2`  device authorization (RFC 8628 §3.1)
- `POST /as/token.oauth2`         token (device_code and refresh_token grants; every refresh
                                  rotates the refresh token, a used one answers invalid_grant)
- `POST /as/revoke_token.oauth2`  revocation (RFC 7009; a refresh token takes its access token
                                  with it)
- `GET|POST /as/user_authz.oauth2` the page where a person approves or denies a user code
- `GET /_devauth/stats`            connection, request and client-authentication counters (JSON)
- `GET /.well-known/oauth-authorization-server` (and `openid-configuration`): RFC 8414 metadata,
  with RFC 8705 `mtls_endpoint_aliases` when a second, mTLS-only listener runs (`mtls_port`)

Clients (in memory; every endpoint takes the same method; `server.json` lists them):

- `public-device`      none
- `basic-device`       client_secret_basic, secret `CLIENT_SECRET` ("s3cr:t/+&=% é")
- `post-device`        client_secret_post, the same secret
- `mtls-device`        tls_client_auth (RFC 8705 §2.1.2), subject `CN=devauth-test-device,O=devauth`
                       (the PKI's `client.*`); only on the mTLS port when there is one
- `jwt-secret-device`  client_secret_jwt (RFC 7523), HS256 with `JWT_SECRET`
                       ("a-32-byte-or-longer-shared-secret-for-hs256!!")
- `jwt-rsa-device`     private_key_jwt, RS256, kid `rsa-1` (the PKI's `jwt-rsa.key`)
- `jwt-ec-device`      private_key_jwt, ES256, kid `ec-1` (the PKI's `jwt-ec.key`)

A client assertion must have `iss` = `sub` = the client id; an `aud` of the token endpoint, the
device authorization endpoint or the issuer (the base URL); an `exp` not past and at most an hour
ahead, an `iat` and `nbf` not in the future (60 s leeway each); a `jti` not seen before
(PingFederate's replay prevention); and the client's `alg`. A `kid`, if any, must be the
client's; a `client_id` sent with the assertion must be its `sub`. Every failure is 401
`invalid_client`.

In-process use (tests)::

    with DevAS(state_dir, port=0, auto_approve=1.0, interval=1, mtls_port=0) as srv:
        srv.base_url, srv.port, srv.mtls_base_url, srv.mtls_port, srv.pki, srv.jwks,
        srv.metadata(), srv.stats(), srv.approve(user_code), srv.token_info(token)

Command line: `devauth dev-as --help` (this module's `main(argv)`).
"""

import argparse
import base64
import binascii
import functools
import hmac
import json
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from urllib.parse import unquote_plus

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    OAuth2Error,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from cryptography import x509
from flask import Flask, Response, jsonify, request
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from markupsafe import escape
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from devauth_tools.testca import CLIENT_SUBJECT, JWT_EC_KID, JWT_RSA_KID, load_or_make_pki

DEVICE_AUTHZ_PATH = "/as/device_authz.oauth2"
TOKEN_PATH = "/as/token.oauth2"
REVOKE_PATH = "/as/revoke_token.oauth2"
USER_AUTHZ_PATH = "/as/user_authz.oauth2"
STATS_PATH = "/_devauth/stats"
METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")

# RFC 6749 §2.3.1 makes the client form-urlencode id and secret before HTTP Basic: this secret
# needs it (":" "/" "+" "&" "=" "%" " " and a non-ASCII letter).
CLIENT_SECRET = "s3cr:t/+&=% é"
# client_secret_jwt: an HS256 key must be at least 32 bytes (RFC 7518 §3.2).
JWT_SECRET = "a-32-byte-or-longer-shared-secret-for-hs256!!"
DEFAULT_SCOPE = "openid profile"
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
ACCESS_TOKEN_EXPIRES_IN = 3600
# The order Authlib tries them in; "none" last, so a JWT client's client_id is not taken for a
# public client's.
AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
]
JWT_METHODS = ("client_secret_jwt", "private_key_jwt")
JWT_SIGNING_ALGS = ["HS256", "RS256", "ES256"]
JWT_LEEWAY = 60  # seconds of clock skew allowed for exp, iat and nbf
MAX_ASSERTION_LIFETIME = 3600  # a client assertion's exp may be at most this far ahead
DEV_USER = "devauth-dev-user"

STATS_KEYS = (
    "connections",
    "tls_handshakes",
    "requests",
    "device_authorizations",
    "token_requests",
    "revocation_requests",
    "refreshes",
    "revocations",
    "replays_rejected",
)
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection may sit idle
MAX_DRAIN = 1 << 20  # request body bytes read and dropped so a connection can be reused

FAIL_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
    b"<body><h1>Service Unavailable</h1>\n"
    b"<p>The server is temporarily unable to service your request. Please try again later.</p>\n"
    b"</body></html>\n"
)


# --------------------------------------------------------------------------------------------
# Clients and client authentication


class Client(ClientMixin):
    """A registered client; every one may use the device_code and refresh_token grants.

    JWT clients also have `signing_alg` (their `token_endpoint_auth_signing_alg`) and, for
    private_key_jwt, `kid` and `jwks` (a joserfc KeySet with their public key, set from the PKI).
    """

    def __init__(
        self, client_id, auth_method, secret=None, subject_dn=None, signing_alg=None, kid=None
    ):
        self.client_id = client_id
        self.token_endpoint_auth_method = auth_method
        self.client_secret = secret
        self.tls_client_auth_subject_dn = subject_dn  # RFC 8705 §2.1.2 metadata
        self.signing_alg = signing_alg
        self.kid = kid
        self.jwks = None
        self.private_key_files = {}  # describe(): where the PKI put the private key
        self.grant_types = (DEVICE_CODE_GRANT_TYPE, "refresh_token")
        self.scope = " ".join(SUPPORTED_SCOPES)
        self.default_scope = DEFAULT_SCOPE
        self._hmac_key = None
        if auth_method == "client_secret_jwt":
            self._hmac_key = OctKey.import_key(secret, {"alg": signing_alg, "use": "sig"})

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return self.default_scope
        allowed = self.scope.split()
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        if self.client_secret is None or client_secret is None:
            return False
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method, endpoint):
        # The same method at the token, device authorization and revocation endpoints.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    def assertion_key(self):
        """The key a client assertion is verified with: its `alg` fixed, so no other is taken."""
        if self.token_endpoint_auth_method == "client_secret_jwt":
            return self._hmac_key
        return self.jwks if self.jwks is not None else KeySet([])

    def describe(self):
        out = {"method": self.token_endpoint_auth_method}
        if self.client_secret is not None:
            out["secret"] = self.client_secret
        if self.tls_client_auth_subject_dn is not None:
            out["subject_dn"] = self.tls_client_auth_subject_dn
        if self.signing_alg is not None:
            out["alg"] = self.signing_alg
        if self.kid is not None:
            out["kid"] = self.kid
        out.update(self.private_key_files)
        out["scope"] = self.default_scope
        return out


# private_key_jwt clients: client id -> (kid, alg, PKI keys of the private key: PKCS#1/SEC1 PEM,
# PKCS#8 (DER for RSA, PEM for EC))
JWT_KEY_CLIENTS = {
    "jwt-rsa-device": (JWT_RSA_KID, "RS256", "jwt_rsa_key", "jwt_rsa_pk8_der"),
    "jwt-ec-device": (JWT_EC_KID, "ES256", "jwt_ec_key", "jwt_ec_pk8_pem"),
}


def default_clients():
    jwt_key_clients = [
        Client(cid, "private_key_jwt", signing_alg=alg, kid=kid)
        for cid, (kid, alg, _, _) in JWT_KEY_CLIENTS.items()
    ]
    return {
        c.client_id: c
        for c in (
            Client("public-device", "none"),
            Client("basic-device", "client_secret_basic", secret=CLIENT_SECRET),
            Client("post-device", "client_secret_post", secret=CLIENT_SECRET),
            Client("mtls-device", "tls_client_auth", subject_dn=CLIENT_SUBJECT),
            Client(
                "jwt-secret-device", "client_secret_jwt", secret=JWT_SECRET, signing_alg="HS256"
            ),
            *jwt_key_clients,
        )
    }


def load_client_keys(clients, pki):
    """Give the private_key_jwt clients their public keys from the PKI's `jwks.json`."""
    with open(pki["jwks_json"], encoding="utf-8") as f:
        jwks = KeySet.import_key_set(json.load(f))
    for client_id, (kid, _alg, pem_key, pkcs8_key) in JWT_KEY_CLIENTS.items():
        client = clients[client_id]
        client.jwks = KeySet([k for k in jwks.keys if k.kid == kid])
        client.private_key_files = {
            "private_key": pki[pem_key],
            "private_key_pkcs8": pki[pkcs8_key],
        }


def basic_credentials(headers):
    """(client_id, client_secret) from an HTTP Basic header, form-urldecoded (RFC 6749 §2.3.1).

    Authlib's own `extract_basic_authorization` uses `urllib.parse.unquote`, which leaves "+"
    alone, so a secret with a space, form-encoded as "+" by a compliant client, never matches.
    """
    auth = headers.get("Authorization")
    if not auth or " " not in auth:
        return None, None
    scheme, token = auth.split(None, 1)
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        client_id, colon, client_secret = decoded.partition(":")
        client_id = unquote_plus(client_id, errors="strict")
        return client_id, (unquote_plus(client_secret, errors="strict") if colon else None)
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None, None


def authenticate_client_secret_basic(query_client, req):
    """Authlib client-auth method `client_secret_basic`, with RFC 6749 §2.3.1 decoding."""
    client_id, client_secret = basic_credentials(req.headers)
    if client_id and client_secret:
        client = query_client(client_id)
        if client is None:
            raise InvalidClientError(
                status_code=401, description="The client does not exist on this server."
            )
        if client.check_client_secret(client_secret):
            return client
    return None


def _subject_matches(cert_der, expected_dn):
    cert = x509.load_der_x509_certificate(cert_der)
    expected = x509.Name.from_rfc4514_string(expected_dn)
    return cert.subject.rfc4514_string() == expected.rfc4514_string()


def authenticate_tls_client_auth(query_client, req, store=None):
    """Authlib client-auth method `tls_client_auth` (RFC 8705 §2.1.2, PKI method).

    The TLS layer has checked that the certificate chains to the client CA; here its subject DN
    must equal the client's registered `tls_client_auth_subject_dn`. With a separate mTLS
    listener (PingFederate-style), only requests that came through it qualify.
    """
    client_id = req.payload.client_id
    if (
        store is not None
        and store.opts["mtls_port"] is not None
        and request.environ.get("devauth.listener") != "mtls"
    ):
        client = query_client(client_id) if client_id else None
        if client is not None and client.token_endpoint_auth_method == "tls_client_auth":
            request.environ["devauth.note"] = "tls_client_auth only on the mTLS port"
        return None
    cert_der = request.environ.get("devauth.peer_cert_der")
    if not client_id or not cert_der:
        return None
    client = query_client(client_id)
    if client is None or not client.tls_client_auth_subject_dn:
        return None
    if _subject_matches(cert_der, client.tls_client_auth_subject_dn):
        return client
    return None


def _unauthorized(description):
    return InvalidClientError(status_code=401, description=description)


class ClientAssertionAuth(JWTBearerClientAssertion):
    """Authlib's RFC 7523 client assertion check for one method, `client_secret_jwt` or
    `private_key_jwt`: signature with the client's key and `alg`, `iss` = `sub`, `aud`, `exp`,
    `iat`/`nbf` (with `JWT_LEEWAY`), and `jti` once only.

    Both methods read the same form fields, and Authlib tries each registered method in turn, so
    an assertion from a client registered for the other method is left to it (`None`) instead of
    being checked, and its jti spent, twice. Every failure is 401 `invalid_client`.
    """

    def __init__(self, store, method):
        super().__init__(validate_jti=True, leeway=JWT_LEEWAY)
        self.CLIENT_AUTH_METHOD = method
        self.store = store

    def __call__(self, query_client, req):
        form = req.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE or not assertion:
            return None
        try:
            _, claims = self.extract_assertion(assertion)
            sub = claims.get("sub")
            client = query_client(sub) if isinstance(sub, str) else None
            if client is not None and client.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
                return None
            client_id = form.get("client_id")
            if client_id is not None and client_id != sub:  # RFC 7521 §4.2
                raise InvalidClientError(description="client_id is not the assertion's sub")
            return super().__call__(query_client, req)
        except InvalidClientError as exc:
            raise _unauthorized(exc.description) from exc
        except (JoseError, ValueError, KeyError, TypeError) as exc:  # e.g. no usable key
            raise _unauthorized(f"Invalid JWT assertion ({type(exc).__name__}).") from exc

    def verify_claims(self, claims):
        # RFC 7523 §3 lets a server refuse an exp unreasonably far in the future: that catches
        # milliseconds for seconds, and bounds how long a jti must be remembered.
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp > time.time() + MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="Claim 'exp' is too far in the future.")
        super().verify_claims(claims)

    def get_audiences(self):
        base = self.store.base_url
        return [base + TOKEN_PATH, base + DEVICE_AUTHZ_PATH, base]

    def resolve_client_public_key(self, client):
        return client.assertion_key()

    def validate_jti(self, claims, jti):
        return self.store.use_jti(claims["sub"], jti, claims["exp"])


# --------------------------------------------------------------------------------------------
# Authlib grants and endpoint, backed by the in-memory store


class _DeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS
    USER_CODE_TYPE = "string"  # XXXX-XXXX from BCDFGHJKLMNPQRSTVWXZ

    def __init__(self, server, store):
        super().__init__(server)
        self.store = store
        self.EXPIRES_IN = store.opts["expires_in"]
        self.INTERVAL = store.opts["interval"]

    def get_verification_uri(self):
        return self.store.base_url + USER_AUTHZ_PATH

    def generate_user_code(self):
        while True:
            code = super().generate_user_code()
            if not self.store.user_code_taken(code):
                return code

    def save_device_credential(self, client_id, scope, data):
        self.store.save_device_credential(client_id, scope, data)

    def create_endpoint_response(self, req):
        status, data, headers = super().create_endpoint_response(req)
        if self.store.opts["no_interval"]:
            data = {k: v for k, v in data.items() if k != "interval"}
        return status, data, headers


class _DeviceCodeGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def query_device_credential(self, device_code):
        return self.server.store.poll_device_credential(device_code)

    def query_user_grant(self, user_code):
        return self.server.store.user_grant(user_code)

    def should_slow_down(self, credential):
        return self.server.store.should_slow_down(credential)


class _RefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: a new refresh token each time

    def authenticate_refresh_token(self, refresh_token):
        return self.server.store.find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token):
        return refresh_token["user"]

    def revoke_old_credential(self, refresh_token):
        self.server.store.rotated(refresh_token)


class _RevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, req, client):
        try:
            super().check_params(req, client)
        except UnsupportedTokenTypeError as exc:
            # Authlib makes it a 401 (a ForbiddenError); RFC 7009 §2.2.1: an RFC 6749 §5.2 400
            raise OAuth2Error(error=exc.error, status_code=400) from exc

    def query_token(self, token_string, token_type_hint):
        return self.server.store.find_token(token_string, token_type_hint)

    def revoke_token(self, token, req):
        self.server.store.revoke_token(token, req.form["token"])


class _Token(dict):
    """One token response: access and refresh token (Authlib's TokenMixin calls)."""

    def check_client(self, client):
        return self["client_id"] == client.get_client_id()

    def get_scope(self):
        return self.get("scope")

    def is_revoked(self):
        return self.get("revoked", False)


class _AuthorizationServer(AuthorizationServer):
    def __init__(self, app, store):
        self.store = store
        super().__init__(app, query_client=store.query_client, save_token=store.save_token)

    def authenticate_client(self, req, methods, endpoint="token"):
        client = super().authenticate_client(req, methods, endpoint)
        self.store.count_auth(req.auth_method)
        return client


def normalize_user_code(code):
    """ "bcdf gh-jk" -> "BCDF-GHJK": case-insensitive, with or without the dash."""
    s = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return s[:4] + "-" + s[4:] if len(s) == 8 else s


class _Store:
    """Clients, device codes, user decisions, tokens and counters, shared by all threads."""

    def __init__(self, opts, log):
        self.opts = opts
        self.log = log
        self.clients = default_clients()
        self.base_url = ""
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.credentials = {}  # device_code -> DeviceCredentialDict
        self.by_user_code = {}  # user_code -> device_code
        self.decisions = {}  # user_code -> (user, approved)
        self.tokens = {}  # refresh_token -> _Token
        self.access_tokens = {}  # access_token -> the same _Token
        self.jtis = {}  # (client_id, jti) -> until when it is remembered
        self.mtls_base_url = None
        self.counters = dict.fromkeys(STATS_KEYS, 0)
        self.counters.update(
            tls_handshake_failures=0, injected_failures=0, slow_downs=0, tokens_issued=0
        )
        self.auth_methods = {}  # method -> successful client authentications
        self.endpoint_requests = 0

    def count(self, key, n=1):
        with self.lock:
            self.counters[key] += n
            return self.counters[key]

    def count_auth(self, method):
        with self.lock:
            self.auth_methods[method] = self.auth_methods.get(method, 0) + 1

    def stats(self):
        with self.lock:
            out = dict(self.counters)
            out["auth_methods"] = dict(self.auth_methods)
            return out

    def metadata(self):
        """RFC 8414 authorization server metadata (also served as openid-configuration)."""
        base = self.base_url
        meta = {
            "issuer": base,
            "device_authorization_endpoint": base + DEVICE_AUTHZ_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "grant_types_supported": [DEVICE_CODE_GRANT_TYPE, "refresh_token"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(JWT_SIGNING_ALGS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(JWT_SIGNING_ALGS),
            "scopes_supported": list(SUPPORTED_SCOPES),
        }
        if self.mtls_base_url:  # RFC 8705 §5
            mtls = self.mtls_base_url
            meta["mtls_endpoint_aliases"] = {
                "token_endpoint": mtls + TOKEN_PATH,
                "device_authorization_endpoint": mtls + DEVICE_AUTHZ_PATH,
                "revocation_endpoint": mtls + REVOKE_PATH,
            }
        return meta

    # clients and tokens
    def query_client(self, client_id):
        return self.clients.get(client_id)

    def use_jti(self, client_id, jti, exp):
        """True the first time a client's assertion `jti` is seen while its `exp` (+ leeway) lasts;
        False (a replay, counted) after."""
        now = time.time()
        with self.lock:
            for key in [k for k, until in self.jtis.items() if until < now]:
                del self.jtis[key]
            key = (client_id, jti)
            if key in self.jtis:
                self.counters["replays_rejected"] += 1
                return False
            self.jtis[key] = exp + JWT_LEEWAY
            return True

    def save_token(self, token, req):
        with self.lock:
            self.counters["tokens_issued"] += 1
            credential = getattr(req, "credential", None)
            if credential is not None:
                credential["used"] = True  # a device code gives one token response
            record = _Token(
                client_id=req.client.get_client_id(),
                scope=token.get("scope"),
                user=req.user or DEV_USER,
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                expires_at=time.time() + token["expires_in"],
                revoked=False,  # the refresh token
                access_revoked=False,
            )
            self.access_tokens[token["access_token"]] = record
            if token.get("refresh_token"):
                self.tokens[token["refresh_token"]] = record

    def find_refresh_token(self, refresh_token):
        with self.lock:
            token = self.tokens.get(refresh_token)
            return token if token is not None and not token.is_revoked() else None

    def rotated(self, token):
        """A refresh token was used: it is spent (its access token lives on until it expires)."""
        with self.lock:
            token["revoked"] = True
            self.counters["refreshes"] += 1

    def find_token(self, token_string, hint=None):
        """The record of an access or refresh token, revoked or not (RFC 7009: the hint is only
        where to look first)."""
        with self.lock:
            tables = [self.access_tokens, self.tokens]
            if hint == "refresh_token":
                tables.reverse()
            for table in tables:
                if token_string in table:
                    return table[token_string]
            return None

    def revoke_token(self, token, token_string):
        """RFC 7009: a refresh token goes with its access token; an access token alone."""
        with self.lock:
            if token_string == token.get("refresh_token"):
                token["revoked"] = True
            token["access_revoked"] = True
            self.counters["revocations"] += 1

    def token_info(self, token_string):
        with self.lock:
            token = self.find_token(token_string)
            if token is None:
                return None
            if token_string == token.get("refresh_token"):
                kind, active = "refresh_token", not token["revoked"]
            else:
                kind = "access_token"
                active = not token["access_revoked"] and time.time() < token["expires_at"]
            return {
                "token_type_hint": kind,
                "active": active,
                "client_id": token["client_id"],
                "scope": token["scope"],
                "expires_at": token["expires_at"] if kind == "access_token" else None,
            }

    # device codes
    def user_code_taken(self, user_code):
        with self.lock:
            return user_code in self.by_user_code

    def save_device_credential(self, client_id, scope, data):
        now = time.time()
        with self.lock:
            cred = DeviceCredentialDict(
                client_id=client_id,
                scope=scope,
                device_code=data["device_code"],
                user_code=data["user_code"],
                issued_at=now,
                expires_at=now + data["expires_in"],
                polls=0,
                used=False,
            )
            self.credentials[cred["device_code"]] = cred
            self.by_user_code[cred["user_code"]] = cred["device_code"]
            self.changed.notify_all()

    def poll_device_credential(self, device_code):
        with self.lock:
            cred = self.credentials.get(device_code)
            if cred is None or cred["used"]:
                return None
            cred["polls"] += 1
            return cred

    def should_slow_down(self, credential):
        every = self.opts["slow_down_every"]
        if every and credential["polls"] % every == 0:
            self.count("slow_downs")
            return True
        return False

    def user_grant(self, user_code):
        """(user, approved) once decided, else None (Authlib's query_user_grant)."""
        with self.lock:
            return self._decision(user_code, self._credential_for(user_code))

    def _decision(self, user_code, cred):
        if user_code not in self.decisions:
            delay = self.opts["auto_approve"]
            if delay is not None and cred is not None and time.time() >= cred["issued_at"] + delay:
                self.decisions[user_code] = (DEV_USER, not self.opts["deny"])
        return self.decisions.get(user_code)

    def _credential_for(self, user_code):
        device_code = self.by_user_code.get(user_code)
        return self.credentials.get(device_code) if device_code else None

    def lookup(self, user_code):
        """("unknown"|"pending"|"approved"|"denied", credential) for a code as a person typed it."""
        code = normalize_user_code(user_code)
        with self.lock:
            cred = self._credential_for(code)
            if cred is None or cred.is_expired():
                return "unknown", None
            decision = self._decision(code, cred)
            if decision is not None:
                return ("approved" if decision[1] else "denied"), cred
            if cred["used"]:
                return "approved", cred
            return "pending", cred

    def decide(self, user_code, approved):
        """Record a person's decision; returns what `lookup` said before it."""
        code = normalize_user_code(user_code)
        with self.lock:
            status, cred = self.lookup(code)
            if status == "pending":
                self.decisions[code] = (DEV_USER, approved)
                self.changed.notify_all()
            return status, cred

    def pending_user_codes(self):
        with self.lock:
            return [code for code in list(self.by_user_code) if self.lookup(code)[0] == "pending"]


# --------------------------------------------------------------------------------------------
# The Flask application


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>devauth: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28em; margin: 1.5em auto;
       padding: 0 1em; line-height: 1.4; }}
input[type=text] {{ font-size: 1.6em; width: 100%; box-sizing: border-box; padding: .3em;
       letter-spacing: .1em; text-transform: uppercase; font-family: monospace; }}
button {{ font-size: 1.2em; padding: .5em 1.2em; margin: .8em .5em 0 0; }}
.error {{ color: #a00; font-weight: bold; }} .ok {{ color: #070; font-weight: bold; }}
</style></head>
<body>
<h1>{title}</h1>
{body}
</body></html>
"""


def _page(title, body, status=200):
    html = _PAGE.format(title=escape(title), body=body)
    return Response(html, status=status, mimetype="text/html")


def _form_page(code="", error=None, info=None, status=200):
    parts = []
    if error:
        parts.append(f'<p class="error">{escape(error)}</p>')
    if info:
        parts.append(f"<p>{info}</p>")
    parts.append(
        "<p>Enter the code shown on your device.</p>\n"
        f'<form method="post" action="{USER_AUTHZ_PATH}">\n'
        '<label for="user_code">Code</label><br>\n'
        '<input type="text" id="user_code" name="user_code" autocomplete="off" '
        'autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX" '
        f'value="{escape(code)}" required><br>\n'
        '<button type="submit" name="action" value="approve">Approve</button>\n'
        '<button type="submit" name="action" value="deny">Deny</button>\n'
        "</form>"
    )
    return _page("Connect a device", "\n".join(parts), status)


def _describe_request(cred):
    if not cred:
        return ""
    scope = cred.get("scope") or DEFAULT_SCOPE
    return f"<b>{escape(cred['client_id'])}</b> asks for access to: <b>{escape(scope)}</b>"


def create_app(store):
    """The Flask app with the Authlib server; `store` holds state and options."""
    app = Flask("devauth_tools.dev_as")
    app.config.update(
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={
            DEVICE_CODE_GRANT_TYPE: store.opts["access_token_lifetime"],
            "refresh_token": store.opts["access_token_lifetime"],
        },
        OAUTH2_SCOPES_SUPPORTED=list(SUPPORTED_SCOPES),
    )
    server = _AuthorizationServer(app, store)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_client_auth_method(
        "tls_client_auth", functools.partial(authenticate_tls_client_auth, store=store)
    )
    for method in JWT_METHODS:
        server.register_client_auth_method(method, ClientAssertionAuth(store, method))
    server.register_grant(_DeviceCodeGrant)
    server.register_grant(_RefreshTokenGrant)
    server.register_endpoint(_DeviceAuthorizationEndpoint(server, store))
    server.register_endpoint(_RevocationEndpoint)
    app.extensions["devauth.authorization_server"] = server

    @app.before_request
    def count_and_fail():
        counter = {
            DEVICE_AUTHZ_PATH: "device_authorizations",
            TOKEN_PATH: "token_requests",
            REVOKE_PATH: "revocation_requests",
        }
        key = counter.get(request.path)
        if key is None:
            return None
        every = store.opts["fail_every"]
        with store.lock:
            store.counters[key] += 1
            store.endpoint_requests += 1
            fail = bool(every) and store.endpoint_requests % every == 0
            if fail:
                store.counters["injected_failures"] += 1
        if fail:
            request.environ["devauth.note"] = "injected failure"
            return Response(FAIL_HTML, status=503, mimetype="text/html")
        return None

    @app.after_request
    def note_oauth_error(response):
        if response.status_code >= 400 and response.mimetype == "application/json":
            body = response.get_json(silent=True) or {}
            if isinstance(body, dict) and body.get("error"):
                note = str(body["error"])
                if body.get("error_description"):
                    note += f": {body['error_description']}"
                request.environ.setdefault("devauth.note", note)
        return response

    @app.post(DEVICE_AUTHZ_PATH)
    def device_authorization():
        return server.create_endpoint_response(DeviceAuthorizationEndpoint.ENDPOINT_NAME)

    @app.post(TOKEN_PATH)
    def token():
        return server.create_token_response()

    @app.post(REVOKE_PATH)
    def revoke():
        return server.create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME)

    @app.route(USER_AUTHZ_PATH, methods=["GET", "POST"])
    def user_authz():
        if request.method != "POST":
            code = normalize_user_code(request.args.get("user_code", ""))
            status, cred = store.lookup(code) if code else ("unknown", None)
            info = _describe_request(cred) if status == "pending" else None
            return _form_page(code, info=info)
        code = request.form.get("user_code", "")
        action = request.form.get("action")
        if action not in ("approve", "deny"):
            return _form_page(code, error="Choose Approve or Deny.", status=400)
        status, cred = store.decide(code, approved=action == "approve")
        if status == "unknown":
            return _form_page(code, error="Unknown or expired code", status=400)
        if status != "pending":
            request.environ["devauth.note"] = f"already {status}"
            return _page(
                "Already done",
                f'<p class="ok">This code was already {status}.</p>'
                "<p>You can return to your device.</p>",
            )
        done = "approved" if action == "approve" else "denied"
        request.environ["devauth.note"] = f"{done} a code for {cred['client_id']}"
        message = (
            "Device approved. You can return to your device."
            if action == "approve"
            else "Access denied. The device will not be signed in."
        )
        return _page(
            "Approved" if action == "approve" else "Denied",
            f'<p class="ok">{escape(message)}</p>\n<p>{_describe_request(cred)}</p>',
        )

    @app.get(STATS_PATH)
    def stats():
        return jsonify(store.stats())

    def metadata():
        return jsonify(store.metadata())

    for i, path in enumerate(METADATA_PATHS):
        app.add_url_rule(path, f"metadata{i}", metadata)

    return app


# --------------------------------------------------------------------------------------------
# HTTPS server: TLS per connection thread, HTTP/1.1 keep-alive, counters


class _BodyReader:
    """wsgi.input limited to the request body, so what the app leaves can be drained after."""

    def __init__(self, stream, length):
        self._stream = stream
        self.remaining = length  # None: the stream ends itself (chunked)

    def _limit(self, size):
        if self.remaining is None:
            return size
        if size is None or size < 0 or size > self.remaining:
            return self.remaining
        return size

    def read(self, size=-1):
        if self.remaining == 0:
            return b""
        size = self._limit(size)
        data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        self._consumed(data)
        return data

    def readline(self, size=-1):
        if self.remaining == 0:
            return b""
        size = self._limit(size)
        data = self._stream.readline(-1 if size is None else size)
        self._consumed(data)
        return data

    def _consumed(self, data):
        if self.remaining is not None:
            self.remaining = 0 if not data else self.remaining - len(data)
        elif not data:
            self.remaining = 0

    def drain(self, limit=MAX_DRAIN):
        """Read and drop the rest; False if that was too much or the stream broke."""
        total = 0
        try:
            while self.remaining != 0:
                if total > limit:
                    return False
                data = self.read(65536)
                if not data:
                    break
                total += len(data)
        except (OSError, ValueError):
            return False
        return True


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with the TLS handshake in the connection's own thread, keep-alive
    (every response has a Content-Length; werkzeug 3 always sends "Connection: close"),
    the peer certificate in the environ, counters and a log line per request."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self):
        srv = self.server
        self.store = srv.store
        self.conn_id = self.store.count("connections")
        self.tls = None
        raw = self.request
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT)
            tls = srv.ssl_context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except OSError:
            raw.close()
            return
        if not srv.track(self, tls):  # shutting down
            tls.close()
            return
        try:
            tls.do_handshake()
        except (OSError, ValueError) as exc:
            self.store.count("tls_handshake_failures")
            self.store.log(f"conn {self.conn_id}: TLS handshake failed: {exc}")
            srv.untrack(self)
            tls.close()
            return
        self.store.count("tls_handshakes")
        try:
            tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.tls = self.request = tls
        super().setup()

    def handle(self):
        if self.tls is not None:
            super().handle()

    def finish(self):
        if self.tls is None:
            return
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self)
            tls, self.tls = self.tls, None
            try:  # send close_notify, without waiting for the peer's
                tls.setblocking(False)
                tls.unwrap()
            except (OSError, ValueError):
                pass
            tls.close()

    def make_environ(self):
        environ = super().make_environ()
        try:
            der = self.connection.getpeercert(binary_form=True)
        except (AttributeError, ValueError):
            der = None
        environ["devauth.peer_cert_der"] = der
        environ["devauth.connection"] = self.conn_id
        environ["devauth.listener"] = self.server.listener
        return environ

    def run_wsgi(self):
        self.store.count("requests")
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body_reader = self._body_reader(environ)
        if body_reader is None:
            self._respond("400 Bad Request", [("Content-Type", "text/plain")], b"Bad Request\n")
            self.close_connection = True
            return
        environ["wsgi.input"] = body_reader

        started = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers
            return chunks.append

        chunks = []
        try:
            app_iter = self.server.app(environ, start_response)
            try:
                for data in app_iter:
                    chunks.append(data)
            finally:
                if hasattr(app_iter, "close"):
                    app_iter.close()
            status, headers = started["status"], started["headers"]
        except Exception:
            self.store.log(f"conn {self.conn_id}: error:\n{traceback.format_exc()}")
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            chunks = [b"Internal Server Error\n"]
        drained = body_reader.drain()
        self._respond(status, headers, b"".join(chunks))
        if not drained:
            self.close_connection = True

    def _body_reader(self, environ):
        if environ.get("wsgi.input_terminated"):  # chunked, werkzeug de-chunks
            return _BodyReader(environ["wsgi.input"], None)
        length = environ.get("CONTENT_LENGTH", "").strip()
        if not length:
            return _BodyReader(self.rfile, 0)
        if not length.isdigit():
            return None
        return _BodyReader(self.rfile, int(length))

    def _respond(self, status, headers, body):
        opts = self.store.opts
        code_str, _, reason = status.partition(" ")
        code = int(code_str)
        head = self.command == "HEAD"
        self.send_response(code, reason)
        has_length = False
        for key, value in headers:
            lower = key.lower()
            if lower in ("connection", "keep-alive", "transfer-encoding"):
                continue
            if lower == "content-length":
                if not head:
                    continue
                has_length = True
            self.send_header(key, value)
        if not (head and has_length) and code >= 200 and code not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        client_wants_close = self.close_connection
        if opts["no_keep_alive"] or client_wants_close:
            self.send_header("Connection", "close")  # also sets close_connection
        elif opts["close_after_response"]:
            self.close_connection = True  # like an idle timeout: no header, just close
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        # head and body in one write: one TLS record, no Nagle/delayed-ACK stall between them
        self._headers_buffer.append(b"\r\n")
        if not head:
            self._headers_buffer.append(body)
        self.flush_headers()
        note = self.environ.get("devauth.note") if getattr(self, "environ", None) else None
        path = self.path.split("?", 1)[0]
        line = f"{self.server.log_prefix}conn {self.conn_id}: {self.command} {path} -> {code}"
        self.store.log(line + (f" ({note})" if note else ""))

    def log_request(self, code="-", size="-"):
        pass  # one line per request from _respond, without the query string

    def log_error(self, format, *args):
        self.store.log(f"conn {getattr(self, 'conn_id', '?')}: " + (format % args))

    def log_message(self, format, *args):
        self.log_error(format, *args)


class _Server(ThreadedWSGIServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the connection threads

    def __init__(self, host, port, app, store, ssl_context, listener="main"):
        self.store = store
        self.listener = listener  # "main", or "mtls": the listener that requires a certificate
        self.log_prefix = "" if listener == "main" else listener + " "
        self._live = {}
        self._live_lock = threading.Lock()
        self._closing = False
        super().__init__(host, port, app, handler=_Handler)
        # TLS is done per connection in _Handler.setup (not in the accept loop); werkzeug
        # reads ssl_context to know the URL scheme is https.
        self.ssl_context = ssl_context

    def track(self, handler, sock):
        with self._live_lock:
            if self._closing:
                return False
            self._live[handler] = sock
            return True

    def untrack(self, handler):
        with self._live_lock:
            self._live.pop(handler, None)

    def close_connections(self):
        with self._live_lock:
            self._closing = True
            for sock in self._live.values():
                try:  # the plain socket's shutdown: wakes the thread blocked reading it
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass


def make_tls_context(pki, require_client_cert=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki["server_pem"], pki["server_key"])
    ctx.load_verify_locations(cafile=pki["client_ca_pem"])
    # ask for a client certificate (tls_client_auth); the mTLS listener insists on one
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return ctx


def _url(host, port):
    return f"https://{'[' + host + ']' if ':' in host else host}:{port}"


# --------------------------------------------------------------------------------------------
# In-process API


class DevAS:
    """The dev authorization server in a background thread.

    `state_dir`: where the PKI and `server.json` go (a temp dir, removed on stop, if None).
    Options are the command-line flags: `host`, `port` (0 = a free port), `auto_approve`
    (seconds after issue; None = only a person or `approve()` decides), `deny` (auto-approval
    denies), `interval`, `expires_in`, `no_interval`, `slow_down_every`, `fail_every`,
    `close_after_response`, `no_keep_alive`, `access_token_lifetime` (seconds, 3600),
    `mtls_port` (None: no second listener; 0 = a free port: an HTTPS listener that requires a
    client certificate, serves the same endpoints, is advertised as RFC 8705
    `mtls_endpoint_aliases`, and is then the only place `tls_client_auth` is accepted); also
    `advertise_host` (the host name in `base_url` and, besides localhost and 127.0.0.1, in the
    server certificate) and `quiet`.

    After `start()`: `port`, `base_url`, `mtls_port`, `mtls_base_url` (None without mTLS
    listener), `pki` (testca paths), `jwks` (the private_key_jwt clients' public JWK Set),
    `clients` (what `server.json` lists), `metadata()`.
    """

    def __init__(
        self,
        state_dir=None,
        *,
        host="127.0.0.1",
        port=8443,
        auto_approve=None,
        deny=False,
        interval=5,
        expires_in=600,
        no_interval=False,
        slow_down_every=None,
        fail_every=None,
        close_after_response=False,
        no_keep_alive=False,
        advertise_host="localhost",
        access_token_lifetime=ACCESS_TOKEN_EXPIRES_IN,
        mtls_port=None,
        quiet=False,
        log_stream=None,
    ):
        if deny and auto_approve is None:
            raise ValueError("deny needs auto_approve (it makes the auto-approval deny)")
        if close_after_response and no_keep_alive:
            raise ValueError("close_after_response and no_keep_alive exclude each other")
        for name, value in (("slow_down_every", slow_down_every), ("fail_every", fail_every)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if int(access_token_lifetime) < 1:
            raise ValueError("access_token_lifetime must be at least 1")
        if mtls_port is not None and mtls_port < 0:
            raise ValueError("mtls_port must be 0 (a free port) or a port number")
        self.host = host
        self.requested_port = port
        self.advertise_host = advertise_host
        self._own_dir = state_dir is None
        self.state_dir = os.path.abspath(state_dir or tempfile.mkdtemp(prefix="devauth-dev-as-"))
        self.opts = {
            "auto_approve": auto_approve,
            "deny": deny,
            "interval": int(interval),
            "expires_in": int(expires_in),
            "no_interval": no_interval,
            "slow_down_every": slow_down_every,
            "fail_every": fail_every,
            "close_after_response": close_after_response,
            "no_keep_alive": no_keep_alive,
            "access_token_lifetime": int(access_token_lifetime),
            "mtls_port": mtls_port,
        }
        self._quiet = quiet
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        self.store = _Store(self.opts, self._log)
        self.app = create_app(self.store)
        self.port = None
        self.base_url = None
        self.mtls_port = None
        self.mtls_base_url = None
        self.pki = None
        self.jwks = None
        self.server_json = os.path.join(self.state_dir, "server.json")
        self._server = None
        self._thread = None
        self._mtls_server = None
        self._mtls_thread = None

    def _log(self, line):
        if self._quiet:
            return
        stream = self._log_stream or sys.stderr
        with self._log_lock:
            stream.write(f"dev-as: {line}\n")
            stream.flush()

    @property
    def clients(self):
        return {cid: c.describe() for cid, c in self.store.clients.items()}

    def start(self):
        if self._server is not None:
            return self
        os.makedirs(self.state_dir, exist_ok=True)
        hosts = ["localhost", "127.0.0.1"]
        if self.advertise_host not in hosts:
            hosts.append(self.advertise_host)
        self.pki = load_or_make_pki(self.state_dir, hosts)
        load_client_keys(self.store.clients, self.pki)
        with open(self.pki["jwks_json"], encoding="utf-8") as f:
            self.jwks = json.load(f)
        self._server = self._listen(self.requested_port, make_tls_context(self.pki), "main")
        self.port = self._server.port
        self.base_url = _url(self.advertise_host, self.port)
        self.store.base_url = self.base_url
        if self.opts["mtls_port"] is not None:
            try:
                ctx = make_tls_context(self.pki, require_client_cert=True)
                self._mtls_server = self._listen(self.opts["mtls_port"], ctx, "mtls")
            except OSError:
                self._server.server_close()
                self._server = None
                raise
            self.mtls_port = self._mtls_server.port
            self.mtls_base_url = _url(self.advertise_host, self.mtls_port)
            self.store.mtls_base_url = self.mtls_base_url
        self._write_server_json()
        self._thread = self._serve(self._server)
        if self._mtls_server is not None:
            self._mtls_thread = self._serve(self._mtls_server)
        return self

    def _listen(self, port, ctx, listener):
        try:
            return _Server(self.host, port, self.app, self.store, ctx, listener)
        except SystemExit as exc:  # werkzeug exits when it cannot bind
            raise OSError(f"dev-as: cannot listen on {self.host}:{port}") from exc

    def _serve(self, server):
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"dev-as:{server.port}",
            daemon=True,
        )
        thread.start()
        return thread

    def _write_server_json(self):
        info = {
            "base_url": self.base_url,
            "port": self.port,
            "ca_der": self.pki["ca_der"],
            "ca_pem": self.pki["ca_pem"],
            "pki": self.pki,
            "clients": self.clients,
            "jwks": self.jwks,
            **self.metadata(),
            "verification_uri": self.base_url + USER_AUTHZ_PATH,
            "stats_url": self.base_url + STATS_PATH,
            "mtls_port": self.mtls_port,
            "mtls_base_url": self.mtls_base_url,
            "access_token_lifetime": self.opts["access_token_lifetime"],
            "pid": os.getpid(),
        }
        tmp = self.server_json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, self.server_json)

    def stop(self):
        server, self._server = self._server, None
        if server is None:
            return
        mtls, self._mtls_server = self._mtls_server, None
        pairs = [(server, self._thread)] + ([(mtls, self._mtls_thread)] if mtls else [])
        for srv, _ in pairs:
            srv.shutdown()  # the accept loop ends; serve_forever then joins connection threads
            srv.close_connections()
        for srv, thread in pairs:
            thread.join(timeout=HANDSHAKE_TIMEOUT + 5)
            srv.server_close()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # observing and steering
    def stats(self):
        """Counters since start (every request counts, stats too): "connections",
        "tls_handshakes", "tls_handshake_failures", "requests", "device_authorizations",
        "token_requests", "revocation_requests" (requests to those endpoints), "tokens_issued",
        "refreshes" (refresh tokens used, so rotated), "revocations" (tokens revoked),
        "replays_rejected" (client assertions with a jti seen before), "slow_downs",
        "injected_failures", and "auth_methods": {method: successful client authentications}
        (e.g. {"private_key_jwt": 3}: one per request, each poll too)."""
        return self.store.stats()

    def metadata(self):
        """The RFC 8414 metadata document the well-known paths serve."""
        return self.store.metadata()

    def token_info(self, token):
        """What the server knows of an access or refresh token it issued, or None:
        {"token_type_hint", "active", "client_id", "scope", "expires_at" (access tokens)}."""
        return self.store.token_info(token)

    def approve(self, user_code):
        """Approve a pending user code (any case, dash optional) as a person on the page would."""
        self._decide(user_code, True)

    def deny(self, user_code):
        self._decide(user_code, False)

    def _decide(self, user_code, approved):
        status, _ = self.store.decide(user_code, approved)
        if status == "unknown":
            raise KeyError(f"unknown or expired user code {user_code!r}")
        if status != "pending":
            raise ValueError(f"user code {user_code!r} was already {status}")

    def pending_user_codes(self):
        """User codes issued, not expired and not yet decided, oldest first."""
        return self.store.pending_user_codes()

    def wait_for_user_code(self, timeout=10.0):
        """The newest pending user code, waiting up to `timeout` s for one; None if none came."""
        deadline = time.monotonic() + timeout
        with self.store.changed:
            while True:
                codes = self.store.pending_user_codes()
                if codes:
                    return codes[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.store.changed.wait(left)


# --------------------------------------------------------------------------------------------
# Command line


def build_parser(prog="devauth dev-as"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Local OAuth 2.0 Device Authorization Grant server (RFC 8628) over HTTPS, "
        "on PingFederate's paths, for developing and testing the devauth firmware.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8443, help="port (8443; 0 picks a free one)")
    p.add_argument("--state-dir", help="where the test PKI and server.json go (a temp dir)")
    p.add_argument(
        "--advertise-host",
        default="localhost",
        help="host name in base_url, added to the server certificate (for a board on the LAN)",
    )
    p.add_argument(
        "--auto-approve",
        type=float,
        metavar="SECONDS",
        help="approve each device code this long after it was issued (else a person approves)",
    )
    p.add_argument("--deny", action="store_true", help="auto-approval denies instead")
    p.add_argument("--interval", type=int, default=5, help="polling interval in seconds (5)")
    p.add_argument("--expires-in", type=int, default=600, help="device code lifetime (600)")
    p.add_argument(
        "--no-interval", action="store_true", help="omit interval from the device authz response"
    )
    p.add_argument(
        "--slow-down-every", type=int, metavar="N", help="every Nth poll answers slow_down"
    )
    p.add_argument(
        "--fail-every",
        type=int,
        metavar="N",
        help="every Nth request to the OAuth endpoints answers 503 with an HTML body",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--close-after-response",
        action="store_true",
        help="close the connection after each response without Connection: close",
    )
    mode.add_argument(
        "--no-keep-alive", action="store_true", help="send Connection: close and close"
    )
    p.add_argument(
        "--access-token-lifetime",
        type=int,
        default=ACCESS_TOKEN_EXPIRES_IN,
        metavar="SECONDS",
        help=f"access token expires_in ({ACCESS_TOKEN_EXPIRES_IN})",
    )
    p.add_argument(
        "--mtls-port",
        type=int,
        metavar="N",
        help="also listen on port N (0 picks a free one) with a required client certificate, "
        "advertised as mtls_endpoint_aliases; tls_client_auth is then accepted only there",
    )
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.deny and args.auto_approve is None:
        parser.error("--deny needs --auto-approve SECONDS")
    for name in ("slow_down_every", "fail_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.access_token_lifetime < 1:
        parser.error("--access-token-lifetime must be at least 1")
    if args.mtls_port is not None and args.mtls_port < 0:
        parser.error("--mtls-port must be 0 (a free port) or a port number")
    srv = DevAS(
        args.state_dir,
        host=args.host,
        port=args.port,
        auto_approve=args.auto_approve,
        deny=args.deny,
        interval=args.interval,
        expires_in=args.expires_in,
        no_interval=args.no_interval,
        slow_down_every=args.slow_down_every,
        fail_every=args.fail_every,
        close_after_response=args.close_after_response,
        no_keep_alive=args.no_keep_alive,
        advertise_host=args.advertise_host,
        access_token_lifetime=args.access_token_lifetime,
        mtls_port=args.mtls_port,
        quiet=args.quiet,
    )
    try:
        srv.start()
    except OSError as exc:
        print(f"devauth dev-as: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a `&` job ignores it
            signal.signal(sig, lambda *_: stop.set())
    print(f"devauth dev-as listening on {srv.base_url}", flush=True)
    print(
        f"dev-as: state dir {srv.state_dir} (server.json, ca.pem, ca.der, client certs); "
        f"approve codes at {srv.base_url}{USER_AUTHZ_PATH}"
        + (f"; mTLS endpoints on {srv.mtls_base_url}" if srv.mtls_base_url else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
