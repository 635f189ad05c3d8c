"""devauth dev-as: a local OAuth 2.0 authorization server for the Device Authorization Grant.

RFC 8628 on PingFederate's paths, built on Authlib (`DeviceAuthorizationEndpoint`,
`DeviceCodeGrant`, the Flask `AuthorizationServer`), served over HTTPS with a trustme test CA by
werkzeug's threaded server with HTTP/1.1 keep-alive:

- `POST /as/device_authz.oauth2`  device authorization (RFC 8628 §3.1)
- `POST /as/token.oauth2`         token (device_code and refresh_token grants)
- `GET|POST /as/user_authz.oauth2` the page where a person approves or denies a user code
- `GET /_devauth/stats`            connection and request counters (JSON)
- `GET /.well-known/oauth-authorization-server` (and `openid-configuration`): metadata

Clients (in memory): `public-device` (none), `basic-device` (client_secret_basic),
`post-device` (client_secret_post), `mtls-device` (tls_client_auth, RFC 8705 §2.1.2).

In-process use (tests)::

    with DevAS(state_dir, port=0, auto_approve=1.0, interval=1) as srv:
        srv.base_url, srv.port, srv.pki, srv.stats(), srv.approve(user_code)

Command line: `devauth dev-as --help` (this module's `main(argv)`).
"""

import argparse
import base64
import binascii
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
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6749.grants import RefreshTokenGrant
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from cryptography import x509
from flask import Flask, Response, jsonify, request
from markupsafe import escape
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from devauth_tools.testca import CLIENT_SUBJECT, load_or_make_pki

DEVICE_AUTHZ_PATH = "/as/device_authz.oauth2"
TOKEN_PATH = "/as/token.oauth2"
USER_AUTHZ_PATH = "/as/user_authz.oauth2"
STATS_PATH = "/_devauth/stats"
METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")

# RFC 6749 §2.3.1 makes the client form-urlencode id and secret before HTTP Basic: this secret
# needs it (":" "/" "+" "&" "=" "%" " " and a non-ASCII letter).
CLIENT_SECRET = "s3cr:t/+&=% é"
DEFAULT_SCOPE = "openid profile"
SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")
ACCESS_TOKEN_EXPIRES_IN = 3600
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "tls_client_auth", "none"]
DEV_USER = "devauth-dev-user"

STATS_KEYS = (
    "connections",
    "tls_handshakes",
    "requests",
    "device_authorizations",
    "token_requests",
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
    """A registered client; every one may use the device_code and refresh_token grants."""

    def __init__(self, client_id, auth_method, secret=None, subject_dn=None):
        self.client_id = client_id
        self.token_endpoint_auth_method = auth_method
        self.client_secret = secret
        self.tls_client_auth_subject_dn = subject_dn  # RFC 8705 §2.1.2 metadata
        self.grant_types = (DEVICE_CODE_GRANT_TYPE, "refresh_token")
        self.scope = " ".join(SUPPORTED_SCOPES)
        self.default_scope = DEFAULT_SCOPE

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
        # The same method at the token and the device authorization endpoints.
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    def describe(self):
        out = {"method": self.token_endpoint_auth_method}
        if self.client_secret is not None:
            out["secret"] = self.client_secret
        if self.tls_client_auth_subject_dn is not None:
            out["subject_dn"] = self.tls_client_auth_subject_dn
        out["scope"] = self.default_scope
        return out


def default_clients():
    return {
        c.client_id: c
        for c in (
            Client("public-device", "none"),
            Client("basic-device", "client_secret_basic", secret=CLIENT_SECRET),
            Client("post-device", "client_secret_post", secret=CLIENT_SECRET),
            Client("mtls-device", "tls_client_auth", subject_dn=CLIENT_SUBJECT),
        )
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


def authenticate_tls_client_auth(query_client, req):
    """Authlib client-auth method `tls_client_auth` (RFC 8705 §2.1.2, PKI method).

    The TLS layer has checked that the certificate chains to the client CA; here its subject DN
    must equal the client's registered `tls_client_auth_subject_dn`.
    """
    client_id = req.payload.client_id
    cert_der = request.environ.get("devauth.peer_cert_der")
    if not client_id or not cert_der:
        return None
    client = query_client(client_id)
    if client is None or not client.tls_client_auth_subject_dn:
        return None
    if _subject_matches(cert_der, client.tls_client_auth_subject_dn):
        return client
    return None


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
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        return self.server.store.find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token):
        return refresh_token["user"]

    def revoke_old_credential(self, refresh_token):
        self.server.store.revoke(refresh_token)


class _Token(dict):
    """A stored token (Authlib's TokenMixin calls, for the refresh_token grant)."""

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
        self.counters = dict.fromkeys(STATS_KEYS, 0)
        self.counters.update(
            tls_handshake_failures=0, injected_failures=0, slow_downs=0, tokens_issued=0
        )
        self.endpoint_requests = 0

    def count(self, key, n=1):
        with self.lock:
            self.counters[key] += n
            return self.counters[key]

    def stats(self):
        with self.lock:
            return dict(self.counters)

    # clients and tokens
    def query_client(self, client_id):
        return self.clients.get(client_id)

    def save_token(self, token, req):
        with self.lock:
            self.counters["tokens_issued"] += 1
            credential = getattr(req, "credential", None)
            if credential is not None:
                credential["used"] = True  # a device code gives one token response
            if token.get("refresh_token"):
                self.tokens[token["refresh_token"]] = _Token(
                    client_id=req.client.get_client_id(),
                    scope=token.get("scope"),
                    user=req.user or DEV_USER,
                )

    def find_refresh_token(self, refresh_token):
        with self.lock:
            token = self.tokens.get(refresh_token)
            return token if token is not None and not token.is_revoked() else None

    def revoke(self, token):
        with self.lock:
            token["revoked"] = True

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
            DEVICE_CODE_GRANT_TYPE: ACCESS_TOKEN_EXPIRES_IN,
            "refresh_token": ACCESS_TOKEN_EXPIRES_IN,
        },
        OAUTH2_SCOPES_SUPPORTED=list(SUPPORTED_SCOPES),
    )
    server = _AuthorizationServer(app, store)
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_client_auth_method("tls_client_auth", authenticate_tls_client_auth)
    server.register_grant(_DeviceCodeGrant)
    server.register_grant(_RefreshTokenGrant)
    server.register_endpoint(_DeviceAuthorizationEndpoint(server, store))
    app.extensions["devauth.authorization_server"] = server

    @app.before_request
    def count_and_fail():
        counter = {DEVICE_AUTHZ_PATH: "device_authorizations", TOKEN_PATH: "token_requests"}
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
                request.environ.setdefault("devauth.note", str(body["error"]))
        return response

    @app.post(DEVICE_AUTHZ_PATH)
    def device_authorization():
        return server.create_endpoint_response(DeviceAuthorizationEndpoint.ENDPOINT_NAME)

    @app.post(TOKEN_PATH)
    def token():
        return server.create_token_response()

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
        base = store.base_url
        return jsonify(
            issuer=base,
            device_authorization_endpoint=base + DEVICE_AUTHZ_PATH,
            token_endpoint=base + TOKEN_PATH,
            grant_types_supported=[DEVICE_CODE_GRANT_TYPE, "refresh_token"],
            token_endpoint_auth_methods_supported=AUTH_METHODS,
            scopes_supported=list(SUPPORTED_SCOPES),
        )

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
        line = f"conn {self.conn_id}: {self.command} {path} -> {code}"
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

    def __init__(self, host, port, app, store, ssl_context):
        self.store = store
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


