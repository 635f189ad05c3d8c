"""A reply body read in parts into the caller's buffer, or into a file, never held whole.

For API replies larger than the client's reply buffer (devauth.oauth.api, `stream=True`); loaded
only then. The framing is the client's (Content-Length, chunked, or to the end of the connection),
each framing line bounded as in devauth.net.http; the caller decides how much to read.
"""

from devauth.errors import NetworkError, ProtocolError

_UNKNOWN = -1  # no Content-Length, not chunked: the body runs to the end of the connection


class Body:
    """The body of the reply `client` has just begun (after its headers)."""

    def __init__(self, client, headers, http10):
        self._client = client
        self._turn = client.turn
        self._http10 = http10
        self._chunked = False
        self._first = True
        self.done = False
        te = headers.get("transfer-encoding", "").lower()
        cl = headers.get("content-length")
        if te:
            if te != "chunked":
                client.close()
                raise ProtocolError("reply uses unsupported transfer-encoding %s" % te[:20])
            self._chunked = True
            self._left = 0  # of the current chunk
        elif cl is not None:
            if not cl.isdigit() or len(cl) > 12:
                client.close()
                raise ProtocolError("reply has a bad Content-Length")
            self._left = int(cl)
            if not self._left:
                self._finish(True)
        else:
            self._left = _UNKNOWN

    def readinto(self, buf):
        """Read the next part of the body into `buf` (bytearray or memoryview) -> the number of
        bytes read; 0 once the body is over."""
        if self.done:
            return 0
        c = self._client
        if c.turn != self._turn:
            self.done = True
            raise ProtocolError("the streamed reply was cut off by a later request")
        view = memoryview(buf)
        try:
            if self._chunked and not self._left:
                size, _ = c.chunk_size(not self._first)
                self._first = False
                if not size:
                    c.trailers(0)
                    self._finish(True)
                    return 0
                self._left = size
            if self._left != _UNKNOWN and len(view) > self._left:
                view = view[: self._left]
            n = c.read_some(view)
            if not n:
                if self._left != _UNKNOWN:
                    raise NetworkError("connection closed mid-reply")
                self._finish(False)
                return 0
        except BaseException:
            self.close()
            raise
        if self._left != _UNKNOWN:
            self._left -= n
            if not self._left and not self._chunked:
                self._finish(True)
        return n

    def save(self, path, buf):
        """Write the rest of the body to the file `path`, through `buf` -> bytes written.

        Written to `path`.tmp and renamed at the end: a failure leaves no half-written file.
        """
        import os

        tmp = path + ".tmp"
        total = 0
        try:
            with open(tmp, "wb") as f:
                while True:
                    n = self.readinto(buf)
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
            if self._client.turn == self._turn:
                self._client.close()

    def _finish(self, framed):
        self.done = True
        self._client.end(framed and not self._http10)
