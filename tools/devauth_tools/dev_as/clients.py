"""Registered clients and client authentication (Basic with RFC 6749 §2.3.1 decoding,
RFC 8705 tls_client_auth, RFC 7523 client assertions)."""

import base64
import binascii
import hmac
import json
import time
from urllib.parse import unquote_plus

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from cryptography import x509
from flask import request
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from devauth_tools.dev_as.constants import (
    CLIENT_SECRET,
    DEFAULT_SCOPE,
    DEVICE_AUTHZ_PATH,
    JWT_LEEWAY,
    JWT_SECRET,
    MAX_ASSERTION_LIFETIME,
    SUPPORTED_SCOPES,
    TOKEN_PATH,
)
from devauth_tools.testca import CLIENT_SUBJECT, JWT_EC_KID, JWT_RSA_KID


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
