"""A reply body read after its headers in parts, into the caller's buffer or a file, never held
whole: an API call with `stream=True` (devauth.oauth.api), which asks devauth.net.http for the
status and headers only. Loaded for such a call alone: neither a sign-in nor an API call read
whole (by the client's own reader) loads it. The framing is the client's (Content-Length,
chunked, or to the end of the connection), each framing line bounded by the client's line
reader; this module reads the client's own connection. The reads are I/O steps (generators,
as the client's): the blocking client runs them (`readinto`, `save`), devauth.net.ahttp's
AsyncBody awaits them on the asyncio loop, so the framing is written once.
"""

from devauth.errors import NetworkError, ProtocolError
from devauth.net.http import MAX_HEADERS, MAX_LINE, WAIT_READ, _network
from devauth.net.url import decimal

_TO_EOF = -1  # no Content-Length, not chunked: the body runs to the end of the connection


class Body:
    """The body of the reply `client` has just read the headers of (status `status`)."""

    def __init__(self, client, status, headers):
        self._client = client
        self._io = client._io  # a later request closes it: this body is then cut off
        self._headers = headers
        self._chunked = False
        self._first = True
        self.done = False
        te = headers.get("transfer-encoding", "").lower()
        cl = headers.get("content-length")
        if status in (204, 304):  # RFC 9110 §6.4.1: no body, whatever the headers say
            self._left = 0
        elif te:
            if te != "chunked":
                client.close()
                raise ProtocolError("reply uses unsupported transfer-encoding %s" % te[:20])
            self._chunked = True
            self._left = 0  # of the current chunk
        elif cl is not None:
            n = decimal(cl, 12)  # the one digit check (str.isdigit() takes "²", int() does not)
            if n is None:
                client.close()
                raise ProtocolError("reply has a bad Content-Length")
            self._left = n
        else:
            self._left = _TO_EOF
        if not self._left and not self._chunked:
            self._finish(True)

    def readinto(self, buf):
        """Read the next part of the body into `buf` (bytearray or memoryview) -> the number of
        bytes read; 0 once the body is over."""
        return self._client._run(self.read(buf))

    def save(self, path, buf):
        """Write the rest of the body to the file `path`, through `buf` -> bytes written.

        Written to `path`.tmp and renamed at the end: a failure leaves no half-written file.
        """
        return self._client._run(self.save_steps(path, buf))

    # The reads as I/O steps (generators, as devauth.net.http's): `readinto` and `save` run them
    # on the blocking client's `_run`, devauth.net.ahttp's AsyncBody on the asyncio loop.

    def read(self, buf):
        """`readinto` as an I/O step."""
        if self.done:
            return 0
        c = self._client
        if c._io is not self._io:
            self.done = True
            raise ProtocolError("the streamed reply was cut off by a later request")
        view = memoryview(buf)
        try:
            if self._chunked and not self._left:
                if not self._first:  # the CRLF after the previous chunk's data
                    crlf, _ = yield from c._readline(4)
                    if crlf not in (b"\r\n", b"\n"):
                        raise ProtocolError("reply has a malformed chunk")
                self._first = False
                line, _ = yield from c._readline(MAX_LINE)
                if not line:
                    raise NetworkError("connection closed mid-reply")
                size = _chunk_size(line)
                if not size:  # the last chunk, then the trailer section
                    yield from _skip_trailers(c)
                    self._finish(True)
                    return 0
                self._left = size
            if self._left != _TO_EOF and len(view) > self._left:
                view = view[: self._left]
            n = yield from _read_some(c, self._io, view)
            if not n:
                if self._left != _TO_EOF:
                    raise NetworkError("connection closed mid-reply")
                self._finish(False)
                return 0
        except BaseException:  # (GeneratorExit too: a step abandoned mid-read, cancelled)
            self.close()
            raise
        if self._left != _TO_EOF:
            self._left -= n
            if not self._left and not self._chunked:
                self._finish(True)
        return n

    def save_steps(self, path, buf):
        """`save` as an I/O step."""
        import os

        tmp = path + ".tmp"
        total = 0
        try:
            with open(tmp, "wb") as f:
                while True:
                    n = yield from self.read(buf)
                    if not n:
                        break
                    f.write(memoryview(buf)[:n])
                    total += n
            try:
                os.rename(tmp, path)
            except OSError:  # FAT cannot rename over an existing file
                os.remove(path)
                os.rename(tmp, path)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise
        return total

    def close(self):
        """Stop reading: a body not read to its end takes its connection with it."""
        if not self.done:
            self.done = True
            if self._client._io is self._io:
                self._client.close()

    def _finish(self, framed):
        """The body was read to its end: the client's connection is kept, as after a whole
        reply, if the body was framed and the server did not say `Connection: close`."""
        self.done = True
        c = self._client
        c._busy = False
        c.requests += 1
        if not framed or "close" in self._headers.get("connection", "").lower():
            c.close()


def _chunk_size(line):
    """The size in a chunk-size line (RFC 9112 §7.1), extensions ignored. (devauth.net.http
    parses its own inline: the sign-in's code stays as small as it was.)"""
    try:
        size = int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        size = -1
    if size < 0:
        raise ProtocolError("reply has a bad chunk size")
    return size


def _skip_trailers(c):
    """Read the trailer section after the last chunk: bounded lines, at most MAX_HEADERS."""
    for _ in range(MAX_HEADERS):
        line, _n = yield from c._readline(MAX_LINE)
        if not line:
            raise NetworkError("connection closed mid-reply")
        if line in (b"\r\n", b"\n"):
            return
    raise ProtocolError("reply has too many trailer lines")


def _read_some(c, io, view):
    """What the connection has, at most len(view) bytes, into `view` -> count (0: EOF). Each
    wait is bounded by the client's `timeout` (blocking: its socket's timeout has expired)."""
    try:
        while True:
            r = io.readinto(view)
            if r is not None:
                return r
            yield (WAIT_READ, io, c.timeout * 1000)  # would block
    except OSError as e:
        raise _network(e) from None