def make_tls_context(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki["server_pem"], pki["server_key"])
    ctx.load_verify_locations(cafile=pki["client_ca_pem"])
    ctx.verify_mode = ssl.CERT_OPTIONAL  # ask for a client certificate (tls_client_auth)
    return ctx


# --------------------------------------------------------------------------------------------
# In-process API


class DevAS:
    """The dev authorization server in a background thread.

    `state_dir`: where the PKI and `server.json` go (a temp dir, removed on stop, if None).
    Options are the command-line flags: `host`, `port` (0 = a free port), `auto_approve`
    (seconds after issue; None = only a person or `approve()` decides), `deny` (auto-approval
    denies), `interval`, `expires_in`, `no_interval`, `slow_down_every`, `fail_every`,
    `close_after_response`, `no_keep_alive`; also `advertise_host` (the host name in
    `base_url` and, besides localhost and 127.0.0.1, in the server certificate) and `quiet`.
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
        }
        self._quiet = quiet
        self._log_stream = log_stream
        self._log_lock = threading.Lock()
        self.store = _Store(self.opts, self._log)
        self.app = create_app(self.store)
        self.port = None
        self.base_url = None
        self.pki = None
        self.server_json = os.path.join(self.state_dir, "server.json")
        self._server = None
        self._thread = None

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
        ctx = make_tls_context(self.pki)
        try:
            self._server = _Server(self.host, self.requested_port, self.app, self.store, ctx)
        except SystemExit as exc:  # werkzeug exits when it cannot bind
            raise OSError(f"dev-as: cannot listen on {self.host}:{self.requested_port}") from exc
        self.port = self._server.port
        host = self.advertise_host
        self.base_url = f"https://{'[' + host + ']' if ':' in host else host}:{self.port}"
        self.store.base_url = self.base_url
        self._write_server_json()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"dev-as:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _write_server_json(self):
        info = {
            "base_url": self.base_url,
            "port": self.port,
            "ca_der": self.pki["ca_der"],
            "ca_pem": self.pki["ca_pem"],
            "pki": self.pki,
            "clients": self.clients,
            "issuer": self.base_url,
            "device_authorization_endpoint": self.base_url + DEVICE_AUTHZ_PATH,
            "token_endpoint": self.base_url + TOKEN_PATH,
            "verification_uri": self.base_url + USER_AUTHZ_PATH,
            "stats_url": self.base_url + STATS_PATH,
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
        server.shutdown()  # the accept loop ends; serve_forever then joins connection threads
        server.close_connections()
        self._thread.join(timeout=HANDSHAKE_TIMEOUT + 5)
        server.server_close()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # observing and steering
    def stats(self):
        """{"connections", "tls_handshakes", "requests", "device_authorizations",
        "token_requests"} (and a few more) since start; every request counts, stats too."""
        return self.store.stats()

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
        f"approve codes at {srv.base_url}{USER_AUTHZ_PATH}",
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
