"""The HTTPS/1.1 client of devauth.net.http on asyncio: `await client.post_form(...)`.

The same client (a subclass: same constructor, limits, counters, trust, keep-alive), on a
non-blocking socket and a non-blocking TLS stream: it drives the blocking client's own I/O steps
(generators), so parsing, bounds, deadlines and every error message are that client's. A step
yields `(WAIT_READ|WAIT_WRITE, io, ms)` where it would block; this driver awaits `io` being ready
for at most `ms` and throws OSError(110) into the step when it is not (the blocking client's
socket timeout). The TLS handshake runs inside the first write's waits, as MicroPython's
`asyncio.open_connection` does it.

Waiting: on MicroPython through the asyncio poller (`asyncio.core._io_queue`, as its own streams
wait: there is no public way to wait for readiness without reading), bounded by
`asyncio.wait_for_ms`; on CPython `loop.add_reader`/`add_writer` with a timer.

What still blocks the loop: name resolution (`socket.getaddrinfo`, as in asyncio on
MicroPython), and the CPU time of a TLS handshake's steps. Cancelling the task at any await
closes the connection. A streamed reply (`stream=True`): AsyncBody reads its body with
devauth.net.stream's own steps, on the same loop.
"""

import asyncio

from devauth.net.http import FORM, WAIT_READ, HTTPClient

try:  # MicroPython: the poller its asyncio streams wait on
    from asyncio.core import _io_queue  # pyright: ignore[reportMissingImports]
except ImportError:  # CPython
    _io_queue = None


def _wait(kind, io):
    # A MicroPython coroutine is a generator: park the task on the poller until `io` is ready
    # (used on MicroPython only, where the poller is there).
    q = _io_queue
    assert q is not None
    yield q.queue_read(io) if kind == WAIT_READ else q.queue_write(io)


async def _ready_micropython(kind, io, ms):
    """Whether `io` became ready for `kind` within `ms`."""
    try:
        await asyncio.wait_for_ms(_wait(kind, io), ms)
    except asyncio.TimeoutError:
        return False
    return True


async def _ready_cpython(kind, io, ms):
    """Whether `io` became ready for `kind` within `ms`. A TLS stream mid-handshake may need the
    other direction (its `poll_mask`, as mbedTLS's socket tells MicroPython's poll itself)."""
    from select import POLLIN, POLLOUT

    mask = getattr(io, "poll_mask", 0) or (POLLIN if kind == WAIT_READ else POLLOUT)
    loop = asyncio.get_event_loop()  # (the running one)
    done = loop.create_future()  # pyright: ignore[reportAttributeAccessIssue] (CPython's loop)

    def wake(ready):
        if not done.done():
            done.set_result(ready)

    fd = io.fileno()
    watch = loop.add_reader if mask == POLLIN else loop.add_writer  # pyright: ignore
    unwatch = loop.remove_reader if mask == POLLIN else loop.remove_writer  # pyright: ignore
    watch(fd, wake, True)
    timer = loop.call_later(ms / 1000, wake, False)  # pyright: ignore[reportAttributeAccessIssue]
    try:
        return await done
    finally:
        timer.cancel()
        unwatch(fd)


_ready = _ready_cpython if _io_queue is None else _ready_micropython


class AsyncHTTPClient(HTTPClient):
    """devauth.net.http.HTTPClient whose requests are coroutines; one connection at a time."""

    _blocking = False

    _ready = staticmethod(_ready)  # (a test's subclass watches the waits through it)

    async def post_form(self, url, body, headers=()):
        """POST an urlencoded `body` (bytes) with extra `headers` [(name, value)]; -> Response."""
        return await self.request("POST", url, body, headers)

    async def get(self, url):
        """GET `url`; -> Response."""
        return await self.request("GET", url, None, ())

    async def request(
        self, method, url, body, headers, ctype=FORM, trust=None, resend=True, stream=False
    ):
        """As the blocking client's; with `stream`, the reply's status and headers, its body
        left on the connection (for AsyncBody)."""
        return await self._drive(
            self._request(method, url, body, headers, ctype, trust, resend, stream)
        )

    async def _read_body(self, headers):
        """The body after `headers`, read whole -> as the blocking client's `_read_body`."""
        return await self._drive(self._body(headers))

    async def _drive(self, step):
        """Run the I/O step `step` (a generator) to its end on the loop -> its value: each wait
        it yields is awaited; a wait that times out throws OSError(110) into it. Cancelled at
        an await: the step is closed, and the connection with it."""
        err = None
        while True:
            try:
                if err is None:
                    kind, io, ms = next(step)
                else:
                    kind, io, ms = step.throw(err)
            except StopIteration as e:
                return e.value
            try:
                ready = await self._ready(kind, io, int(ms))
            except BaseException:  # cancelled while waiting: the connection goes with it
                step.close()
                self.close()
                raise
            err = None if ready else OSError(110)  # what a blocking socket's timeout raises


class AsyncBody:
    """A streamed reply's body (devauth.net.stream.Body, None: no body) read on the loop: its
    own steps, driven as every request's are."""

    def __init__(self, client, body):
        self._client = client
        self._body = body

    async def readinto(self, buf):
        """The next part of the body into `buf` -> bytes read; 0 once the body is over."""
        if self._body is None:
            return 0
        return await self._client._drive(self._body.read(buf))

    async def save(self, path, buf):
        """The rest of the body into the file `path` (written to `path`.tmp, then renamed)."""
        if self._body is None:
            return 0
        return await self._client._drive(self._body.save_steps(path, buf))

    async def close(self):
        """Stop reading: a body not read to its end takes its connection with it."""
        if self._body is not None:
            self._body.close()
