"""A reply and what both HTTP clients share: `Response`, the limits on what is read, the JSON
nesting check, and the one-line forms of network failures (devauth.net.http and
devauth.net.http_urequests; the second loads only this, not the builtin client).
"""

import gc

from devauth.errors import NetworkError, ProtocolError, clip

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


MAX_HEADER_BYTES = const(16384)  # all header lines together
MAX_HEADERS = const(64)
MAX_BODY = const(8192)  # OAuth replies are a few hundred bytes
MAX_DEPTH = const(8)  # JSON nesting; OAuth replies nest two levels (mtls_endpoint_aliases)


class Response:
    """A reply. Its body may be a view into the client's reply buffer: use it (`json()`) before
    the next request on the same client, as every caller here does."""

    __slots__ = ("status", "headers", "_body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # {lower-case name (str): value (str)} for the _KEEP headers
        self._body = body  # bytes, or a memoryview into the reply buffer

    @property
    def body(self):
        """The body as bytes (a copy)."""
        return bytes(self._body)

    def json(self, what):
        """The body as a JSON object; ProtocolError naming `what` otherwise."""
        import json

        if too_deep(self._body, MAX_DEPTH):
            # Checked before parsing: deep nesting within 8 KB is a MemoryError on MicroPython
            # and a RecursionError on CPython inside json.loads.
            raise ProtocolError(
                "%s: reply nests JSON over %d levels (HTTP %d)" % (what, MAX_DEPTH, self.status)
            )
        if len(self._body) > 1024:
            # A large reply (a JWT access token) becomes one long string: free the garbage
            # first, so that a contiguous block for it can be found.
            gc.collect()
        try:
            try:
                # MicroPython parses straight from the buffer: no copy of a large reply.
                obj = json.loads(self._body)
            except TypeError:  # CPython's json takes str/bytes only
                obj = json.loads(bytes(self._body))
        except (ValueError, UnicodeError):
            raise ProtocolError(
                "%s: reply is not valid JSON (HTTP %d)" % (what, self.status)
            ) from None
        if not isinstance(obj, dict):
            raise ProtocolError("%s: reply is not a JSON object (HTTP %d)" % (what, self.status))
        return obj


def too_deep(data, limit):
    """Whether the JSON text `data` (bytes-like) nests arrays/objects over `limit` levels."""
    depth = 0
    in_str = esc = False
    for c in data:
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:  # backslash
                esc = True
            elif c == 0x22:  # '"'
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c == 0x7B or c == 0x5B:  # '{' '['
            depth += 1
            if depth > limit:
                return True
        elif c == 0x7D or c == 0x5D:
            depth -= 1
    return False


def deadline_error(ms):
    """The error of a request that ran past its deadline (`ms`): a timeout, retried later."""
    err = NetworkError("no complete reply within %d s: request abandoned" % max(1, ms // 1000))
    err.timed_out = True
    return err


def is_timeout(e):
    # CPython's ssl raises TimeoutError("The read operation timed out") on a read timeout
    return (e.args and e.args[0] in (110, 116, 11, "timed out")) or type(e).__name__ in (
        "timeout",
        "TimeoutError",
    )


# The peer reset (104) or aborted (103) the connection, the pipe broke (32), or it closed in the
# middle of the handshake (MBEDTLS_ERR_SSL_CONN_EOF, -0x7280): a network failure, not a verdict.
def oserr(e):
    if is_timeout(e):
        return "timed out"
    code = e.args[0] if e.args else None
    names = {103: "aborted", 104: "reset", 111: "refused", 113: "no route", 32: "closed"}
    if isinstance(code, int):
        if code < 0:
            return "mbedTLS -0x%04X" % -code
        return names.get(code, "errno %d" % code)
    return oneline(e)


def oneline(e):
    return clip(str(e).strip().replace("\n", " "), 120)


def ascii_text(b):
    """Bytes from the network as printable ASCII (anything else becomes '?'). Done in one
    bytearray: a join over a generator would build a list of one-character strings first."""
    out = bytearray(b)
    for i in range(len(out)):
        if not 32 <= out[i] < 127:
            out[i] = 63  # "?"
    return out.decode()
