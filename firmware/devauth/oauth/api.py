"""The application calls its own API with the access token, through devauth's HTTPS client.

    r = session.request("POST", "https://api.example.com/v1/readings", json={"t": 21.5})
    r.status, r.json()

Loaded on first use by `Session.request`: a sign-in never has this module on the heap. A reply
is read whole by the HTTP client's own reader (as the sign-in's replies are); the streaming
reader (devauth.net.stream) is loaded only for `stream=True`.

- The token goes in the `Authorization: Bearer` header (RFC 6750 §2.1), never in a URL or a body,
  over the same verified TLS, timeouts and bounded reads as the OAuth requests; `http://` is
  refused unless `allow_insecure_http`. Redirects are returned (the caller gets the 3xx), never
  followed: the token goes only to the origin the application named.
- Trust per host: `api_ca_certificates` (config) names the trust anchors of API hosts; a host not
  named there is trusted as the authorization server is (`ca_certificates`). The client
  certificate, when configured, is presented to the API as well, so RFC 8705 §3
  certificate-bound access tokens work. One TLS context per trust set, made on first use.
- The token is fresh: one within the refresh margin is refreshed before sending. A 401 (RFC 6750
  §3.1 invalid_token, or no reason) gets one refresh and one retry with the same body; a second
  401 is an `APIError`. `403 insufficient_scope` is an `InsufficientScope` naming the scope the
  server asks for, without a retry. `invalid_grant` on that refresh starts a new device sign-in,
  as everywhere (devauth.oauth.session).
- Bounded: a reply up to the client's buffer (8 KB) is read whole; a larger one is a
  `BodyTooLarge` unless `stream=True`, which hands the body over in parts (`readinto`, `save`;
  awaited on the asyncio client, devauth.net.ahttp.AsyncBody).
- One connection at a time, kept alive across calls to one host. A kept-alive connection the
  server has closed is detected before sending; if it fails anyway before any reply, only an
  idempotent request (RFC 9110 §9.2.2) is sent again: a POST is never sent twice unknowingly.
"""

import json as _json

from devauth.errors import ConfigError, DevauthError, NetworkError, ProtocolError
from devauth.net.http import FORM, HTTPClient
from devauth.net.url import encode, split_url
from devauth.oauth.steps import ENSURE

# No tables at module level: a constant inside a function costs the heap no more, and the
# module's names do not join the heap's for good (each name of a loaded .mpy is interned).


class APIError(DevauthError):
    """The API refused the token after a refresh (HTTP 401), or the call itself is wrong."""

    short = "API refused"

    def __init__(self, message, status=None, error=None):
        super().__init__(message)
        self.status = status
        self.error = error  # the RFC 6750 §3.1 error code the server gave, if any


class InsufficientScope(APIError):
    """HTTP 403 insufficient_scope (RFC 6750 §3.1): the token lacks the scope the API names."""

    short = "Scope missing"

    def __init__(self, message, scope):
        super().__init__(message, 403, "insufficient_scope")
        self.scope = scope


class BodyTooLarge(ProtocolError):
    """The reply body is over the client's bound and was not asked for as a stream."""


class Trust:
    """The trust anchors of an API host with the client certificate (RFC 8705 §3), named after
    their config key: what devauth.net.http makes one TLS context of, on first use."""

    __slots__ = ("ca_certificates", "client_certificate", "client_key", "name", "ctx")

    def __init__(self, cas, cert, key, name):
        self.ca_certificates = cas
        self.client_certificate = cert
        self.client_key = key
        self.name = name
        self.ctx = None


class Reply:
    """An API reply: `status`, `headers` (lower-case names; the client keeps content-type,
    content-length, location, www-authenticate, retry-after, ...), `content` (bytes), `text`,
    `json()`. A streamed reply (`stream=True`) has `content` None: read its body with
    `readinto(buf)` or `save(path, buf)`, or `close()` it (on the asyncio API: awaited)."""

    __slots__ = ("status", "headers", "content", "_body")

    def __init__(self, status, headers, content, body=None):
        self.status = status
        self.headers = headers
        self.content = content
        self._body = body

    @property
    def text(self):
        return self.content.decode()

    def json(self):
        """The body parsed as JSON (any JSON value); ProtocolError when it is not JSON."""
        try:
            return _json.loads(self.content)
        except (ValueError, UnicodeError, TypeError):
            raise ProtocolError("API reply is not valid JSON (HTTP %d)" % self.status) from None

    def readinto(self, buf):
        return self._body.readinto(buf) if self._body else 0

    def save(self, path, buf):
        return self._body.save(path, buf) if self._body else 0

    def close(self):
        if self._body:
            return self._body.close()  # (an awaitable on the asyncio client)


