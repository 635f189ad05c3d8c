"""The dev authorization server's JWT client authentication (RFC 7523), refresh-token rotation,
revocation (RFC 7009), discovery metadata (RFC 8414) and the separate mTLS listener (RFC 8705),
driven by CPython: assertions are made with pyjwt, requests with http.client."""

import base64
import hashlib
import hmac
import http.client
import io
import json
import ssl
import time
import uuid
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
from authlib.oauth2.rfc7523 import client_secret_jwt_sign, private_key_jwt_sign
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from devauth_tools.dev_as import JWT_SECRET, DevAS
from devauth_tools.testca import make_pki
from e2e import dev_as_process, dev_as_servers, tls_context
from joserfc.jwk import ECKey, OctKey, RSAKey

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_AUTHZ = "/as/device_authz.oauth2"
TOKEN = "/as/token.oauth2"
REVOKE = "/as/revoke_token.oauth2"
METADATA_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
SIX_METHODS = {
    "none",
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
    "client_secret_jwt",
    "private_key_jwt",
}
# client id -> (alg, kid, PKI key of the PEM private key; None: the shared secret)
JWT_CLIENTS = {
    "jwt-secret-device": ("HS256", None, None),
    "jwt-rsa-device": ("RS256", "rsa-1", "jwt_rsa_key"),
    "jwt-ec-device": ("ES256", "ec-1", "jwt_ec_key"),
}
METHOD = {"jwt-secret-device": "client_secret_jwt"}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    """One PKI for the module (DevAS reuses it), so each server starts quickly."""
    return str(tmp_path_factory.mktemp("as"))


@pytest.fixture
def make_server(state_dir):
    with dev_as_servers(lambda n: state_dir) as start:
        yield start


@pytest.fixture
def srv(make_server):
    return make_server()


def signing_key(srv, client_id):
    pem_key = JWT_CLIENTS[client_id][2]
    if pem_key is None:
        return JWT_SECRET
    with open(srv.pki[pem_key], "rb") as f:
        return f.read()


def assertion(srv, client_id, *, key=None, alg=None, kid="default", headers=None, **claims):
    """A client assertion as the firmware makes it; claims/headers given as None are left out."""
    dflt_alg, dflt_kid, _ = JWT_CLIENTS.get(client_id, ("RS256", None, None))
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": srv.base_url + TOKEN,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = dict(headers or {})
    kid = dflt_kid if kid == "default" else kid
    if kid is not None:
        head["kid"] = kid
    return jwt.encode(
        body,
        key if key is not None else signing_key(srv, client_id),
        algorithm=alg or dflt_alg,
        headers=head,
    )


class Conn:
    """One keep-alive HTTPS connection to the main port (or `port`)."""

    def __init__(self, srv, cert=None, port=None):
        self.srv = srv
        self.conn = http.client.HTTPSConnection(
            "localhost", port or srv.port, context=tls_context(srv, cert), timeout=10
        )

    def request(self, method, path, form=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        self.conn.request(method, path, urlencode(form) if form is not None else None, headers)
        resp = self.conn.getresponse()
        data = resp.read()
        ctype = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(data) if ctype.startswith("application/json") else data)

    def post(self, path, form):
        return self.request("POST", path, form)

    def close(self):
        self.conn.close()


class JWTClient(Conn):
    """A JWT client: a fresh assertion (new jti) with every request, client_id in the body."""

    def __init__(self, srv, client_id, **kw):
        super().__init__(srv, **kw)
        self.client_id = client_id

    def form(self, form, **assertion_opts):
        out = {"client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE}
        out["client_assertion"] = assertion(self.srv, self.client_id, **assertion_opts)
        out.update(form)
        return out

    def call(self, path, form=None, **assertion_opts):
        return self.post(path, self.form(form or {}, **assertion_opts))

    def sign_in(self):
        status, grant = self.call(DEVICE_AUTHZ)
        assert status == 200, grant
        self.srv.approve(grant["user_code"])
        status, token = self.call(
            TOKEN, {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]}
        )
        assert status == 200, token
        return token

    def refresh(self, refresh_token):
        return self.call(TOKEN, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token, hint=None):
        form = {"token": token}
        if hint:
            form["token_type_hint"] = hint
        return self.call(REVOKE, form)


