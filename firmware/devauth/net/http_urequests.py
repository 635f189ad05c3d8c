"""A second transport on micropython-lib's `requests` (`mip install urequests`), for firmware
shipping it.

Limits, stated at every start by the app: `requests` never verifies the server certificate (it
sets CERT_NONE), so anyone on the network path can answer in the server's name; it cannot
present a client certificate (no tls_client_auth) and opens a new connection per request. So
`devauth.config` refuses every method that sends a client credential (client_secret_*,
*_jwt) over it unless `urequests_send_secrets_unverified` is true.

What this wrapper adds to `requests`, through its `parse_headers` hook (called once per reply
header line, before `requests` acts on a redirect):
- redirects are refused: `requests` follows 301-308 to any host, keeping the Authorization
  header and resending the body (the secret, the assertion, the device code) without the
  timeout; a reply carrying `Location` ends in ProtocolError instead;
- the header block is bounded (MAX_HEADERS lines, MAX_HEADER_BYTES) and the request's deadline
  is checked after every line and while the body is read.
Not bounded: the length of one status or header line (`requests` reads it whole) and the
connect and TLS handshake, each bounded by `timeout` only. Use the builtin client
(devauth.net.http) unless you must save its few kilobytes of code.
"""

import gc

from devauth import clock as _clock
from devauth.errors import NetworkError, ProtocolError
from devauth.net.reply import (
    MAX_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    Response,
    ascii_text,
    deadline_error,
    oserr,
)
from devauth.net.url import split_url

_KEEP = ("content-length", "connection", "retry-after", "content-type")


class _Refused(OSError):
    """Raised from the header hook: an OSError, so that `requests` closes its socket. Its
    argument is the DevauthError to raise instead."""


class URequestsClient:
    def __init__(self, allow_http=False, timeout=15, max_body=MAX_BODY, deadline=None, clock=None):
        self.allow_http = allow_http
        self.timeout = timeout
        self.deadline_ms = int((timeout if deadline is None else deadline) * 1000)
        self.clock = clock or _clock
        self.max_body = max_body
        self._buf = bytearray(max_body + 1)  # reply bodies land here: allocated once, reused
        self.connections = self.handshakes = self.requests = 0

    def post_form(self, url, body, headers=()):
        return self.request("POST", url, body, headers)

    def get(self, url):
        return self.request("GET", url, None, ())

    def request(self, method, url, body, headers):
        scheme = split_url(url)[0]
        if scheme != "https" and not self.allow_http:
            raise ProtocolError("refusing http:// (allow_insecure_http is false)")
        try:
            import urequests as requests
        except ImportError:
            import requests  # the same module under its micropython-lib name
        hdrs = {"Accept": "application/json"}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        for name, value in headers:
            hdrs[name] = value
        self.connections += 1
        if scheme == "https":
            self.handshakes += 1
        clock = self.clock
        hook = _Headers(self, clock.ticks_add(clock.ticks_ms(), self.deadline_ms))
        gc.collect()  # the TLS handshake inside needs the largest contiguous blocks
        try:
            r = requests.request(
                method, url, data=body, headers=hdrs, timeout=self.timeout, parse_headers=hook
            )
        except _Refused as e:
            raise e.args[0] from None
        except OSError as e:
            raise NetworkError("request to %s failed (%s)" % (url, oserr(e))) from None
        except (ValueError, NotImplementedError, IndexError, UnicodeError):
            raise ProtocolError("reply is not HTTP that urequests can read") from None
        data = self._read_body(r, hook.until)
        self.requests += 1
        return Response(r.status_code, hook.kept, data)

    def _read_body(self, r, until):
        """The body, read into the reply buffer (bounded, by the deadline) -> a view of it,
        parsed by Response.json before the next request reuses the buffer."""
        view = memoryview(self._buf)
        n = 0
        try:
            while n <= self.max_body:
                got = r.raw.readinto(view[n:])
                if not got:
                    break
                n += got
                if self.late(until):
                    raise deadline_error(self.deadline_ms)
        except OSError as e:
            raise NetworkError("reading the reply failed (%s)" % oserr(e)) from None
        finally:
            r.close()
        if n > self.max_body:
            raise ProtocolError("reply body is over the %d-byte limit" % self.max_body)
        return view[:n]

    def late(self, until):
        """Whether the ticks deadline `until` has passed."""
        return self.clock.ticks_diff(until, self.clock.ticks_ms()) <= 0

    def close(self):
        pass


class _Headers:
    """`requests`' parse_headers hook: called with each reply header line before `requests`
    acts on it. Keeps the _KEEP headers; refuses a redirect, too many header lines or bytes,
    and a passed deadline, by raising _Refused."""

    def __init__(self, client, until):
        self.client = client
        self.until = until
        self.kept = {}
        self.lines = self.size = 0

    def __call__(self, line, _into):
        self.lines += 1
        self.size += len(line)
        if self.lines > MAX_HEADERS or self.size > MAX_HEADER_BYTES:
            raise _Refused(
                ProtocolError(
                    "reply headers are over %d lines or %d bytes" % (MAX_HEADERS, MAX_HEADER_BYTES)
                )
            )
        if self.client.late(self.until):
            raise _Refused(deadline_error(self.client.deadline_ms))
        colon = line.find(b":")
        if colon <= 0:
            return
        name = bytes(line[:colon]).strip().lower()
        if name == b"location":
            raise _Refused(ProtocolError("reply is a redirect (Location): refused"))
        name = name.decode()
        if name in _KEEP:
            self.kept[name] = ascii_text(line[colon + 1 :].strip())
