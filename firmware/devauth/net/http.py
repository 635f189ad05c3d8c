"""HTTPS/1.1 client over `socket` + `tls.SSLContext`, written for small heaps and hostile servers.

Why not urequests: it sets CERT_NONE, cannot present a client certificate and opens a new TLS
connection per request. This client always verifies the server (CERT_REQUIRED + server_hostname
against the configured trust anchors), presents a client certificate for RFC 8705
tls_client_auth, and keeps one connection alive across the device authorization request and every
poll, reconnecting when the server closes it.

Everything read from the network is bounded: status line, header lines, header count, total header
bytes and the body (Content-Length or chunked), and so is the time: `timeout` bounds each socket
wait and `deadline` the whole request (connect, handshake, send, reply), so a server dripping
one byte a second cannot hold a request past it (a board's watchdog is not fed meanwhile; name
resolution is the one step it cannot cut short). Redirects are never followed.

The application's API calls (devauth.oauth.api, loaded on first use) use the same client, with a
content type, a `trust` (devauth.oauth.api.Trust; the default is this client's own), `resend`
(False: a request not safe to repeat is never sent twice) and `stream` (the body is left for
devauth.net.stream to read in parts).

Every I/O step is a generator (`yield from`), driven by a loop: this blocking client's `_run`, or
devauth.net.ahttp's asyncio one, so both share every line of parsing, bounds and deadlines. A
step yields only where a non-blocking socket would block: `(WAIT_READ, io, ms)` or
`(WAIT_WRITE, io, ms)`, `ms` the wait allowed (the time left, at most `timeout`); its driver
throws OSError(110) back in when the wait times out. Here the sockets block (with a timeout), so
a step that yields anyway has timed out.
"""

import gc
import socket
from errno import (
    ECONNABORTED,
    ECONNREFUSED,
    ECONNRESET,
    EHOSTUNREACH,
    EINPROGRESS,
    ETIMEDOUT,
)

from devauth import clock as _clock
from devauth.errors import NetworkError, ProtocolError, TLSError
from devauth.net.reply import (  # noqa: F401 (MAX_BODY, Response: the client's public names)
    MAX_BODY,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    Response,
    ascii_text,
    deadline_error,
    is_timeout,
    oneline,
    oserr,
)
from devauth.net.url import decimal, split_url

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


try:
    import tls
except ImportError:  # MicroPython < 1.23 called it ssl
    tls = None

WAIT_READ = const(1)  # the effects an I/O step yields: wait until `io` is readable ...
WAIT_WRITE = const(2)  # ... or writable, for at most `ms`
MAX_LINE = const(256)  # of a status or header line, kept (the headers we keep are short)
_MAX_INTERIM = const(8)  # interim 1xx responses skipped before a reply
FORM = "application/x-www-form-urlencoded"
# Only these response headers are kept; the rest are read and dropped. `location`: a redirect is
# returned to the caller; `www-authenticate`: why an API refused the token (RFC 6750 §3).
_KEEP = (
    b"content-length",
    b"transfer-encoding",
    b"connection",
    b"retry-after",
    b"content-type",
    b"location",
    b"www-authenticate",
)