def assert_invalid_client(result):
    status, body = result
    assert status == 401, body
    assert body["error"] == "invalid_client", body


# ---------------------------------------------------------------------------- PKI, server.json


def test_make_pki_writes_the_jwt_key_pairs_and_their_jwks(tmp_path):
    paths = make_pki(str(tmp_path / "pki"))
    rsa_pem = open(paths["jwt_rsa_key"], "rb").read()
    assert rsa_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1
    rsa_key = serialization.load_pem_private_key(rsa_pem, None)
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size == 2048
    rsa_der = serialization.load_der_private_key(open(paths["jwt_rsa_pk8_der"], "rb").read(), None)
    assert rsa_der.private_numbers() == rsa_key.private_numbers()
    der = open(paths["jwt_rsa_pk8_der"], "rb").read()
    pkcs8 = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    assert der == rsa_key.private_bytes(serialization.Encoding.DER, pkcs8, none)

    ec_pem = open(paths["jwt_ec_key"], "rb").read()
    assert ec_pem.startswith(b"-----BEGIN EC PRIVATE KEY-----")  # SEC1
    ec_key = serialization.load_pem_private_key(ec_pem, None)
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and ec_key.curve.name == "secp256r1"
    ec_pk8 = open(paths["jwt_ec_pk8_pem"], "rb").read()
    assert ec_pk8.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert serialization.load_pem_private_key(ec_pk8, None).private_numbers() == (
        ec_key.private_numbers()
    )

    jwks = json.load(open(paths["jwks_json"]))
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    assert set(by_kid) == {"rsa-1", "ec-1"}
    assert by_kid["rsa-1"]["alg"] == "RS256" and by_kid["ec-1"]["alg"] == "ES256"
    for k in jwks["keys"]:
        assert k["use"] == "sig" and "d" not in k and "p" not in k  # public only
    pub = jwt.PyJWK(by_kid["rsa-1"]).key
    assert pub.public_numbers() == rsa_key.public_key().public_numbers()
    pub = jwt.PyJWK(by_kid["ec-1"]).key
    assert pub.public_numbers() == ec_key.public_key().public_numbers()


def test_server_json_lists_the_jwt_clients(srv):
    info = json.load(open(srv.server_json, encoding="utf-8"))
    clients = info["clients"]
    assert clients["jwt-secret-device"] == {
        "method": "client_secret_jwt",
        "secret": JWT_SECRET,
        "alg": "HS256",
        "scope": "openid profile",
    }
    assert len(JWT_SECRET.encode()) >= 32
    rsa_client = clients["jwt-rsa-device"]
    assert rsa_client["method"] == "private_key_jwt" and "secret" not in rsa_client
    assert (rsa_client["alg"], rsa_client["kid"]) == ("RS256", "rsa-1")
    assert rsa_client["private_key"] == srv.pki["jwt_rsa_key"]
    assert rsa_client["private_key_pkcs8"] == srv.pki["jwt_rsa_pk8_der"]
    ec_client = clients["jwt-ec-device"]
    assert (ec_client["alg"], ec_client["kid"]) == ("ES256", "ec-1")
    assert ec_client["private_key"] == srv.pki["jwt_ec_key"]
    assert info["jwks"] == srv.jwks == json.load(open(srv.pki["jwks_json"]))
    assert info["revocation_endpoint"] == srv.base_url + REVOKE
    assert info["token_endpoint"] == srv.base_url + TOKEN
    assert info["mtls_port"] is None and "mtls_endpoint_aliases" not in info
    assert info["access_token_lifetime"] == 3600


# ---------------------------------------------------------------------------- JWT sign-in


@pytest.mark.parametrize("client_id", list(JWT_CLIENTS))
def test_sign_in_refresh_and_revoke_with_a_jwt_client(srv, client_id):
    c = JWTClient(srv, client_id)
    token = c.sign_in()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    status, again = c.refresh(token["refresh_token"])
    assert status == 200, again
    assert c.revoke(again["refresh_token"]) == (200, {})
    assert c.refresh(again["refresh_token"])[1]["error"] == "invalid_grant"
    stats = srv.stats()
    method = METHOD.get(client_id, "private_key_jwt")
    # device authorization, one poll, two refreshes (the last one refused after auth), revocation
    assert stats["auth_methods"] == {method: 5}, stats
    assert stats["refreshes"] == 1 and stats["revocations"] == 1
    assert stats["replays_rejected"] == 0