def request_steps(
    session, method, url, json=None, data=None, body=None, headers=None, stream=False
):
    """Send `method` to `url` with the access token -> Reply. See the module docstring.

    Steps (devauth.oauth.steps): the token comes from an ENSURE step, each call is a `request`
    step of the session's transport (blocking, or the asyncio client: then a streamed reply's
    `readinto`, `save` and `close` are awaited)."""
    client = session.transport
    if not isinstance(client, HTTPClient):
        raise ConfigError(
            "session.request needs http_client builtin (urequests skips certificate checks "
            "and follows redirects with the token)"
        )
    method = method.upper()
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise APIError(
            "request: method %s is not one of GET, POST, PUT, PATCH, DELETE" % method[:10]
        )
    payload, ctype = _payload(method, json, data, body)
    extra = _headers(headers)
    for name, _ in extra:
        if name.lower() == "content-type":
            ctype = None  # the caller's own
    try:
        host, port = split_url(url)[1:3]
    except ValueError as e:
        raise APIError("request: the URL %s" % e) from None
    trust = _trust(session, host, port)
    resend = method in ("GET", "PUT", "DELETE")  # idempotent (RFC 9110 §9.2.2)
    rec = yield (ENSURE, None)  # refreshed first when within the margin
    args = (client, method, url, payload, extra, ctype, trust, resend, stream)
    reply = yield from _send(rec["access_token"], *args)
    if reply.status == 401:
        # RFC 6750 §3.1 invalid_token (or no reason): the token may have been revoked or may
        # have expired early. One refresh, one retry with the same body; never a loop.
        rec = yield (ENSURE, rec["access_token"])
        reply = yield from _send(rec["access_token"], *args)
        if reply.status == 401:
            error = _param(reply, "error")
            raise APIError(
                "API at %s refused the token after a refresh (HTTP 401%s)"
                % (host, " " + error if error else ""),
                401,
                error,
            )
    if reply.status == 403:
        scope = _param(reply, "scope")
        if _param(reply, "error") == "insufficient_scope":
            raise InsufficientScope(
                "API at %s needs scope %s (HTTP 403 insufficient_scope)" % (host, scope or "?"),
                scope,
            )
    return reply


def _send(token, client, method, url, payload, extra, ctype, trust, resend, stream):
    # RFC 6750 §2.1 b64token: visible ASCII only; anything else could split the header.
    if not _printable(token, False):
        raise ProtocolError("the access token has characters a Bearer header cannot carry")
    hdrs = [("Authorization", "Bearer " + token)]
    hdrs.extend(extra)
    aio = not client._blocking
    if not resend:
        _drop_if_closed(client)
    try:
        # the blocking client leaves every body to be read here; the asyncio one reads a body
        # not streamed itself (one step less on the loop)
        r = yield ("request", (method, url, payload, hdrs, ctype, trust, resend, stream or not aio))
    except NetworkError as e:
        if resend:
            raise
        # RFC 9110 §9.2.2: a request that is not idempotent is not sent again automatically.
        raise NetworkError("%s; the %s was not sent again" % (e, method)) from None
    if aio and not stream:  # read whole, bounded, by the client; copied out of its buffer
        return Reply(r.status, r.headers, bytes(r.body))
    if stream and r.status not in (401, 403):
        from devauth.net.stream import Body

        body = Body(client, r.status, r.headers)
        if aio:
            from devauth.net.ahttp import AsyncBody

            body = AsyncBody(client, body)
        return Reply(r.status, r.headers, None, body)
    content = yield from _whole(client, r.status, r.headers)
    if aio:  # a 401 or 403 asked for as a stream: read whole, its awaitable reads say 0
        from devauth.net.ahttp import AsyncBody

        return Reply(r.status, r.headers, content, AsyncBody(client, None))
    return Reply(r.status, r.headers, content)