class HTTPClient:
    """POSTs forms; one connection at a time, reused while the server keeps it open."""

    _blocking = True  # sockets block, with a timeout (devauth.net.ahttp: non-blocking)

    def __init__(
        self,
        ca_certificates=(),
        client_certificate=None,
        client_key=None,
        allow_http=False,
        timeout=15,
        max_body=MAX_BODY,
        deadline=None,
        clock=_clock,
    ):
        """`timeout`: seconds each socket wait may take; `deadline`: seconds a whole request may
        take (default: `timeout`), measured on `clock`'s ticks."""
        # The sign-in's trust (see devauth.oauth.api.Trust): anchors, client certificate, context
        self.ca_certificates = ca_certificates
        self.client_certificate = client_certificate
        self.client_key = client_key
        self.name = "ca_certificates"
        self.ctx = None
        self.allow_http = allow_http
        self.timeout = timeout
        self.deadline_ms = int((timeout if deadline is None else deadline) * 1000)
        self.clock = clock
        self._until = 0  # ticks: when the request under way must be over
        self._wait_ms = 0  # the socket timeout set now, in ms
        self.max_body = max_body
        self._key = None  # (scheme, host, port, trust) of the open connection
        self._sock = None  # the raw socket
        self._io = None  # the stream we read and write (TLS socket or plain)
        # The reply body buffer and the TLS context: allocated once, first, while the heap is
        # unfragmented (a JWT signature later churns through a lot of small big-int garbage).
        self._buf = bytearray(max_body)
        self._line = bytearray(MAX_LINE)  # one status or header line, reused
        self._one = bytearray(1)
        if ca_certificates:
            self._context(self)
        self._busy = False  # a streamed reply's body is being read
        self._shaking = None  # the host whose TLS handshake the first write drives (non-blocking)
        self.connections = 0
        self.handshakes = 0
        self.requests = 0

    def post_form(self, url, body, headers=()):
        """POST an urlencoded `body` (bytes) with extra `headers` [(name, value)]; -> Response."""
        return self.request("POST", url, body, headers)

    def get(self, url):
        """GET `url` (discovery metadata); -> Response."""
        return self.request("GET", url, None, ())

    def request(
        self, method, url, body, headers, ctype=FORM, trust=None, resend=True, stream=False
    ):
        return self._run(self._request(method, url, body, headers, ctype, trust, resend, stream))

    def _run(self, step):
        """Run the I/O step `step` (a generator) to its end -> its value. The sockets block, with
        a timeout: a step never has to wait here, and one that yields has timed out."""
        try:
            next(step)
            while True:
                step.throw(OSError(110))
        except StopIteration as e:
            return e.value

    def _request(self, method, url, body, headers, ctype, trust, resend, stream):
        scheme, host, port, path = split_url(url)
        if scheme != "https" and not self.allow_http:
            raise ProtocolError("refusing http:// (allow_insecure_http is false)")
        key = (scheme, host, port, trust or self)
        if self._key != key or self._busy:
            self.close()  # one connection at a time: memory beats a second handshake
        default = 443 if scheme == "https" else 80
        head = _request_head(method, host, port, default, path, body, headers, ctype)
        clock = self.clock
        self._until = clock.ticks_add(clock.ticks_ms(), self.deadline_ms)
        self._wait_ms = 0
        while True:
            reused = self._io is not None
            if not reused:
                yield from self._connect(key)
            self._left()
            try:
                # One write: a separate small body segment would wait on the delayed ACK. It is
                # packed again on each attempt: a failed attempt's reply overwrote the buffer.
                yield from self._write(self._pack(head, body))
                status, http10 = yield from self._read_status()
            except NetworkError as e:
                self.close()
                if reused and not e.timed_out and resend:
                    continue  # the server dropped the idle connection: reconnect once
                raise
            except BaseException:
                self.close()
                raise
            break
        try:
            headers = yield from self._read_headers()
            if http10:  # we never ask an HTTP/1.0 server to keep the connection
                headers["connection"] = "close"
            if stream:
                self._busy = True
                return Response(status, headers, None)
            body, framed = yield from self._body(headers)
        except BaseException:
            self.close()
            raise
        self.requests += 1
        if not framed or "close" in headers.get("connection", "").lower():
            self.close()  # (devauth.net.stream does the same at the end of a streamed body)
        return Response(status, headers, body)

    def _left(self):
        """The wait a socket may take now (ms): what is left of the request's deadline, at most
        `timeout`; NetworkError (timed out) once the deadline has passed.

        Called after every read and write: each socket wait is also cut to the time left, so a
        request never outlives its deadline by more than one `timeout`-bounded step.
        """
        left = self.clock.ticks_diff(self._until, self.clock.ticks_ms())
        if left <= 0:
            self.close()
            raise deadline_error(self.deadline_ms)
        want = min(left, self.timeout * 1000)
        if not self._blocking:
            return want  # each wait is bounded by its driver
        if want < self._wait_ms - 250 or not self._wait_ms:
            self._wait_ms = want
            s = self._io if hasattr(self._io, "settimeout") else self._sock
            if s is not None:
                try:
                    s.settimeout(want / 1000)
                except (OSError, AttributeError):
                    pass
        return want

    def close(self):
        for s in (self._io, self._sock):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        self._io = self._sock = self._key = self._shaking = None
        self._busy = False

    # -- connection ------------------------------------------------------------------------

    def _connect(self, key):
        scheme, host, port, trust = key
        gc.collect()  # a TLS handshake needs the largest contiguous blocks we will ever ask for
        try:
            ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        except OSError as e:
            raise NetworkError("cannot resolve %s (%s)" % (host, oserr(e))) from None
        sock = socket.socket(ai[0], socket.SOCK_STREAM)
        self._sock = sock
        self._wait_ms = 0
        try:
            self._left()  # sets the socket timeout: the time left, at most `timeout`
            if not self._blocking:
                sock.setblocking(False)
            try:
                sock.connect(ai[-1])
                started = False
            except OSError as e:
                if e.args[:1] != (EINPROGRESS,):
                    raise
                started = True  # non-blocking: connecting; writable once it is done
            if started:
                yield (WAIT_WRITE, sock, self._left())
                try:  # connected, or why not: connect() again tells (there is no SO_ERROR)
                    sock.connect(ai[-1])
                except OSError as e:
                    if e.args[:1] and e.args[0] in _REFUSED:
                        raise
        except OSError as e:
            self.close()
            raise NetworkError("cannot connect to %s:%d (%s)" % (host, port, oserr(e))) from None
        self.connections += 1
        if scheme == "https":
            self._io = self._handshake(sock, host, trust)
        else:
            self._io = sock if hasattr(sock, "readline") else sock.makefile("rwb", 0)
        self._key = key

    def _context(self, trust):
        """The TLS context of `trust`: made once (the sign-in's at start-up, while the heap is
        unfragmented) and reused for every connection (it holds the parsed trust anchors and
        client certificate)."""
        if trust.ctx is not None:
            return trust.ctx
        if tls is None:
            raise TLSError(
                "this MicroPython has no tls module (needs 1.23 or newer)", "No TLS module"
            )
        ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = tls.CERT_REQUIRED  # the unix port starts at CERT_NONE
        try:
            for der in trust.ca_certificates:
                ctx.load_verify_locations(der)
        except (ValueError, OSError):
            raise TLSError(
                "%s: a certificate could not be loaded" % trust.name, "Bad CA certificate"
            ) from None
        if trust.client_certificate:
            try:
                ctx.load_cert_chain(trust.client_certificate, trust.client_key)
            except (ValueError, OSError):
                raise TLSError(
                    "tls_client_certificate/tls_client_key: not a matching certificate and key",
                    "Bad client cert",
                ) from None
        trust.ctx = ctx
        return ctx

    def _handshake(self, sock, host, trust):
        """The TLS stream over `sock`. Blocking: the handshake is done here. Non-blocking (as
        MicroPython's asyncio does it): it runs inside the first write's waits, whose failures
        `_write` reports as this would (`_shaking`)."""
        try:
            ctx = self._context(trust)
        except TLSError:
            self.close()
            raise
        self.handshakes += 1
        try:
            if self._blocking:
                return ctx.wrap_socket(sock, server_hostname=host)
            self._shaking = host
            return ctx.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        except (ValueError, OSError) as e:
            raise self._tls_failure(e, host) from None

    def _tls_failure(self, e, host):
        """The error of a TLS handshake with `host` that raised `e` (the connection closed)."""
        self.close()
        if isinstance(e, ValueError):  # mbedTLS reports verification failures as ValueError
            return TLSError("server certificate for %s rejected: %s" % (host, oneline(e)))
        if is_timeout(e):
            return NetworkError("TLS handshake with %s timed out" % host)
        if _is_dropped(e):  # the connection broke, the certificate was not judged: retry
            return NetworkError("TLS handshake with %s cut off (%s)" % (host, oserr(e)))
        return TLSError(
            "TLS handshake with %s failed (%s)" % (host, oserr(e)), "TLS handshake failed"
        )

    # -- I/O -------------------------------------------------------------------------------

    def _pack(self, head, body):
        """head + body for one write, assembled in the reply buffer (free between requests:
        right after a TLS handshake the heap may hold no contiguous block for a new string); a
        new bytes object only when it does not fit."""
        if not body:
            return head
        end = len(head) + len(body)
        if end > len(self._buf):
            return head + body
        self._buf[: len(head)] = head
        self._buf[len(head) : end] = body
        return memoryview(self._buf)[:end]

    def _write(self, data):
        view = memoryview(data)
        try:
            while view:
                n = self._io.write(view)
                if n is None:  # would block (non-blocking; a TLS handshake under way)
                    yield (WAIT_WRITE, self._io, self._left())
                    continue
                if not n:
                    raise OSError(110)
                self._shaking = None  # data went out: the handshake is over
                view = view[n:]
                self._left()
        except (OSError, ValueError) as e:
            if self._shaking:
                raise self._tls_failure(e, self._shaking) from None
            if isinstance(e, ValueError):
                raise
            raise NetworkError("sending failed (%s)" % oserr(e)) from None

    def _readline(self, limit):
        """One line (LF kept, cut at `limit` bytes) -> (bytes, its length on the wire).

        Read byte by byte into `_line`, allocated once at start: MicroPython's readline(n)
        reserves n bytes for every line, a block a heap fragmented by a reconnect may not have.
        Longer lines are read to their end (at most MAX_HEADER_BYTES) and cut.
        """
        line, one, io = self._line, self._one, self._io
        n = total = 0
        try:
            while True:
                r = io.readinto(one)
                if r is None:  # would block (MicroPython: EAGAIN once a socket timeout expired)
                    yield (WAIT_READ, io, self._left())
                    continue
                self._left()
                if not r:
                    if total:
                        raise NetworkError("connection closed mid-reply")
                    return b"", 0
                total += 1
                if n < limit:
                    line[n] = one[0]
                    n += 1
                if one[0] == 10:  # LF: the end of the line
                    return bytes(line[:n]), total
                if total > MAX_HEADER_BYTES:
                    raise ProtocolError("reply header line is over %d bytes" % MAX_HEADER_BYTES)
        except OSError as e:
            raise _network(e) from None

    def _read_into(self, view):
        """Fill `view` (a memoryview) completely from the connection."""
        got, n = 0, len(view)
        try:
            while got < n:
                r = self._io.readinto(view[got:])
                if r is None:  # would block
                    yield (WAIT_READ, self._io, self._left())
                    continue
                if not r:
                    raise NetworkError("connection closed mid-reply")
                got += r
                self._left()
        except OSError as e:
            raise _network(e) from None

    def _read_status(self):
        """-> (status code, is HTTP/1.0); skips interim 1xx responses (a few: a server sending
        them forever would otherwise be read forever)."""
        for _interim in range(_MAX_INTERIM + 1):
            line, _ = yield from self._readline(MAX_LINE)
            if not line:
                raise NetworkError("server closed the connection without replying")
            if not line.startswith(b"HTTP/1.") or len(line) < 12 or not line[9:12].isdigit():
                raise ProtocolError("reply is not HTTP (status line %s)" % ascii_text(line[:40]))
            status = int(line[9:12])
            if not 100 <= status < 200:
                return status, line[7] == 0x30  # "HTTP/1.0"
            yield from self._read_headers()  # interim response (we never ask for one): skip it
        raise ProtocolError("reply has over %d interim (1xx) responses" % _MAX_INTERIM)

    def _read_headers(self):
        """Read the header block; keep only the headers in _KEEP, bounded in count and bytes."""
        headers = {}
        count = total = 0
        while True:
            line, n = yield from self._readline(MAX_LINE)
            if not line:
                raise NetworkError("connection closed mid-reply")
            total += n
            count += 1
            if count > MAX_HEADERS or total > MAX_HEADER_BYTES:
                raise ProtocolError(
                    "reply headers are over %d lines or %d bytes" % (MAX_HEADERS, MAX_HEADER_BYTES)
                )
            if line == b"\r\n" or line == b"\n":
                return headers
            colon = line.find(b":")
            if colon <= 0:
                raise ProtocolError("reply has a malformed header line")
            name = line[:colon].strip().lower()
            if name in _KEEP:
                headers[name.decode()] = ascii_text(line[colon + 1 :].strip())

    def _read_body(self, headers):
        """The body after `headers`, read here (blocking) -> as `_body`. (devauth.oauth.api
        reads an API reply's body whole with it, after a request made with `stream`.)"""
        return self._run(self._body(headers))

    def _body(self, headers):
        """-> (body bytes, whether the body was framed so the connection can be reused).

        The body is read into one buffer of `max_body` bytes, allocated once and reused, so a
        reply costs the same memory whatever the server sends.
        """
        view = memoryview(self._buf)
        te = headers.get("transfer-encoding", "").lower()
        if te:
            if te != "chunked":
                raise ProtocolError("reply uses unsupported transfer-encoding %s" % te[:20])
            n = yield from self._read_chunked(view)
            framed = True
        elif "content-length" in headers:
            n = decimal(headers["content-length"], 12)
            if n is None:
                raise ProtocolError("reply has a bad Content-Length")
            if n > self.max_body:
                raise ProtocolError(
                    "reply body of %d bytes is over the %d-byte limit" % (n, self.max_body)
                )
            yield from self._read_into(view[:n])
            framed = True
        else:  # no framing: the body runs to EOF (bounded); the connection cannot be reused
            n = 0
            while True:
                try:
                    r = self._io.readinto(view[n:]) if n < self.max_body else self._io.read(1)
                    if r is None:  # would block
                        yield (WAIT_READ, self._io, self._left())
                        continue
                except OSError as e:
                    raise _network(e) from None
                if not r:
                    break
                self._left()
                if n >= self.max_body:
                    raise ProtocolError("reply body is over the %d-byte limit" % self.max_body)
                n += r
            framed = False
        return view[:n], framed

    def _read_chunked(self, view):
        """Read a chunked body into `view`; -> its length.

        The framing (chunk-size lines, their extensions, trailers) shares one budget of
        MAX_HEADER_BYTES: each line is bounded, and so is their sum.
        """
        n = framing = 0
        while True:
            line, used = yield from self._readline(MAX_LINE)
            framing += used
            if framing > MAX_HEADER_BYTES:
                raise ProtocolError("reply has over %d bytes of chunk framing" % MAX_HEADER_BYTES)
            if not line:
                raise NetworkError("connection closed mid-reply")
            size = line.split(b";", 1)[0].strip()
            try:
                size = int(size, 16)
            except ValueError:
                raise ProtocolError("reply has a bad chunk size") from None
            if size < 0 or n + size > self.max_body:
                raise ProtocolError("reply body is over the %d-byte limit" % self.max_body)
            if size == 0:
                break
            yield from self._read_into(view[n : n + size])
            n += size
            crlf, used = yield from self._readline(4)
            framing += used
            if crlf not in (b"\r\n", b"\n"):
                raise ProtocolError("reply has a malformed chunk")
        count = 0
        while True:  # trailer section, bounded like headers
            line, used = yield from self._readline(MAX_LINE)
            count += 1
            framing += used
            if not line:
                raise NetworkError("connection closed mid-reply")
            if line in (b"\r\n", b"\n"):
                return n
            if count > MAX_HEADERS or framing > MAX_HEADER_BYTES:
                raise ProtocolError("reply has too many trailer lines")


