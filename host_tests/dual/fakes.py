"""Fakes shared by the dual tests: a clock that never sleeps, a scripted transport, an observer,
and a scripted byte stream standing in for a (TLS) socket. Runs on CPython and MicroPython."""

import json

from devauth import config as _config
from devauth.net.http import HTTPClient, Response
from devauth.observer import Observer
from mptest import FakeClock  # noqa: F401 (the tests import it from here)


class FakeTransport:
    """Answers post_form from a script: (status, body dict|bytes[, headers]) or an exception."""

    def __init__(self, script, clock=None):
        self.script = list(script)
        self.sent = []  # (url, body bytes, headers list, clock time)
        self.clock = clock

    def post_form(self, url, body, headers=()):
        self.sent.append((url, body, list(headers), self.clock.now if self.clock else None))
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        status, body = item[0], item[1]
        hdrs = item[2] if len(item) > 2 else {}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        return Response(status, hdrs, body)

    def close(self):
        pass


class AsyncTransport(FakeTransport):
    """The scripted transport, awaited (devauth.aio): each reply first gives the loop a turn;
    `hook(n)` runs before the n-th request is answered (a test cancels or waits there)."""

    streams = False

    def __init__(self, script, clock, hook=None):
        FakeTransport.__init__(self, script, clock)
        self.hook = hook
        self.closed = 0

    async def post_form(self, url, body, headers=()):
        from devauth import aio  # asyncio: only for the tests that await

        n = len(self.sent)
        self.sent.append(None)  # counted now: a cancelled request was still sent
        if self.hook:
            await self.hook(n)
        await aio.sleep_ms(0)
        self.sent.pop()
        return FakeTransport.post_form(self, url, body, headers)

    def close(self):
        self.closed += 1


class Recorder(Observer):
    """An observer that keeps every event as a tuple, and every console line."""

    def __init__(self):
        self.events = []
        self.lines = []
        self.out = self.lines.append

    def status(self, title, body=""):
        self.events.append(("status", title))

    def requesting(self):
        self.events.append(("requesting",))

    def show_code(self, code):
        self.events.append(("show_code", code.user_code))

    def tick(self, seconds_left):
        self.events.append(("tick", seconds_left))

    def retrying(self, reason, seconds):
        self.events.append(("retrying", reason, seconds))

    def signed_in(self, token):
        self.events.append(("signed_in",))

    def failed(self, err):
        self.events.append(("failed", type(err).__name__, str(err)))

    def kinds(self, kind):
        return [e for e in self.events if e[0] == kind]


class Stream:
    """A server's side of one connection: yields `data`, then EOF (or an error), records writes.

    `endless` repeats its bytes forever after `data`, to model hostile servers.
    """

    def __init__(self, data=b"", error=None, endless=None):
        self.data = data
        self.pos = 0
        self.error = error
        self.endless = endless
        self.written = bytearray()
        self.consumed = 0
        self.closed = False

    def _more(self):
        if self.pos >= len(self.data) and self.endless:
            self.data = self.endless
            self.pos = 0
        return self.pos < len(self.data)

    def _eof(self):
        if self.error is not None:
            raise self.error
        return b""

    def readline(self, limit=-1):
        if not self._more():
            return self._eof()
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        if 0 <= limit < end - self.pos:
            end = self.pos + limit
        out = self.data[self.pos : end]
        self.pos = end
        self.consumed += len(out)
        return out

    def read(self, n):
        if not self._more():
            return self._eof()
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        self.consumed += len(out)
        return out

    def readinto(self, buf):
        chunk = self.read(len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)

    def write(self, data):
        self.written.extend(data)
        return len(data)

    def close(self):
        self.closed = True


class ScriptedHTTP(HTTPClient):
    """The real HTTP client with `_connect` handing out scripted Streams instead of sockets
    (a generator, as the real I/O step is: it never waits)."""

    def __init__(self, streams, **kw):
        super().__init__(**kw)
        self.scripted = list(streams)
        self.opened = []
        self.keys = []  # (scheme, host, port, trust) of every connection opened

    def _connect(self, key):
        if not self.scripted:
            raise AssertionError("no more scripted connections")
        self._io = self.scripted.pop(0)
        self.opened.append(self._io)
        self.keys.append(key)
        self._key = key
        self.connections += 1
        return
        yield


def reply(status=200, body=b"{}", headers=(), length=True):
    """Bytes of an HTTP/1.1 response."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    head = "HTTP/1.1 %d X\r\n" % status
    for h in headers:
        head += h + "\r\n"
    if length:
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


class Config(_config.Config):
    """devauth.config.Config with the fields the flow reads set for the tests."""

    def __init__(self, method="none", secret=None, scope="openid profile", state_dir=None):
        super().__init__()
        self.client_id = "df_client"
        self.client_secret = secret
        self.private_key = None
        self.private_key_id = None
        self.token_endpoint_auth_signing_alg = "HS256" if method == "client_secret_jwt" else None
        self.client_assertion_audience = None
        self.issuer = None
        self.revocation_endpoint = "https://as.example.com/as/revoke_token.oauth2"
        self.allow_insecure_http = False
        self.state_dir = state_dir
        self.scope = scope
        self.token_endpoint_auth_method = method
        self.device_authorization_endpoint = "https://as.example.com/as/device_authz.oauth2"
        self.token_endpoint = "https://as.example.com/as/token.oauth2"
        self.extra_params = []
        self.token_params = []
        self.device_grant = None
        self.api_ca_certificates = None
        self.tls_client_certificate = None
        self.tls_client_key = None