def test_the_pkcs8_forms_sign_the_same(srv):
    der = open(srv.pki["jwt_rsa_pk8_der"], "rb").read()
    rsa_key = serialization.load_der_private_key(der, None)
    assert JWTClient(srv, "jwt-rsa-device").call(DEVICE_AUTHZ, key=rsa_key)[0] == 200
    pem = open(srv.pki["jwt_ec_pk8_pem"], "rb").read()
    assert JWTClient(srv, "jwt-ec-device").call(DEVICE_AUTHZ, key=pem)[0] == 200


def test_assertions_made_by_authlib_are_accepted(srv):
    """A second implementation (Authlib's own client side, joserfc) interoperates."""
    c = Conn(srv)
    rsa_key = RSAKey.import_key(signing_key(srv, "jwt-rsa-device"), {"kid": "rsa-1"})
    ec_key = ECKey.import_key(signing_key(srv, "jwt-ec-device"), {"kid": "ec-1"})
    made = {
        "jwt-secret-device": client_secret_jwt_sign(
            OctKey.import_key(JWT_SECRET), "jwt-secret-device", srv.base_url + TOKEN
        ),
        "jwt-rsa-device": private_key_jwt_sign(rsa_key, "jwt-rsa-device", srv.base_url + TOKEN),
        "jwt-ec-device": private_key_jwt_sign(
            ec_key, "jwt-ec-device", srv.base_url + TOKEN, alg="ES256"
        ),
    }
    for client_id, signed in made.items():
        form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}
        status, body = c.post(DEVICE_AUTHZ, form)  # no client_id: the assertion names it
        assert status == 200, (client_id, body)


@pytest.mark.parametrize("aud", ["token", "device", "issuer", "list"])
def test_accepted_audiences(srv, aud):
    urls = {
        "token": srv.base_url + TOKEN,
        "device": srv.base_url + DEVICE_AUTHZ,
        "issuer": srv.base_url,
        "list": ["https://elsewhere.example/", srv.base_url + TOKEN],
    }
    c = JWTClient(srv, "jwt-rsa-device")
    status, body = c.call(DEVICE_AUTHZ, aud=urls[aud])
    assert status == 200, body
    status, body = c.call(REVOKE, {"token": "unknown"}, aud=urls[aud])
    assert status == 200, body


def test_kid_may_be_left_out(srv):
    assert JWTClient(srv, "jwt-ec-device").call(DEVICE_AUTHZ, kid=None)[0] == 200


def test_clock_skew_within_the_leeway_is_accepted(srv):
    now = int(time.time())
    c = JWTClient(srv, "jwt-rsa-device")
    assert c.call(DEVICE_AUTHZ, iat=now + 30, exp=now + 90)[0] == 200  # device clock ahead
    assert c.call(DEVICE_AUTHZ, iat=now - 100, exp=now - 30)[0] == 200  # device clock behind
    assert c.call(DEVICE_AUTHZ, exp=now + 3000, iat=None)[0] == 200  # long, no iat


# ---------------------------------------------------------------------------- refused assertions


def test_a_replayed_jti_is_refused(srv):
    c = JWTClient(srv, "jwt-rsa-device")
    signed = assertion(srv, "jwt-rsa-device")
    form = {"client_id": "jwt-rsa-device", "client_assertion_type": ASSERTION_TYPE}
    form["client_assertion"] = signed
    assert c.post(DEVICE_AUTHZ, form)[0] == 200
    assert_invalid_client(c.post(DEVICE_AUTHZ, form))
    # the same jti in a new assertion, and at another endpoint: refused too
    jti = jwt.decode(signed, options={"verify_signature": False})["jti"]
    assert_invalid_client(c.call(TOKEN, {"grant_type": DEVICE_GRANT, "device_code": "x"}, jti=jti))
    # another client may use the same jti value
    assert JWTClient(srv, "jwt-ec-device").call(DEVICE_AUTHZ, jti=jti)[0] == 200
    stats = srv.stats()
    assert stats["replays_rejected"] == 2
    assert stats["auth_methods"] == {"private_key_jwt": 2}


