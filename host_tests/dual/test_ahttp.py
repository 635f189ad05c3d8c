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
from mptest import raises, scratch

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


def test_a_refused_connection_gives_a_one_line_error():
    async def main():
        srv, port = await _serve(lambda r, w: None)
        srv.close()
        await srv.wait_closed()  # nothing listens there now
        url = "http://127.0.0.1:%d/x" % port
        return url, await _error(Watched().post_form(url, BODY))

    url, e = asyncio.run(main())
    want = raises(NetworkError, HTTPClient(allow_http=True).post_form, url, BODY)
    assert str(e) == str(want) and str(e).startswith("cannot connect to 127.0.0.1:")
    assert str(e).endswith(" (refused)")


# -- streamed replies (stream=True): devauth.net.stream's reads, awaited -----------------------

BIG = bytes(range(256)) * 24  # 6 KB, over the 4 KB buffer of these clients
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"


def _chunked(data, size):
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\nX-Trailer: \xc3\xa9\r\n\r\n"


def _parts(raw, n=4):
    step = len(raw) // n + 1
    return [raw[i : i + step] for i in range(0, len(raw), step)]


async def _stream(c, url):
    """A streamed GET -> (status, AsyncBody)."""
    from devauth.net.ahttp import AsyncBody
    from devauth.net.stream import Body

    r = await c.request("GET", url, None, (), stream=True)
    assert r._body is None and c._busy  # the body is left on the connection
    return r.status, AsyncBody(c, Body(c, r.status, r.headers))


class Ticker:
    """A concurrent task that ticks every millisecond; `ticked` set at each tick."""

    def __init__(self):
        self.ticks = 0
        self.ticked = asyncio.Event()

    async def run(self):
        while True:
            self.ticks += 1
            self.ticked.set()
            await asyncio.sleep(0.001)


async def _send_in_parts(c, ticker, writer, parts):
    """Write `parts` one by one, each once the client awaits more and the ticker ran meanwhile."""
    for i, part in enumerate(parts):
        if i:
            await c.waiting.wait()
            ticker.ticked.clear()
            await ticker.ticked.wait()  # the other task runs while the body is awaited
        c.waiting.clear()
        writer.write(part)
        await writer.drain()


def test_streamed_bodies_are_read_in_parts_across_awaits_while_another_task_runs():
    length = HEAD + b"Content-Length: %d\r\n\r\n" % len(BIG) + BIG
    chunked = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(BIG, 3000)
    to_eof = b"HTTP/1.0 200 OK\r\n\r\n" + BIG

    async def script(srv, reader, writer):
        for raw in (length, chunked, reply(200, {"n": 3}), to_eof):
            if not await srv.request(reader):
                return
            await _send_in_parts(c, ticker, writer, _parts(raw))
            if raw is to_eof:
                writer.close()  # the end of an unframed body is the end of the connection
                await writer.wait_closed()
                return "closed"

    async def read_all(body, size=700):
        buf, out, n = bytearray(size), bytearray(), 1
        while n:
            n = await body.readinto(buf)
            assert n <= size
            out.extend(buf[:n])
        return bytes(out)

    async def main():
        async with Server(script) as srv:
            t = asyncio.create_task(ticker.run())
            got = []
            for _ in range(2):  # Content-Length, then chunked, on one connection
                status, body = await _stream(c, srv.url())
                got.append((status, await read_all(body)))
            got.append((await c.get(srv.url())).json("x"))  # the framing kept it in step
            status, body = await _stream(c, srv.url())
            got.append((status, await read_all(body, 1000)))
            t.cancel()
            await srv.done.wait()
        return got

    c, ticker = Watched(max_body=4096), Ticker()
    got = asyncio.run(main())
    assert got == [(200, BIG), (200, BIG), {"n": 3}, (200, BIG)]
    assert c.connections == 1 and c.requests == 4 and c._io is None  # EOF ended it
    assert ticker.ticks >= 9 and c.waits.count(WAIT_READ) >= 12


