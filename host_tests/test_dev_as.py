"""The dev authorization server (`devauth dev-as`), driven by CPython's ssl/http.client."""

import base64
import http.client
import http.cookies
import io
import json
import os
import re
import ssl
import stat
from urllib.parse import quote, quote_plus, urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key
from devauth_tools.dev_as import CLIENT_SECRET, DevAS, basic_credentials
from devauth_tools.testca import make_pki
from e2e import dev_as_process, dev_as_servers, tls_context

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_AUTHZ = "/as/device_authz.oauth2"
TOKEN = "/as/token.oauth2"
PAGE = "/as/user_authz.oauth2"
USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")
CLIENTS = ("public-device", "basic-device", "post-device", "mtls-device")


@pytest.fixture
def make_server(tmp_path):
    """Start DevAS servers with the given options; all stop at the end of the test."""
    with dev_as_servers(lambda n: str(tmp_path / f"as{n}")) as start:
        yield start


@pytest.fixture
def srv(make_server):
    return make_server()


class Client:
    """One keep-alive connection, authenticating as `client_id` with its registered method."""

    def __init__(self, srv, client_id="public-device", cert="auto", basic_encoder=quote_plus):
        if cert == "auto":
            cert = "client" if client_id == "mtls-device" else None
        self.srv = srv
        self.client_id = client_id
        self.basic_encoder = basic_encoder
        self.conn = http.client.HTTPSConnection(
            "localhost", srv.port, context=tls_context(srv, cert), timeout=10
        )

    def auth(self, form):
        form = dict(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.client_id == "basic-device":
            enc = self.basic_encoder
            pair = f"{enc(self.client_id)}:{enc(CLIENT_SECRET)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            form["client_id"] = self.client_id
            if self.client_id == "post-device":
                form["client_secret"] = CLIENT_SECRET
        return form, headers

    def raw(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        data = resp.read()
        return resp, data

    def post(self, path, form):
        form, headers = self.auth(form)
        resp, data = self.raw("POST", path, urlencode(form), headers)
        ctype = resp.getheader("Content-Type", "")
        return resp, (json.loads(data) if ctype.startswith("application/json") else data)

    def authorize(self, **form):
        resp, body = self.post(DEVICE_AUTHZ, form)
        assert resp.status == 200, body
        return body

    def poll(self, device_code):
        return self.post(TOKEN, {"grant_type": DEVICE_GRANT, "device_code": device_code})

    def close(self):
        self.conn.close()


def assert_error(resp_body, status, error):
    resp, body = resp_body
    assert resp.status == status, body
    assert body["error"] == error, body


# ---------------------------------------------------------------------------- PKI, server.json


def test_make_pki_writes_the_files(tmp_path):
    paths = make_pki(str(tmp_path / "pki"))
    for key, path in paths.items():
        assert os.path.exists(path), key
    client = x509.load_der_x509_certificate(open(paths["client_der"], "rb").read())
    assert client.subject.rfc4514_string() == "CN=devauth-test-device,O=devauth"
    client_ca = x509.load_pem_x509_certificate(open(paths["client_ca_pem"], "rb").read())
    assert client.issuer == client_ca.subject
    client.verify_directly_issued_by(client_ca)
    key = load_der_private_key(open(paths["client_key_der"], "rb").read(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert open(paths["client_key"]).read().startswith("-----BEGIN PRIVATE KEY-----")
    pem = x509.load_pem_x509_certificate(open(paths["client_pem"], "rb").read())
    assert pem == client
    wrong = x509.load_pem_x509_certificate(open(paths["wrong_client_pem"], "rb").read())
    assert wrong.subject.rfc4514_string() == "CN=someone-else,O=devauth"
    wrong.verify_directly_issued_by(client_ca)
    ca = x509.load_der_x509_certificate(open(paths["ca_der"], "rb").read())
    untrusted = x509.load_der_x509_certificate(open(paths["untrusted_ca_der"], "rb").read())
    assert ca.subject != untrusted.subject
    server = x509.load_pem_x509_certificate(open(paths["server_pem"], "rb").read())
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_server_json_and_pki_reuse(tmp_path):
    state = str(tmp_path / "state")
    with DevAS(state, port=0, quiet=True) as srv:
        info = json.load(open(os.path.join(state, "server.json"), encoding="utf-8"))
        assert info["base_url"] == srv.base_url == f"https://localhost:{srv.port}"
        assert info["port"] == srv.port
        assert info["ca_der"] == srv.pki["ca_der"] and info["ca_pem"] == srv.pki["ca_pem"]
        assert info["pki"] == srv.pki
        assert info["clients"]["public-device"]["method"] == "none"
        assert info["clients"]["basic-device"] == {
            "method": "client_secret_basic",
            "secret": CLIENT_SECRET,
            "scope": "openid profile",
        }
        assert info["clients"]["post-device"]["method"] == "client_secret_post"
        assert info["clients"]["mtls-device"]["method"] == "tls_client_auth"
        ca = open(srv.pki["ca_der"], "rb").read()
    # a second start on the same state dir keeps the CA a board may already trust
    with DevAS(state, port=0, quiet=True) as srv:
        assert open(srv.pki["ca_der"], "rb").read() == ca


def test_temp_state_dir_is_removed():
    srv = DevAS(port=0, quiet=True).start()
    state = srv.state_dir
    assert os.path.exists(os.path.join(state, "server.json"))
    srv.stop()
    assert not os.path.exists(state)


# ---------------------------------------------------------------------------- device authorization


@pytest.mark.parametrize("client_id", CLIENTS)
def test_device_authorization_for_each_client(srv, client_id):
    c = Client(srv, client_id)
    body = c.authorize()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert USER_CODE_RE.match(body["user_code"]), body["user_code"]
    assert body["verification_uri"] == srv.base_url + PAGE
    assert (
        body["verification_uri_complete"] == f"{srv.base_url}{PAGE}?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600 and body["interval"] == 1
    assert len(body["device_code"]) >= 32


def test_options_shape_the_response(make_server):
    srv = make_server(no_interval=True, expires_in=120)
    body = Client(srv).authorize(scope="openid")
    assert "interval" not in body
    assert body["expires_in"] == 120


def test_unknown_scope_is_invalid_scope(srv):
    assert_error(Client(srv).post(DEVICE_AUTHZ, {"scope": "openid admin"}), 400, "invalid_scope")


@pytest.mark.parametrize("client_id", CLIENTS)
def test_sign_in_for_each_client(srv, client_id):
    c = Client(srv, client_id)
    grant = c.authorize()
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")
    srv.approve(grant["user_code"])
    resp, token = c.poll(grant["device_code"])
    assert resp.status == 200, token
    assert resp.getheader("Cache-Control") == "no-store"
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "openid profile"
    assert token["access_token"] and token["refresh_token"]
    # the device code is spent
    assert_error(c.poll(grant["device_code"]), 400, "invalid_request")
    # and the refresh token works (rotated)
    resp, again = c.post(
        TOKEN, {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    )
    assert resp.status == 200, again
    assert again["access_token"] != token["access_token"]
    assert again["refresh_token"] != token["refresh_token"]
    c.close()


def test_approve_accepts_any_case_and_no_dash(srv):
    c = Client(srv)
    grant = c.authorize()
    srv.approve(grant["user_code"].lower().replace("-", ""))
    assert c.poll(grant["device_code"])[0].status == 200
    with pytest.raises(KeyError):
        srv.approve("BBBB-BBBB")
    assert srv.pending_user_codes() == []


def test_deny_gives_access_denied(srv):
    c = Client(srv, "post-device")
    grant = c.authorize()
    assert srv.wait_for_user_code(timeout=1) == grant["user_code"]
    srv.deny(grant["user_code"])
    assert_error(c.poll(grant["device_code"]), 400, "access_denied")


def age(srv, device_code, seconds):
    """Move a device code `seconds` into the past (what waiting would do, without a sleep that
    a busy machine could stretch past the test's own timing)."""
    cred = srv.store.credentials[device_code]
    cred["issued_at"] -= seconds
    cred["expires_at"] -= seconds


def test_auto_approve_after_delay(make_server):
    srv = make_server(auto_approve=30)
    c = Client(srv)
    grant = c.authorize()
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")
    age(srv, grant["device_code"], 29)
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")
    age(srv, grant["device_code"], 1)
    assert c.poll(grant["device_code"])[0].status == 200


def test_auto_deny(make_server):
    srv = make_server(auto_approve=0, deny=True)
    c = Client(srv)
    grant = c.authorize()
    assert_error(c.poll(grant["device_code"]), 400, "access_denied")


def test_expired_device_code(make_server):
    srv = make_server(expires_in=60)
    c = Client(srv)
    grant = c.authorize()
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")
    age(srv, grant["device_code"], 61)
    assert_error(c.poll(grant["device_code"]), 400, "expired_token")


def test_slow_down_every(make_server):
    srv = make_server(slow_down_every=2)
    c = Client(srv)
    grant = c.authorize()
    errors = [c.poll(grant["device_code"])[1]["error"] for _ in range(4)]
    assert errors == ["authorization_pending", "slow_down"] * 2
    srv.approve(grant["user_code"])
    assert c.poll(grant["device_code"])[0].status == 200


def test_fail_every_gives_503_html(make_server):
    srv = make_server(fail_every=3)
    c = Client(srv)
    grant = c.authorize()  # 1
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")  # 2
    resp, body = c.poll(grant["device_code"])  # 3
    assert resp.status == 503
    assert resp.getheader("Content-Type").startswith("text/html")
    assert b"<html" in body.lower()
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")  # 4, same connection
    assert srv.stats()["connections"] == 1


# ---------------------------------------------------------------------------- client authentication


def test_basic_with_percent_20_encoding_is_accepted(srv):
    Client(srv, "basic-device", basic_encoder=lambda s: quote(s, safe="")).authorize()


def test_basic_without_form_encoding_is_refused(srv):
    # RFC 6749 §2.3.1: the secret must be form-urlencoded; raw, its "+" would read as a space
    c = Client(srv, "basic-device", basic_encoder=lambda s: s)
    assert_error(c.post(DEVICE_AUTHZ, {}), 401, "invalid_client")


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"a%2Bb:c+d%20e%3A", ("a+b", "c d e:")),
        (b"id:", ("id", "")),
        (b"nocolon", ("nocolon", None)),
        (b"x:%ff", (None, None)),
        (b"\xff:x", (None, None)),
    ],
)
def test_basic_credentials_are_form_urldecoded(raw, expected):
    header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    assert basic_credentials(header) == expected
    assert basic_credentials({"Authorization": "Basic !!"}) == (None, None)
    assert basic_credentials({"Authorization": "Bearer abc"}) == (None, None)


def test_metadata(srv):
    resp, data = Client(srv).raw("GET", "/.well-known/oauth-authorization-server")
    meta = json.loads(data)
    assert meta["issuer"] == srv.base_url
    assert meta["device_authorization_endpoint"] == srv.base_url + DEVICE_AUTHZ
    assert meta["token_endpoint"] == srv.base_url + TOKEN
    assert "tls_client_auth" in meta["token_endpoint_auth_methods_supported"]


def test_wrong_secret_or_method_is_invalid_client(srv):
    c = Client(srv, "basic-device")
    pair = base64.b64encode(b"basic-device:nope").decode()
    resp, data = c.raw("POST", DEVICE_AUTHZ, "", {"Authorization": "Basic " + pair})
    assert resp.status == 401 and json.loads(data)["error"] == "invalid_client"
    assert resp.getheader("WWW-Authenticate", "").startswith("Basic")
    # a confidential client cannot pass as a public one, nor use another method
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for form in (
        {"client_id": "basic-device"},
        {"client_id": "basic-device", "client_secret": CLIENT_SECRET},
        {"client_id": "post-device"},
    ):
        resp, data = c.raw("POST", DEVICE_AUTHZ, urlencode(form), headers)
        assert resp.status == 401 and json.loads(data)["error"] == "invalid_client", form
    # an unknown client_id in the body: Authlib answers 400 (401 is for failed HTTP auth)
    assert_error(Client(srv, "nobody").post(DEVICE_AUTHZ, {}), 400, "invalid_client")


@pytest.mark.parametrize("cert", [None, "wrong_client"])
def test_mtls_without_the_right_certificate_is_invalid_client(srv, cert):
    c = Client(srv, "mtls-device", cert=cert)
    assert_error(c.post(DEVICE_AUTHZ, {}), 401, "invalid_client")
    assert_error(c.poll("whatever"), 401, "invalid_client")


def test_mtls_token_needs_the_certificate_too(srv):
    grant = Client(srv, "mtls-device").authorize()
    srv.approve(grant["user_code"])
    assert_error(
        Client(srv, "mtls-device", cert=None).poll(grant["device_code"]), 401, "invalid_client"
    )
    assert_error(
        Client(srv, "mtls-device", cert="wrong_client").poll(grant["device_code"]),
        401,
        "invalid_client",
    )
    assert Client(srv, "mtls-device").poll(grant["device_code"])[0].status == 200


def test_device_code_is_bound_to_its_client(srv):
    grant = Client(srv, "public-device").authorize()
    srv.approve(grant["user_code"])
    assert_error(Client(srv, "post-device").poll(grant["device_code"]), 400, "unauthorized_client")


# ---------------------------------------------------------------------------- HTTP connection


def test_keep_alive_one_connection(srv):
    c = Client(srv)
    grant = c.authorize()
    resp, _ = c.poll(grant["device_code"])
    assert resp.getheader("Connection") is None
    assert resp.getheader("Content-Length")
    assert resp.getheader("Transfer-Encoding") is None
    resp, data = c.raw("GET", "/_devauth/stats")
    stats = json.loads(data)
    assert stats["connections"] == 1 and stats["tls_handshakes"] == 1
    assert stats["requests"] == 3
    assert stats["device_authorizations"] == 1 and stats["token_requests"] == 1
    assert srv.stats()["requests"] == 3


def test_close_after_response_closes_without_the_header(make_server):
    srv = make_server(close_after_response=True)
    c = Client(srv)
    resp, _ = c.raw("GET", "/_devauth/stats")
    assert resp.getheader("Connection") is None and resp.getheader("Content-Length")
    sock = c.conn.sock
    assert sock is not None  # http.client took it for a kept-alive connection
    sock.settimeout(2)
    assert sock.recv(1) == b""  # but the server closed it
    c.close()
    c.authorize()  # a new connection works
    assert srv.stats()["connections"] == 2


def test_a_content_length_in_unicode_digits_is_a_bad_request(srv):
    # http.client sends header values as Latin-1: this is the single byte 0xB2 ('²'), which
    # str.isdigit() accepts and int() refuses
    for value in ("\u00b2", "1\u00b9"):
        resp, body = Client(srv).raw("POST", TOKEN, b"x", {"Content-Length": value})
        assert resp.status == 400 and body == b"Bad Request\n", (value, body)
    assert Client(srv).authorize()["user_code"]  # the server is fine


def test_no_keep_alive_sends_connection_close(make_server):
    srv = make_server(no_keep_alive=True)
    c = Client(srv)
    c.authorize()
    resp, _ = c.raw("GET", "/_devauth/stats")
    assert resp.getheader("Connection") == "close"
    assert srv.stats()["connections"] == 2  # http.client reconnected


def test_client_connection_close_is_honoured(srv):
    c = Client(srv)
    resp, _ = c.raw("GET", "/_devauth/stats", headers={"Connection": "close"})
    assert resp.getheader("Connection") == "close"


# ---------------------------------------------------------------------------- approval page

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def open_page(page, query=""):
    """GET the page as a browser does -> (its html, headers for the POST: the CSRF cookie)."""
    resp, html = page.raw("GET", PAGE + query)
    assert resp.status == 200
    cookie = resp.getheader("Set-Cookie")
    assert cookie.startswith("devauth_csrf=")
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=" + PAGE):
        assert flag in cookie, cookie
    return html.decode(), dict(FORM, Cookie=cookie.split(";")[0])


def token_in(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def submit(page, user_code, action, query=""):
    """Open the page, then post the form as the browser would -> (response, html)."""
    html, headers = open_page(page, query)
    form = urlencode({"csrf_token": token_in(html), "user_code": user_code, "action": action})
    resp, body = page.raw("POST", PAGE, form, headers)
    return resp, body.decode()


def test_page_prefills_and_approves(srv):
    c = Client(srv, "basic-device")
    grant = c.authorize()
    page = Client(srv)
    resp, html = page.raw("GET", f"{PAGE}?user_code={grant['user_code']}")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert f'value="{grant["user_code"]}"' in html.decode()
    assert "basic-device" in html.decode()
    loose = grant["user_code"].lower().replace("-", "")
    resp, html = submit(page, loose, "approve", f"?user_code={grant['user_code']}")
    assert resp.status == 200 and "approved" in html.lower()
    assert c.poll(grant["device_code"])[0].status == 200


def test_page_denies(srv):
    c = Client(srv)
    grant = c.authorize()
    resp, html = submit(Client(srv), grant["user_code"], "deny")
    assert resp.status == 200 and "denied" in html.lower()
    assert_error(c.poll(grant["device_code"]), 400, "access_denied")


def test_page_rejects_a_wrong_code(srv):
    c = Client(srv)
    grant = c.authorize()
    resp, html = submit(Client(srv), "BBBB-CCCC", "approve")
    assert resp.status == 400
    assert "Unknown or expired code" in html
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")


def test_a_forged_approval_is_refused(srv):
    """What a page on another site could post: no token, a token without its cookie, a cookie
    with another token, a right pair sent from another origin. The code stays pending."""
    c = Client(srv)
    grant = c.authorize()
    page = Client(srv)
    html, headers = open_page(page)
    token = token_in(html)
    other_html, other_headers = open_page(Client(srv))
    assert token_in(other_html) != token  # one per browser
    approve = {"user_code": grant["user_code"], "action": "approve"}
    forged = [
        (urlencode(approve), headers),
        (urlencode(dict(approve, csrf_token=token)), FORM),
        (urlencode(dict(approve, csrf_token=token_in(other_html))), headers),
        (urlencode(dict(approve, csrf_token="")), dict(headers, Cookie="devauth_csrf=")),
        (urlencode(dict(approve, csrf_token=token)), dict(headers, Origin="https://evil.test")),
    ]
    for form, hdrs in forged:
        resp, body = page.raw("POST", PAGE, form, hdrs)
        assert resp.status == 403, body
        assert "came from another site" in body.decode()
        assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")
    same = dict(headers, Origin=f"https://localhost:{srv.port}")  # what a browser sends
    resp, _ = page.raw("POST", PAGE, urlencode(dict(approve, csrf_token=token)), same)
    assert resp.status == 200
    assert c.poll(grant["device_code"])[0].status == 200


def cookie_flags(resp):
    """The page's one Set-Cookie header, parsed as a browser reads it -> its morsel."""
    headers = resp.msg.get_all("Set-Cookie") or []
    assert len(headers) == 1, headers
    jar = http.cookies.SimpleCookie()
    jar.load(headers[0])
    return jar["devauth_csrf"]


def test_the_csrf_cookie_is_out_of_reach_of_scripts_and_other_sites(srv):
    """HttpOnly (a script on the page cannot read the token), Secure, SameSite=Strict and a Path
    of the approval page only: on the page itself and on the pages that answer a refused form."""
    c = Client(srv)
    grant = c.authorize()
    page = Client(srv)
    resp, html = page.raw("GET", f"{PAGE}?user_code={quote(grant['user_code'])}")
    token = token_in(html.decode())
    jar = {"Cookie": "devauth_csrf=" + token}
    refused = [  # another site's post (403), no action (400), an unknown code (400)
        dict(user_code=grant["user_code"], action="approve"),
        dict(user_code=grant["user_code"], csrf_token=token),
        dict(user_code="BBBB-CCCC", action="approve", csrf_token=token),
    ]
    answers = [resp] + [page.raw("POST", PAGE, urlencode(f), dict(FORM, **jar))[0] for f in refused]
    assert [r.status for r in answers] == [200, 403, 400, 400]
    for r in answers:
        morsel = cookie_flags(r)
        assert morsel.value == token  # the browser keeps its one token
        assert morsel["httponly"] is True, r.getheader("Set-Cookie")
        assert morsel["secure"] is True, r.getheader("Set-Cookie")
        assert morsel["samesite"] == "Strict", r.getheader("Set-Cookie")
        assert morsel["path"] == PAGE, r.getheader("Set-Cookie")
    assert_error(c.poll(grant["device_code"]), 400, "authorization_pending")


def test_the_page_keeps_the_browsers_token(srv):
    page = Client(srv)
    html, headers = open_page(page)
    resp, again = page.raw("GET", PAGE, headers={"Cookie": headers["Cookie"]})
    assert token_in(again.decode()) == token_in(html)  # a second tab still works


# ---------------------------------------------------------------------------- logs and CLI


def test_log_has_requests_but_no_secrets(tmp_path):
    log = io.StringIO()
    with DevAS(str(tmp_path), port=0, interval=1, log_stream=log) as srv:
        c = Client(srv, "post-device")
        grant = c.authorize()
        srv.approve(grant["user_code"])
        _, token = c.poll(grant["device_code"])
    text = log.getvalue()
    assert f"POST {DEVICE_AUTHZ} -> 200" in text
    assert f"POST {TOKEN} -> 200" in text
    for secret in (
        CLIENT_SECRET,
        grant["device_code"],
        token["access_token"],
        token["refresh_token"],
    ):
        assert secret not in text


def test_cli_main(tmp_path):
    state = str(tmp_path / "cli")
    flags = ("--auto-approve", "0", "--interval", "1", "--quiet")
    with dev_as_process(state, *flags) as (line, info):
        assert line == f"devauth dev-as listening on {info['base_url']}"
        ctx = ssl.create_default_context(cafile=info["ca_pem"])
        conn = http.client.HTTPSConnection("localhost", info["port"], context=ctx, timeout=10)
        form = urlencode({"client_id": "public-device"})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", DEVICE_AUTHZ, form, headers)
        grant = json.loads(conn.getresponse().read())
        form = urlencode(
            {
                "client_id": "public-device",
                "grant_type": DEVICE_GRANT,
                "device_code": grant["device_code"],
            }
        )
        conn.request("POST", TOKEN, form, headers)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        conn.close()


def test_the_test_pki_keeps_its_private_keys_private(tmp_path):
    old = os.umask(0o022)
    try:
        os.mkdir(str(tmp_path / "pki"), 0o755)  # made before, by hand or an older version
        paths = make_pki(str(tmp_path / "pki"))
        victim = tmp_path / "victim"
        victim.write_text("untouched")
        os.remove(paths["server_key"])
        os.symlink(str(victim), paths["server_key"])  # planted before a rebuild
        paths = make_pki(str(tmp_path / "pki"))
    finally:
        os.umask(old)
    assert victim.read_text() == "untouched"

    def mode(path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    assert mode(paths["dir"]) == 0o700
    keys = [k for k in paths if k.endswith(("_key", "_key_der", "pk8_der", "pk8_pem"))]
    assert len(keys) == 9, keys
    for k in keys:
        assert mode(paths[k]) == 0o600, k
    for k in ("ca_pem", "ca_der", "server_pem", "client_pem", "jwks_json"):
        assert mode(paths[k]) == 0o644, k