def _request_head(method, host, port, default_port, path, body, headers, ctype):
    if ":" in host:
        host = "[%s]" % host
    if port != default_port:
        host = "%s:%d" % (host, port)
    parts = [
        "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host),
        "Accept: application/json\r\nUser-Agent: devauth\r\n",
    ]
    if body is not None:
        if ctype:
            parts.append("Content-Type: %s\r\n" % ctype)
        parts.append("Content-Length: %d\r\n" % len(body))
    for name, value in headers:
        parts.append("%s: %s\r\n" % (name, value))
    parts.append("\r\n")
    return "".join(parts).encode()


# The peer reset (104) or aborted (103) the connection, the pipe broke (32), or it closed in the
# middle of the handshake (MBEDTLS_ERR_SSL_CONN_EOF, -0x7280): a network failure, not a verdict.
_DROPPED = (32, 103, 104, -32, -103, -104, -0x7280)


# A non-blocking connect that failed (refused, no route, timed out, reset, aborted); connect()
# again on one that succeeded says EISCONN (its number differs between lwIP and Linux).
_REFUSED = (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, ECONNRESET, ECONNABORTED)


def _is_dropped(e):
    return bool(e.args) and e.args[0] in _DROPPED


def _network(e):
    if is_timeout(e):
        err = NetworkError("server did not answer in time")
        err.timed_out = True
        return err
    return NetworkError("connection failed mid-reply (%s)" % oserr(e))