def test_a_streamed_body_saves_through_a_tmp_file_and_a_cancelled_save_leaves_none():
    import os

    pid = os.getpid() if hasattr(os, "getpid") else 0
    path = scratch("devauth-test-ahttp") + "-%d.bin" % pid
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % len(BIG) + BIG
    seen = []

    async def script(srv, reader, writer):
        while await srv.request(reader):  # two streamed GETs on one kept connection
            parts = _parts(raw)
            await _send_in_parts(c, ticker, writer, parts[:2])
            await c.waiting.wait()  # mid-body, the client waits: what is on disk now
            seen.append((_exists(path + ".tmp"), _exists(path)))
            if len(srv.requests) == 2:
                mid.set()
                return  # the second save is cancelled here
            await _send_in_parts(c, ticker, writer, parts[2:])  # (the client waits already)

    async def main():
        async with Server(script) as srv:
            t = asyncio.create_task(ticker.run())
            _, body = await _stream(c, srv.url())
            n = await body.save(path, bytearray(512))
            _, body = await _stream(c, srv.url())
            task = asyncio.create_task(body.save(path + "2", bytearray(512)))
            await mid.wait()
            task.cancel()
            cancelled = False
            try:
                await task
            except asyncio.CancelledError:
                cancelled = True
            io = c._io
            await srv.done.wait()
            t.cancel()
        return n, cancelled, io, srv

    mid = asyncio.Event()
    c, ticker = Watched(), Ticker()
    n, cancelled, io, srv = asyncio.run(main())
    try:
        assert n == len(BIG) and seen[0] == (True, False)  # written to path.tmp, then renamed
        with open(path, "rb") as f:
            assert f.read() == BIG
        assert not _exists(path + ".tmp")
        # the cancelled save took the connection with it
        assert cancelled and io is None and srv.saw_close == [True] and c.connections == 1
        assert not _exists(path + "2") and not _exists(path + "2.tmp")  # no half-written file
    finally:
        for p in (path, path + ".tmp", path + "2.tmp"):
            if _exists(p):
                os.remove(p)


def _exists(path):
    import os

    try:
        os.stat(path)
    except OSError:
        return False
    return True


def test_closing_or_cutting_off_a_streamed_body_gives_the_blocking_clients_behaviour():
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % len(BIG) + BIG

    async def script(srv, reader, writer):
        try:
            while await srv.request(reader):
                writer.write(raw if len(srv.requests) != 3 else reply(200, {"n": 3}))
                await writer.drain()
        except OSError:  # reset: the client closed with the body unread
            pass

    async def main():
        async with Server(script) as srv:
            buf = bytearray(100)
            _, body = await _stream(c, srv.url())
            first = await body.readinto(buf)
            await body.close()  # mid-body: the connection goes with it
            closed = (c._io is None, await body.readinto(buf))
            assert closed == (True, 0)  # (before waiting for the server to see it)
            await srv.done.wait()
            srv.done = asyncio.Event()
            _, body = await _stream(c, srv.url())
            await body.readinto(buf)
            r = await c.get(srv.url())  # a later request cuts the streamed body off
            e = await _error(body.readinto(buf))
            c.close()
            await srv.done.wait()
        return first, closed, r, e, srv

    c = Watched()
    first, closed, r, e, srv = asyncio.run(main())
    assert first == 100 and closed == (True, 0) and srv.saw_close[0] is True
    assert r.json("x") == {"n": 3} and c.connections == 3
    want = _blocking_cut_off(raw)
    assert isinstance(e, ProtocolError) and str(e) == str(want)
    assert str(e) == "the streamed reply was cut off by a later request"


def _blocking_cut_off(raw):
    from devauth.net.stream import Body

    c = ScriptedHTTP([Stream(raw), Stream(reply(200))], allow_http=True)
    r = c.request("GET", "http://127.0.0.1/x", None, (), stream=True)
    body = Body(c, r.status, r.headers)
    body.readinto(bytearray(10))
    c.get("http://127.0.0.1/x")
    return raises(ProtocolError, body.readinto, bytearray(10))


def test_a_403_asked_for_as_a_stream_is_still_read_whole_on_the_asyncio_api():
    from devauth.aio import drive
    from devauth.oauth import api
    from devauth.oauth.session import Session
    from fakes import Config, FakeClock, Recorder

    scope = 'WWW-Authenticate: Bearer error="insufficient_scope", scope="readings:write a+b"'
    replies = [
        reply(403, {"why": "scope"}, [scope]),
        reply(403, {"why": "z\xfcrich"}),
        HEAD + b"Content-Length: %d\r\n\r\n" % len(BIG) + BIG,
    ]

    async def script(srv, reader, writer):
        for raw in replies:  # on one connection: each 403's body was read, the next in step
            await srv.request(reader)
            writer.write(raw)
            await writer.drain()

    async def ensure(refused):
        return {"access_token": "AT-1"}

    async def main():
        async with Server(script) as srv:
            s = Session(Config(), c, FakeClock(0, 1800000000), Recorder())
            e = await _error(drive(api.request_steps(s, "GET", srv.url(), stream=True), c, ensure))
            r = await drive(api.request_steps(s, "GET", srv.url(), stream=True), c, ensure)
            got = [r.status, r.json(), await r.readinto(bytearray(10))]
            r = await drive(api.request_steps(s, "GET", srv.url(), stream=True), c, ensure)
            assert r.content is None
            got.append(await r.save(path, bytearray(100)))
            with open(path, "rb") as f:
                got.append(f.read() == BIG)
            os.remove(path)
            c.close()
            await srv.done.wait()
        return e, got

    import os

    path = scratch("devauth-test-ahttp-403")
    c = Watched()
    e, got = asyncio.run(main())
    assert isinstance(e, api.InsufficientScope) and e.scope == "readings:write a+b"
    assert got == [403, {"why": "z\xfcrich"}, 0, len(BIG), True] and c.connections == 1
