"""The asyncio HTTP client (devauth.net.ahttp) against a server in the same event loop, over
loopback (dual test): the blocking client's requests, framing, bounds and errors, while the loop
keeps running; timeouts and cancellation. Ordered by events, never by sleeping."""

import asyncio
import sys
import time

from devauth.errors import NetworkError, ProtocolError
from devauth.net.ahttp import AsyncHTTPClient
from devauth.net.http import WAIT_READ, HTTPClient
from fakes import ScriptedHTTP, Stream, reply
from mptest import raises

MICROPYTHON = sys.implementation.name == "micropython"
BODY = b"client_id=dev%3Aice%2B1&scope=openid%20%C3%A9t%C3%A9"  # ':' '+' and non-ASCII


class Watched(AsyncHTTPClient):
    """The asyncio client with every wait it makes recorded, and `waiting` set at each."""

    def __init__(self, **kw):
        super().__init__(allow_http=True, **kw)
        self.waits = []
        self.waiting = asyncio.Event()

    async def _ready(self, kind, io, ms):
        self.waits.append(kind)
        self.waiting.set()
        return await AsyncHTTPClient._ready(kind, io, ms)


async def _serve(handler):
    """Listen on 127.0.0.1 -> (server, port): any free port on CPython; on MicroPython, whose
    asyncio server cannot tell the port it got, the first free one of a pinned range."""
    for port in range(47310, 47410) if MICROPYTHON else (0,):
        try:
            srv = await asyncio.start_server(handler, "127.0.0.1", port)
        except OSError:
            continue
        return srv, port or srv.sockets[0].getsockname()[1]
    raise AssertionError("no free port in 47310-47409")


async def _read_request(reader):
    """One request as the server received it (head and body); b"" once the client closed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = await reader.readline()
        if not line:
            return head
        head += line
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line[15:])
    return head + (await reader.readexactly(n) if n else b"")


async def _closed(reader):
    """Whether the client closed the connection (EOF) without sending anything more."""
    try:
        return await reader.read(1) == b""
    except OSError:  # reset: closed too
        return True


class Server:
    """A loopback server running `script(server, reader, writer)` for each connection; what it
    received, whether the client then closed (None: the script closed), and `done` once the
    script is over."""

    def __init__(self, script):
        self.script = script
        self.requests = []
        self.saw_close = []
        self.done = asyncio.Event()
        self.asked = asyncio.Event()

    async def __aenter__(self):
        self.srv, self.port = await _serve(self._handle)
        return self

    async def __aexit__(self, *exc):
        self.srv.close()
        await self.srv.wait_closed()

    def url(self, path="/as/token.oauth2"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    async def request(self, reader):
        r = await _read_request(reader)
        self.requests.append(r)
        self.asked.set()
        return r

    async def _handle(self, reader, writer):
        try:
            if await self.script(self, reader, writer) == "closed":  # by the script itself
                self.saw_close.append(None)
            else:
                self.saw_close.append(await _closed(reader))
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:  # the client reset it (it closed with the reply unread)
                pass
            self.done.set()


def _blocking_error(stream, **kw):
    """The error the blocking client raises on a (scripted) connection."""
    c = ScriptedHTTP([stream], allow_http=True, **kw)
    return raises(Exception, c.post_form, "http://127.0.0.1/as/token.oauth2", BODY)


def test_a_post_is_the_blocking_clients_request_and_the_connection_is_kept():
    async def script(srv, reader, writer):
        for n in (1, 2):
            await srv.request(reader)
            writer.write(reply(200, {"n": n}))
            await writer.drain()

    async def main():
        async with Server(script) as srv:
            c = Watched()
            got = []
            for _ in range(2):  # (no await in a comprehension on MicroPython)
                got.append((await c.post_form(srv.url(), BODY)).json("x")["n"])
            c.close()
            await srv.done.wait()
        return got, c, srv

    got, c, srv = asyncio.run(main())
    assert got == [1, 2] and c.connections == 1 and c.requests == 2
    assert srv.saw_close == [True]  # close() closed the kept connection
    s = Stream(reply(200))
    ScriptedHTTP([s], allow_http=True).post_form(srv.url(), BODY)
    assert srv.requests[0] == srv.requests[1] == bytes(s.written)  # the same bytes, in one write
    assert WAIT_READ in c.waits  # it waited for the reply on the loop instead of blocking


def test_chunked_and_content_length_bodies_are_read_across_waits():
    body = b'{"access_token": "a:b+c", "scope": "\xc3\xa9t\xc3\xa9", "token_type": "Bearer"}'
    chunked = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (9, body[:9]),
        b"%x\r\n%s\r\n" % (len(body) - 9, body[9:]),
        b"0\r\nX-Trailer: 1\r\n\r\n",
    ]
    framed = reply(200, body)
    length = [framed[:30], framed[30:-5], framed[-5:]]

    async def script(srv, reader, writer):
        for parts in (chunked, length):
            await srv.request(reader)
            for i, part in enumerate(parts):
                if i:  # the client has read everything sent so far and waits for more
                    await c.waiting.wait()
                c.waiting.clear()
                writer.write(part)
                await writer.drain()

    async def main():
        async with Server(script) as srv:
            got = []
            for _ in range(2):
                got.append((await c.post_form(srv.url(), BODY)).body)
            c.close()
            await srv.done.wait()
        return got

    c = Watched()
    got = asyncio.run(main())
    assert got == [body, body] and c.connections == 1
    assert c.waits.count(WAIT_READ) >= 6  # each reply's first part, then the next two


def _bad_reply(raw):
    """The asyncio client's error on a server that sends `raw` -> (client, error, server)."""

    async def script(srv, reader, writer):
        await srv.request(reader)
        writer.write(raw)
        await writer.drain()
        if raw.endswith(b"access"):
            writer.close()  # the connection ends mid-body
            await writer.wait_closed()
            return "closed"

    async def main():
        async with Server(script) as srv:
            c = Watched(max_body=4096)
            e = await _error(c.post_form(srv.url(), BODY))
            await srv.done.wait()
        return c, e, srv

    return asyncio.run(main())