def _whole(client, status, headers):
    """The reply body read whole into the client's buffer, bounded, by the client's own reader
    (the sign-in's; a step of its driver) -> bytes. The connection is kept as after any reply,
    or closed."""
    try:
        if status in (204, 304):  # RFC 9110 §6.4.1: no body, whatever the headers say
            body, framed = b"", True
        else:
            body, framed = yield ("_read_body", (headers,))
            body = bytes(body)
    except ProtocolError as e:
        client.close()
        if str(e).startswith("reply body"):  # over the client's bound (devauth.net.http)
            raise BodyTooLarge("API %s (read it with stream=True)" % e) from None
        raise
    except BaseException:
        client.close()
        raise
    client._busy = False
    client.requests += 1
    if not framed or "close" in headers.get("connection", "").lower():
        client.close()
    return body


def _drop_if_closed(client):
    """Close the kept-alive connection if the server closed it (or wrote on it) while it sat
    idle: an idle one has nothing to read. Checked before a request that must not be sent twice,
    so that it goes on a connection known to be open."""
    io = client._io  # the client's own stream (TLS socket or plain)
    if io is None or client._sock is None:  # no connection (or a test's scripted one)
        return
    import select

    p = select.poll()
    p.register(io, select.POLLIN)
    if p.poll(0):
        client.close()


def _payload(method, json, data, body):
    """The request body and its content type from exactly one of json, data (a form) or body."""
    given = [x for x in (json, data, body) if x is not None]
    if len(given) > 1:
        raise APIError("request: give one of json, data or body")
    if json is not None:
        return _json.dumps(json).encode(), "application/json"
    ctype = "application/octet-stream"
    if data is not None:
        if isinstance(data, dict):
            data = list(data.items())
        if isinstance(data, list):
            return encode(data), FORM
        body, ctype = data, FORM  # a form already encoded
    elif body is None:
        # A request that carries content says how long it is, even when empty (RFC 9110 §8.6).
        return (b"", None) if method in ("POST", "PUT", "PATCH") else (None, None)
    if isinstance(body, str):
        return body.encode(), ctype
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), ctype
    raise APIError("request: a body must be bytes or str")


def _headers(headers):
    """The caller's extra headers (dict or [(name, value)]) checked: no line breaks, and none of
    the headers devauth sets itself."""
    out = []
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    for name, value in pairs:
        name, value = str(name), str(value)
        if name.lower() in ("authorization", "host", "content-length", "transfer-encoding"):
            raise APIError("request: header %s is set by devauth" % name[:40])
        if not name or not _printable(name + value, True):
            raise APIError("request: header %s has a line break or control character" % name[:40])
        out.append((name, value))
    return out


def _printable(s, space):
    for ch in s:
        if not (" " < ch <= "~" or (space and ch in " \t")):
            return False
    return True


def _trust(session, host, port):
    """The Trust of an API host: its `api_ca_certificates` entry with the client certificate,
    or the authorization server's (None: the client's own)."""
    cas = session.config.api_ca_certificates
    if not cas:
        return None
    name = "%s:%d" % (host, port)
    if name not in cas:
        name = host if host in cas else "*"
    if name not in cas:
        return None
    trust = cas[name]
    if not isinstance(trust, Trust):  # first use: the DER list becomes its Trust, kept there
        cfg = session.config
        trust = cas[name] = Trust(
            trust,
            cfg.tls_client_certificate,
            cfg.tls_client_key,
            "api_ca_certificates" if name == "*" else "api_ca_certificates[%s]" % name,
        )
    return trust


def _param(reply, name):
    """An auth-param's value (quoted-string or token) in the reply's `WWW-Authenticate: Bearer`
    challenge (RFC 6750 §3), or None."""
    value = reply.headers.get("www-authenticate", "")
    i = 0
    key = name + "="
    while True:
        i = value.find(key, i)
        if i < 0:
            return None
        if i == 0 or value[i - 1] in " ,\t":
            break
        i += 1
    i += len(key)
    if value[i : i + 1] == '"':
        end = value.find('"', i + 1)
        return value[i + 1 : end if end > 0 else len(value)][:200]
    end = i
    while end < len(value) and value[end] not in " ,\t":
        end += 1
    return value[i:end][:200]
