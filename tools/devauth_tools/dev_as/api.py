"""A small protected API beside the authorization server, for the firmware's `session.request`.

`/api/readings` (and `/api/readings/<id>`), every method: a Bearer access token this server
issued (RFC 6750 §2.1), not revoked, not expired, is required; tokens of `tls_client_auth`
clients are certificate-bound (RFC 8705 §3): the API connection must present the client's
certificate. A good call answers 200 (201 for POST) with JSON: the method, the JSON or form it
received, the client id, the scope and the call's number. A refused one answers 401 with
`WWW-Authenticate: Bearer error="invalid_token"` (no error code when no token came, §3.1).

Switches, in the query string (`?fault=...`), for the tests:

- `401-once` (with `key=K`): the first call with key K answers 401 invalid_token
- `401`: every call answers 401 invalid_token
- `403-scope`: 403 `insufficient_scope`, naming `scope` (default "readings:write")
- `redirect`: 302 to the same path at another origin (`https://127.0.0.1:PORT` when the call
  came to `localhost`, and the other way round); what reaches that origin is recorded
- `big`: a 100 KB body (`size=N` for another size), bytes 0..255 repeated
- `drip` (`every=S`, seconds): the whole reply written one byte at a time, S apart
- `drop-once` (with `key=K`): the first call with key K reads the request and closes the
  connection without a reply

`DevAS(...).store.api` (an `ApiLog`) keeps what came: `calls` [(host, method, path, had an
Authorization header, token accepted)] and counters.
"""

import json
import threading
import time

from flask import Response, jsonify, request

from devauth_tools.dev_as.clients import _subject_matches

API_PATH = "/api/readings"
BIG_SIZE = 100 * 1024
DEFAULT_SCOPE_NEEDED = "readings:write"


class ApiLog:
    """What the API saw, shared by the connection threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # (host, method, path, had Authorization, token accepted)
        self.keys = set()  # the `key`s of once-only faults already spent
        self.readings = []

    def add(self, *call):
        with self.lock:
            self.calls.append(call)
            return len(self.calls)

    def first_time(self, key):
        with self.lock:
            if key in self.keys:
                return False
            self.keys.add(key)
            return True

    def count(self, host=None, path=None):
        with self.lock:
            return sum(
                1
                for c in self.calls
                if (host is None or c[0] == host) and (path is None or c[2] == path)
            )


def install(app, store):
    """Add the API to the dev server's Flask `app`; its log goes to `store.api`."""
    log = store.api = ApiLog()
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.route(API_PATH, methods=methods)
    @app.route(API_PATH + "/<item>", methods=methods)
    def readings(item=None):
        host = request.host.rsplit(":", 1)[0]
        auth = request.headers.get("Authorization")
        fault = request.args.get("fault", "")
        key = request.args.get("key", "")
        token = _check(store, auth)
        n = log.add(host, request.method, request.path, auth is not None, token is not None)
        if fault == "redirect":
            other = "127.0.0.1" if host == "localhost" else "localhost"
            port = request.host.rsplit(":", 1)[1]
            location = "https://%s:%s%s" % (other, port, request.path)
            return Response(b"", status=302, headers={"Location": location})
        if fault == "drop-once" and log.first_time("drop:" + key):
            request.environ["devauth.raw_response"] = _drop
            return Response(b"")
        if token is None:
            return _unauthorized("invalid_token" if auth else None)
        if fault == "401" or (fault == "401-once" and log.first_time("401:" + key)):
            return _unauthorized("invalid_token")
        if fault == "403-scope":
            scope = request.args.get("scope", DEFAULT_SCOPE_NEEDED)
            challenge = 'Bearer error="insufficient_scope", scope="%s"' % scope
            return Response(
                json.dumps({"error": "insufficient_scope"}),
                status=403,
                mimetype="application/json",
                headers={"WWW-Authenticate": challenge},
            )
        if fault == "big":
            size = int(request.args.get("size", BIG_SIZE))
            return Response(_pattern(size), mimetype="application/octet-stream")
        body = {
            "method": request.method,
            "item": item,
            "client_id": token["client_id"],
            "scope": token["scope"],
            "n": n,
            "received": _received(),
        }
        if request.method == "POST":
            log.readings.append(body["received"])
        if fault == "drip":
            every = float(request.args.get("every", "0.5"))
            data = json.dumps(body).encode()
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            raw = head + b"Content-Length: %d\r\n\r\n" % len(data) + data
            request.environ["devauth.raw_response"] = lambda sock: _drip(sock, raw, every)
            return Response(b"")
        return jsonify(body), 201 if request.method == "POST" else 200

    return log


def _check(store, auth):
    """The token record for a valid `Authorization: Bearer` header, or None."""
    if not auth or not auth.startswith("Bearer "):
        return None
    with store.lock:
        token = store.access_tokens.get(auth[7:])
        if token is None or token["access_revoked"] or time.time() >= token["expires_at"]:
            return None
        client = store.clients.get(token["client_id"])
    if client is not None and client.token_endpoint_auth_method == "tls_client_auth":
        # RFC 8705 §3: a certificate-bound token is good only over a connection that presents
        # the certificate it was bound to (here: the client's registered subject).
        cert = request.environ.get("devauth.peer_cert_der")
        if not cert or not _subject_matches(cert, client.tls_client_auth_subject_dn):
            request.environ["devauth.note"] = "certificate-bound token without the certificate"
            return None
    return token


def _unauthorized(error):
    challenge = 'Bearer realm="devauth-api"'
    if error:
        challenge += ', error="%s", error_description="the access token is not valid"' % error
        request.environ["devauth.note"] = error
    return Response(b"", status=401, headers={"WWW-Authenticate": challenge})


def _received():
    if request.is_json:
        return request.get_json(silent=True)
    if request.form:
        return dict(request.form)
    return {"bytes": len(request.get_data())}


def _pattern(size):
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def _drip(sock, raw, every):
    for i in range(len(raw)):
        sock.sendall(raw[i : i + 1])
        time.sleep(every)


def _drop(sock):
    pass  # the server closes the connection: no reply at all