def test_bounds_and_bad_replies_give_the_blocking_clients_errors():
    for raw in (
        b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n" + b"x" * 100,
        b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 100,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" + b"y" * 100,
        b"\xff\xfe garbage\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"access',
    ):
        c, e, srv = _bad_reply(raw)
        want = _blocking_error(Stream(raw), max_body=4096)
        assert type(e) is type(want) and str(e) == str(want), (raw[:40], str(e), str(want))
        assert isinstance(e, (ProtocolError, NetworkError))
        assert c._io is None  # the client dropped the connection, the server saw it:
        assert srv.saw_close == [None if raw.endswith(b"access") else True]


async def _error(coro):
    try:
        await coro
    except Exception as e:
        return e
    raise AssertionError("no error")


def test_a_peer_that_never_answers_times_out_with_the_blocking_message():
    async def script(srv, reader, writer):
        await srv.request(reader)  # and never a reply

    async def main():
        async with Server(script) as srv:
            c = Watched(timeout=0.5, deadline=60)
            e = await _error(c.post_form(srv.url(), BODY))
            await srv.done.wait()
        return c, e, srv

    c, e, srv = asyncio.run(main())
    want = _blocking_error(Stream(error=OSError(110)))  # its socket's timeout expired
    assert isinstance(e, NetworkError) and e.timed_out
    assert str(e) == str(want) == "server did not answer in time"
    assert c._io is None and srv.saw_close == [True]


def test_a_deadline_cuts_a_request_whose_reply_never_ends():
    async def script(srv, reader, writer):
        await srv.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12")
        await writer.drain()  # and never the rest

    async def main():
        async with Server(script) as srv:
            c = Watched(timeout=5, deadline=1)
            start = time.time()
            e = await _error(c.post_form(srv.url(), BODY))
            took = time.time() - start
            await srv.done.wait()
        return e, took

    e, took = asyncio.run(main())
    # the last wait is cut to what is left of the 1 s deadline, not the 5 s timeout (or, on a
    # machine so busy that the deadline passed before that wait began, it is abandoned then)
    assert isinstance(e, NetworkError) and e.timed_out, e
    assert str(e) in (
        "server did not answer in time",
        "no complete reply within 1 s: request abandoned",
    )
    assert took < 4, took


def test_cancelling_a_request_closes_its_connection_and_the_next_one_reconnects():
    async def script(srv, reader, writer):
        r = await srv.request(reader)
        if srv.requests[1:]:  # the second connection is answered
            writer.write(reply(200, {"n": len(r)}))
            await writer.drain()

    async def main():
        async with Server(script) as srv:
            c = Watched()
            task = asyncio.create_task(c.post_form(srv.url(), BODY))
            await srv.asked.wait()  # the request is out: the client awaits the reply
            task.cancel()
            cancelled = False
            try:
                await task
            except asyncio.CancelledError:
                cancelled = True
            io = c._io
            await srv.done.wait()
            srv.done = asyncio.Event()
            r = await c.post_form(srv.url(), BODY)
            c.close()
            await srv.done.wait()
        return c, cancelled, io, r, srv

    c, cancelled, io, r, srv = asyncio.run(main())
    assert cancelled and io is None and srv.saw_close[0] is True  # the server saw it close
    assert r.status == 200 and c.connections == 2 and c.requests == 1


def test_other_tasks_keep_running_while_a_reply_is_awaited():
    async def script(srv, reader, writer):
        await srv.request(reader)
        await ticked.wait()  # reply only once the ticker ran while the client waited
        writer.write(reply(200, {"ok": True}))
        await writer.drain()

    async def ticker():
        while True:
            ticks[0] += 1
            if ticks[0] >= 5 and c.waits:
                ticked.set()
            await asyncio.sleep(0.001)

    async def main():
        async with Server(script) as srv:
            t = asyncio.create_task(ticker())
            r = await c.post_form(srv.url(), BODY)
            t.cancel()
            c.close()
            await srv.done.wait()
        return r

    ticks = [0]
    ticked = asyncio.Event()
    c = Watched()
    r = asyncio.run(main())
    assert r.json("x") == {"ok": True} and ticks[0] >= 5 and ticked.is_set()


def test_a_refused_connection_and_a_stream_give_one_line_errors():
    async def main():
        srv, port = await _serve(lambda r, w: None)
        srv.close()
        await srv.wait_closed()  # nothing listens there now
        url = "http://127.0.0.1:%d/x" % port
        e = await _error(Watched().post_form(url, BODY))
        s = await _error(Watched().request("GET", url, None, (), stream=True))
        return url, e, s

    url, e, s = asyncio.run(main())
    want = raises(NetworkError, HTTPClient(allow_http=True).post_form, url, BODY)
    assert str(e) == str(want) and str(e).startswith("cannot connect to 127.0.0.1:")
    assert str(e).endswith(" (refused)")
    assert isinstance(s, ProtocolError)
    assert str(s) == "streaming is not supported on the asyncio client"