def _other_rsa_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(srv):
    """The classic confusion: HS256 keyed with the client's RSA public key (pyjwt refuses it)."""
    pub = jwt.PyJWK(srv.jwks["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = jwt.decode(
        assertion(srv, "jwt-rsa-device"), options={"verify_signature": False}
    )  # the claims
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = _b64(json.dumps(good).encode())
    sig = hmac.new(pub, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _alg_none(srv):
    good = jwt.decode(assertion(srv, "jwt-rsa-device"), options={"verify_signature": False})
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(good).encode())}."


BAD = {
    "expired": ("jwt-rsa-device", lambda s: {"exp": int(time.time()) - 300}),
    "iat_far_in_the_future": ("jwt-rsa-device", lambda s: {"iat": int(time.time()) + 3600}),
    "nbf_in_the_future": ("jwt-ec-device", lambda s: {"nbf": int(time.time()) + 3600}),
    "exp_in_milliseconds": ("jwt-ec-device", lambda s: {"exp": int(time.time() * 1000)}),
    "exp_too_big_for_a_float": ("jwt-ec-device", lambda s: {"exp": 10**400}),
    "no_exp": ("jwt-ec-device", lambda s: {"exp": None}),
    "no_jti": ("jwt-ec-device", lambda s: {"jti": None}),
    "wrong_aud": ("jwt-rsa-device", lambda s: {"aud": "https://elsewhere.example/token"}),
    "aud_of_another_port": (
        "jwt-secret-device",
        lambda s: {"aud": f"https://localhost:{s.port + 1}{TOKEN}"},
    ),
    "wrong_iss": ("jwt-rsa-device", lambda s: {"iss": "jwt-ec-device"}),
    "sub_of_another_client": ("jwt-ec-device", lambda s: {"sub": "jwt-rsa-device"}),
    "wrong_key": ("jwt-rsa-device", lambda s: {"key": _other_rsa_pem()}),
    "wrong_secret": ("jwt-secret-device", lambda s: {"key": JWT_SECRET + "x"}),
    "wrong_ec_key": ("jwt-ec-device", lambda s: {"key": ec.generate_private_key(ec.SECP256R1())}),
    "rs384": ("jwt-rsa-device", lambda s: {"alg": "RS384"}),
    "ps256": ("jwt-rsa-device", lambda s: {"alg": "PS256"}),
    "hs512": ("jwt-secret-device", lambda s: {"alg": "HS512"}),
    "rs256_for_an_es256_client": (
        "jwt-ec-device",
        lambda s: {"alg": "RS256", "key": signing_key(s, "jwt-rsa-device"), "kid": None},
    ),
    "wrong_kid": ("jwt-rsa-device", lambda s: {"kid": "ec-1"}),
    "unknown_kid": ("jwt-rsa-device", lambda s: {"kid": "rsa-2"}),
    "not_a_jwt_client": ("post-device", lambda s: {"key": JWT_SECRET, "alg": "HS256"}),
    "unknown_client": ("nobody", lambda s: {"key": JWT_SECRET, "alg": "HS256"}),
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512, 45 bytes
@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("path", [DEVICE_AUTHZ, TOKEN])
def test_bad_assertions_are_invalid_client(srv, case, path):
    client_id, opts = BAD[case]
    c = JWTClient(srv, client_id)
    form = {"grant_type": DEVICE_GRANT, "device_code": "x"} if path == TOKEN else {}
    assert_invalid_client(c.call(path, form, **opts(srv)))
    assert srv.stats()["auth_methods"] == {}


def _odd_header(srv):
    """Header text Authlib would put in error_description, with characters it may not hold."""
    return assertion(srv, "jwt-rsa-device", kid='k"\\é')


def _odd_alg(srv):
    good = jwt.decode(assertion(srv, "jwt-rsa-device"), options={"verify_signature": False})
    head = _b64(json.dumps({"alg": 'RS"é'}).encode())
    return f"{head}.{_b64(json.dumps(good).encode())}.{_b64(b'x')}"


@pytest.mark.parametrize(
    "make",
    [
        _hs256_with_public_key,
        _alg_none,
        _odd_header,
        _odd_alg,
        lambda s: "not.a.jwt",
        lambda s: "e30.e30.e30",
        lambda s: "W10.W10.",  # [] as header and claims
    ],
)
def test_forged_assertions_are_invalid_client(srv, make):
    form = {"client_id": "jwt-rsa-device", "client_assertion_type": ASSERTION_TYPE}
    form["client_assertion"] = make(srv)
    assert_invalid_client(Conn(srv).post(DEVICE_AUTHZ, form))


def test_client_id_must_be_the_assertions_sub(srv):
    c = JWTClient(srv, "jwt-ec-device")
    form = c.form({})
    form["client_id"] = "jwt-rsa-device"
    assert_invalid_client(c.post(DEVICE_AUTHZ, form))
    form = c.form({})
    form["client_id"] = "public-device"  # not taken for a public client's request either
    assert_invalid_client(c.post(DEVICE_AUTHZ, form))


def test_a_jwt_client_needs_its_assertion(srv):
    c = Conn(srv)
    assert_invalid_client(c.post(DEVICE_AUTHZ, {"client_id": "jwt-rsa-device"}))
    assert_invalid_client(
        c.post(DEVICE_AUTHZ, {"client_id": "jwt-secret-device", "client_secret": JWT_SECRET})
    )
    jc = JWTClient(srv, "jwt-rsa-device")
    form = jc.form({})
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    assert_invalid_client(c.post(DEVICE_AUTHZ, form))


def test_a_failed_assertion_does_not_spend_its_jti(srv):
    c = JWTClient(srv, "jwt-rsa-device")
    jti = uuid.uuid4().hex
    assert_invalid_client(c.call(DEVICE_AUTHZ, jti=jti, aud="https://elsewhere.example/"))
    assert c.call(DEVICE_AUTHZ, jti=jti)[0] == 200


# ---------------------------------------------------------------------------- refresh, revocation


def test_refresh_rotation(srv):
    c = JWTClient(srv, "jwt-secret-device")
    first = c.sign_in()
    status, second = c.refresh(first["refresh_token"])
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    status, body = c.refresh(first["refresh_token"])  # the old one is spent
    assert (status, body["error"]) == (400, "invalid_grant")
    status, third = c.refresh(second["refresh_token"])
    assert status == 200, third
    assert c.refresh(second["refresh_token"])[1]["error"] == "invalid_grant"
    assert srv.stats()["refreshes"] == 2
    assert srv.token_info(first["refresh_token"])["active"] is False
    assert srv.token_info(third["refresh_token"])["active"] is True
    # a refresh token is bound to its client
    status, body = JWTClient(srv, "jwt-ec-device").refresh(third["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")


def test_access_token_lifetime(make_server):
    srv = make_server(access_token_lifetime=60)
    c = JWTClient(srv, "jwt-ec-device")
    token = c.sign_in()
    assert token["expires_in"] == 60
    info = srv.token_info(token["access_token"])
    assert info["active"] is True and info["token_type_hint"] == "access_token"
    assert info["client_id"] == "jwt-ec-device"
    # a minute passes (moved, not slept: a busy machine cannot stretch it)
    srv.store.find_token(token["access_token"])["expires_at"] -= 61
    assert srv.token_info(token["access_token"])["active"] is False
    status, again = c.refresh(token["refresh_token"])  # the refresh token outlives it
    assert status == 200 and again["expires_in"] == 60
    assert srv.token_info(again["access_token"])["active"] is True


def test_revoking_a_refresh_token_kills_it_and_its_access_token(srv):
    c = JWTClient(srv, "jwt-rsa-device")
    token = c.sign_in()
    assert c.revoke(token["refresh_token"], "refresh_token") == (200, {})
    assert srv.token_info(token["refresh_token"])["active"] is False
    assert srv.token_info(token["access_token"])["active"] is False
    status, body = c.refresh(token["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    # revoking again, or an unknown token, is still 200 (RFC 7009 §2.2)
    assert c.revoke(token["refresh_token"])[0] == 200
    assert c.revoke("no-such-token")[0] == 200


def test_revoking_an_access_token_leaves_the_refresh_token(srv):
    c = JWTClient(srv, "jwt-ec-device")
    token = c.sign_in()
    assert c.revoke(token["access_token"], "access_token")[0] == 200
    assert srv.token_info(token["access_token"])["active"] is False
    assert c.refresh(token["refresh_token"])[0] == 200


def test_revocation_authenticates_the_client_and_checks_the_owner(srv):
    token = JWTClient(srv, "jwt-rsa-device").sign_in()
    conn = Conn(srv)
    # no client authentication
    assert_invalid_client(conn.post(REVOKE, {"token": token["refresh_token"]}))
    # a bad assertion
    c = JWTClient(srv, "jwt-rsa-device")
    form = {"token": token["refresh_token"]}
    assert_invalid_client(c.call(REVOKE, form, aud="https://elsewhere.example/"))
    # another client's token: refused, and the token lives on
    status, body = JWTClient(srv, "jwt-ec-device").revoke(token["refresh_token"])
    assert status == 400 and body["error"] == "invalid_grant", body
    # the other methods work at the revocation endpoint too
    form = {"client_id": "public-device", "token": "x", "token_type_hint": "refresh_token"}
    assert conn.post(REVOKE, form)[0] == 200
    form["token_type_hint"] = "id_token"
    status, body = conn.post(REVOKE, form)
    assert status == 400 and body["error"] == "unsupported_token_type", body
    assert srv.token_info(token["refresh_token"])["active"] is True
    assert srv.stats()["revocations"] == 0
    assert srv.stats()["revocation_requests"] == 5


# ---------------------------------------------------------------------------- discovery


@pytest.mark.parametrize("path", METADATA_PATHS)
def test_discovery_documents(srv, path):
    status, meta = Conn(srv).request("GET", path)
    assert status == 200
    base = srv.base_url
    assert meta == srv.metadata()
    assert meta["issuer"] == base
    assert meta["device_authorization_endpoint"] == base + DEVICE_AUTHZ
    assert meta["token_endpoint"] == base + TOKEN
    assert meta["revocation_endpoint"] == base + REVOKE
    assert set(meta["token_endpoint_auth_methods_supported"]) == SIX_METHODS
    assert set(meta["revocation_endpoint_auth_methods_supported"]) == SIX_METHODS
    algs = {"HS256", "RS256", "ES256"}
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) == algs
    assert set(meta["revocation_endpoint_auth_signing_alg_values_supported"]) == algs
    assert "mtls_endpoint_aliases" not in meta
    # Authlib's RFC 8414 checks of the fields this server has (it has no authorization
    # endpoint, so no response_types_supported, which the full validate() insists on)
    checked = AuthorizationServerMetadata(meta)
    for key in (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "scopes_supported",
    ):
        getattr(checked, "validate_" + key)()


# ---------------------------------------------------------------------------- mTLS listener


@pytest.fixture
def mtls_srv(make_server):
    return make_server(mtls_port=0)


def test_mtls_aliases_are_advertised(mtls_srv):
    srv = mtls_srv
    assert srv.mtls_port and srv.mtls_port != srv.port
    assert srv.mtls_base_url == f"https://localhost:{srv.mtls_port}"
    for path in METADATA_PATHS:
        meta = Conn(srv).request("GET", path)[1]
        assert meta["token_endpoint"] == srv.base_url + TOKEN  # the main port stays the default
        assert meta["mtls_endpoint_aliases"] == {
            "token_endpoint": srv.mtls_base_url + TOKEN,
            "device_authorization_endpoint": srv.mtls_base_url + DEVICE_AUTHZ,
            "revocation_endpoint": srv.mtls_base_url + REVOKE,
        }
    info = json.load(open(srv.server_json, encoding="utf-8"))
    assert info["mtls_port"] == srv.mtls_port and info["mtls_base_url"] == srv.mtls_base_url
    assert info["mtls_endpoint_aliases"] == srv.metadata()["mtls_endpoint_aliases"]


def test_mtls_client_signs_in_through_the_aliases(mtls_srv):
    srv = mtls_srv
    aliases = srv.metadata()["mtls_endpoint_aliases"]
    port = urlsplit(aliases["token_endpoint"]).port
    assert port == srv.mtls_port
    c = Conn(srv, cert="client", port=port)
    status, grant = c.post(
        urlsplit(aliases["device_authorization_endpoint"]).path, {"client_id": "mtls-device"}
    )
    assert status == 200, grant
    assert grant["verification_uri"].startswith(srv.base_url)  # the person's page: main port
    srv.approve(grant["user_code"])
    form = {"client_id": "mtls-device", "grant_type": DEVICE_GRANT}
    status, token = c.post(TOKEN, dict(form, device_code=grant["device_code"]))
    assert status == 200, token
    status, again = c.post(
        TOKEN,
        {
            "client_id": "mtls-device",
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
        },
    )
    assert status == 200, again
    status, body = c.post(REVOKE, {"client_id": "mtls-device", "token": again["refresh_token"]})
    assert status == 200, body
    assert srv.token_info(again["refresh_token"])["active"] is False
    assert srv.stats()["auth_methods"] == {"tls_client_auth": 4}


def test_main_port_refuses_tls_client_auth_when_there_is_an_mtls_port(mtls_srv):
    srv = mtls_srv
    main = Conn(srv, cert="client")  # even with the right certificate
    assert_invalid_client(main.post(DEVICE_AUTHZ, {"client_id": "mtls-device"}))
    form = {"client_id": "mtls-device", "grant_type": DEVICE_GRANT, "device_code": "x"}
    assert_invalid_client(main.post(TOKEN, form))
    assert_invalid_client(main.post(REVOKE, {"client_id": "mtls-device", "token": "x"}))
    # the other methods still work on the main port
    assert main.post(DEVICE_AUTHZ, {"client_id": "public-device"})[0] == 200
    assert JWTClient(srv, "jwt-rsa-device").call(DEVICE_AUTHZ)[0] == 200
    assert srv.stats()["auth_methods"] == {"none": 1, "private_key_jwt": 1}


def test_mtls_port_requires_a_certificate(mtls_srv):
    srv = mtls_srv
    with pytest.raises((ssl.SSLError, ConnectionError)):
        Conn(srv, port=srv.mtls_port).post(DEVICE_AUTHZ, {"client_id": "public-device"})
    wrong = Conn(srv, cert="wrong_client", port=srv.mtls_port)  # trusted CA, wrong subject
    assert_invalid_client(wrong.post(DEVICE_AUTHZ, {"client_id": "mtls-device"}))
    # any client that presents a trusted certificate may use the aliases
    assert wrong.post(DEVICE_AUTHZ, {"client_id": "public-device"})[0] == 200
    deadline = time.monotonic() + 2  # the server counts it after sending its alert
    while srv.stats()["tls_handshake_failures"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.stats()["tls_handshake_failures"] >= 1


def test_without_mtls_port_tls_client_auth_is_on_the_main_port(srv):
    assert srv.mtls_port is None and srv.mtls_base_url is None
    status, body = Conn(srv, cert="client").post(DEVICE_AUTHZ, {"client_id": "mtls-device"})
    assert status == 200, body


# ---------------------------------------------------------------------------- logs and CLI


def test_log_has_no_assertions_or_secrets(state_dir):
    log = io.StringIO()
    with DevAS(state_dir, port=0, interval=1, log_stream=log) as srv:
        c = JWTClient(srv, "jwt-secret-device")
        form = c.form({})
        assert c.post(DEVICE_AUTHZ, form)[0] == 200
        assert_invalid_client(c.post(DEVICE_AUTHZ, form))
    text = log.getvalue()
    assert f"POST {DEVICE_AUTHZ} -> 200" in text
    assert "JWT ID is used before" in text  # the reason is in the log line
    assert form["client_assertion"] not in text
    assert form["client_assertion"].split(".")[2] not in text
    assert JWT_SECRET not in text


def test_cli_flags(tmp_path):
    state = str(tmp_path / "cli")
    flags = ("--mtls-port", "0", "--access-token-lifetime", "7", "--quiet")
    with dev_as_process(state, *flags) as (line, info):
        assert line == f"devauth dev-as listening on {info['base_url']}"
        assert info["access_token_lifetime"] == 7
        assert info["mtls_port"] and info["mtls_port"] != info["port"]
        aliases = info["mtls_endpoint_aliases"]
        assert aliases["token_endpoint"] == f"https://localhost:{info['mtls_port']}{TOKEN}"
        ctx = ssl.create_default_context(cafile=info["ca_pem"])
        ctx.load_cert_chain(info["pki"]["client_pem"], info["pki"]["client_key"])
        conn = http.client.HTTPSConnection("localhost", info["mtls_port"], context=ctx, timeout=10)
        conn.request("GET", "/.well-known/oauth-authorization-server")
        meta = json.loads(conn.getresponse().read())
        assert meta["mtls_endpoint_aliases"] == aliases
        conn.close()
