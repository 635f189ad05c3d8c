"""The HTTP/1.1 client in devauth.net.http: framing, keep-alive, bounds (dual test, scripted)."""

from devauth.errors import NetworkError, ProtocolError, TLSError
from devauth.net.http import MAX_BODY, HTTPClient
from devauth.net.url import decimal, split_url
from fakes import FakeClock, ScriptedHTTP, Stream, reply
from mptest import raises

URL = "https://as.example.com/as/token.oauth2"


def _client(*streams, **kw):
    return ScriptedHTTP(streams, **kw)


def test_request_is_a_well_formed_form_post():
    s = Stream(reply(200, {"ok": 1}))
    c = _client(s)
    r = c.post_form(URL, b"a=b", [("Authorization", "Basic eA==")])
    assert r.status == 200 and r.json("x") == {"ok": 1}
    head, _, body = bytes(s.written).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /as/token.oauth2 HTTP/1.1"
    assert b"Host: as.example.com" in lines
    assert b"Content-Type: application/x-www-form-urlencoded" in lines
    assert b"Content-Length: 3" in lines
    assert b"Authorization: Basic eA==" in lines
    assert body == b"a=b"


def test_host_header_carries_a_non_default_port():
    s = Stream(reply())
    _client(s).post_form("https://localhost:9031/as/token.oauth2", b"")
    assert b"Host: localhost:9031\r\n" in bytes(s.written)


def test_keep_alive_reuses_one_connection_for_every_request():
    s = Stream(reply(200, {"n": 1}) + reply(400, {"n": 2}) + reply(200, {"n": 3}))
    c = _client(s)
    assert [c.post_form(URL, b"").json("x")["n"] for _ in range(3)] == [1, 2, 3]
    assert c.connections == 1 and c.requests == 3


def test_server_closing_an_idle_connection_is_reconnected_transparently():
    c = _client(Stream(reply(200, {"n": 1})), Stream(reply(200, {"n": 2})))
    assert c.post_form(URL, b"").json("x")["n"] == 1
    assert c.post_form(URL, b"").json("x")["n"] == 2  # first stream hit EOF: reconnect
    assert c.connections == 2


def test_reset_on_a_reused_connection_reconnects_too():
    c = _client(Stream(reply(200, {"n": 1}), error=OSError(104)), Stream(reply(200, {"n": 2})))
    c.post_form(URL, b"")
    assert c.post_form(URL, b"").json("x")["n"] == 2


def test_connection_close_is_honoured():
    c = _client(Stream(reply(200, headers=["Connection: close"])), Stream(reply(200)))
    c.post_form(URL, b"")
    assert c.opened[0].closed
    c.post_form(URL, b"")
    assert c.connections == 2


def test_a_fresh_connection_closed_without_reply_is_a_network_error():
    c = _client(Stream(b""))
    e = raises(NetworkError, c.post_form, URL, b"")
    assert "without replying" in str(e)


def test_chunked_bodies_are_reassembled():
    body = b'{"access_token": "abc", "token_type": "Bearer"}'
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\nX-T: 1\r\n\r\n"
    )
    s = Stream(raw + reply(200, {"n": 2}))
    c = _client(s)
    assert c.post_form(URL, b"").body == body
    assert c.post_form(URL, b"").json("x") == {"n": 2}  # framing left the stream in step


def test_body_without_framing_runs_to_eof_and_is_not_reused():
    c = _client(Stream(b"HTTP/1.0 200 OK\r\n\r\n{}"), Stream(reply()))
    assert c.post_form(URL, b"").body == b"{}"
    assert c.opened[0].closed


def test_truncated_body_is_a_network_error():
    c = _client(Stream(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"access'))
    assert "closed mid-reply" in str(raises(NetworkError, c.post_form, URL, b""))
    assert c._io is None


def test_ten_megabyte_body_is_refused_without_reading_it():
    s = Stream(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n", endless=b"x" * 4096)
    e = raises(ProtocolError, _client(s).post_form, URL, b"")
    assert "over the %d-byte limit" % MAX_BODY in str(e)
    assert s.consumed < 200


def test_endless_chunked_body_stops_at_the_limit():
    s = Stream(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        endless=b"400\r\n" + b"x" * 1024 + b"\r\n",
    )
    raises(ProtocolError, _client(s).post_form, URL, b"")
    assert s.consumed < MAX_BODY + 4096


def test_endless_unframed_body_stops_at_the_limit():
    s = Stream(b"HTTP/1.0 200 OK\r\n\r\n", endless=b"y" * 1000)
    raises(ProtocolError, _client(s).post_form, URL, b"")
    assert s.consumed < MAX_BODY + 2048


def test_huge_header_line_is_refused_in_bounded_memory():
    s = Stream(b"HTTP/1.1 200 OK\r\nX-Big: ", endless=b"a" * 4096)
    raises(ProtocolError, _client(s).post_form, URL, b"")
    assert s.consumed < 20000


def test_thousands_of_headers_are_refused():
    s = Stream(b"HTTP/1.1 200 OK\r\n", endless=b"X-A: 1\r\n")
    e = raises(ProtocolError, _client(s).post_form, URL, b"")
    assert "header" in str(e)
    assert s.consumed < 1000


def test_long_unneeded_headers_are_skipped_not_kept():
    cookie = "Set-Cookie: PF=" + "c" * 3000
    r = _client(Stream(reply(200, {"a": 1}, [cookie, "Retry-After: 7"]))).post_form(URL, b"")
    assert r.json("x") == {"a": 1}
    assert r.headers == {"retry-after": "7", "content-length": "8"}


def test_non_http_and_non_utf8_replies_are_protocol_errors():
    e = raises(ProtocolError, _client(Stream(b"\xff\xfe garbage\r\n\r\n")).post_form, URL, b"")
    assert "not HTTP" in str(e)
    r = _client(Stream(reply(200, b"\xff\xfe{}"))).post_form(URL, b"")
    raises(ProtocolError, r.json, "token endpoint")


def test_bad_content_length_and_chunk_size_are_protocol_errors():
    raises(
        ProtocolError,
        _client(Stream(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")).post_form,
        URL,
        b"",
    )
    s = Stream(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    raises(ProtocolError, _client(s).post_form, URL, b"")


def test_interim_100_continue_is_skipped():
    r = _client(Stream(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(200, {"a": 2}))).post_form(URL, b"")
    assert r.json("x") == {"a": 2}


def test_redirects_are_returned_not_followed():
    r = _client(Stream(reply(302, b"", ["Location: https://evil.example/"]))).post_form(URL, b"")
    assert r.status == 302


def test_timeout_mid_reply_is_a_network_error_and_not_retried():
    c = _client(Stream(reply(200)), Stream(b"HTTP/1.1 200 OK\r\n", error=OSError(110)))
    c.post_form(URL, b"")
    c.scripted = [Stream(b"", error=OSError(110))]
    e = raises(NetworkError, c.post_form, URL, b"")
    assert e.timed_out


def test_plain_http_is_refused_unless_allowed():
    e = raises(ProtocolError, HTTPClient().post_form, "http://as.example.com/x", b"")
    assert "allow_insecure_http" in str(e)
    r = _client(Stream(reply(200)), allow_http=True).post_form("http://as.example.com/x", b"")
    assert r.status == 200


# -- the whole request has a deadline ------------------------------------------------------------


class Drip(Stream):
    """A server that sends one byte per `ms` of the fake clock; records socket timeouts."""

    def __init__(self, data, clock, ms):
        super().__init__(data)
        self.clock = clock
        self.ms = ms
        self.timeouts = []

    def readinto(self, buf):
        self.clock.sleep_ms(self.ms)
        return super().readinto(memoryview(buf)[:1])

    def settimeout(self, seconds):
        self.timeouts.append(seconds)


def test_a_server_dripping_bytes_is_cut_off_at_the_request_deadline():
    clock = FakeClock()
    s = Drip(reply(200, {"access_token": "x" * 100}), clock, 1000)  # 1 byte/s: 2 minutes
    c = _client(s, timeout=3, clock=clock)
    e = raises(NetworkError, c.post_form, URL, b"")
    assert str(e) == "no complete reply within 3 s: request abandoned"
    assert e.timed_out and clock.now == 3000  # not one byte read after the deadline
    assert s.closed


def test_the_deadline_can_be_shorter_than_the_timeout_and_cuts_socket_waits():
    clock = FakeClock()
    s = Drip(reply(200, {"a": "b" * 40}), clock, 100)
    c = _client(s, timeout=15, deadline=6.3, clock=clock)  # a board: 3/4 of an 8.4 s watchdog
    e = raises(NetworkError, c.post_form, URL, b"")
    assert "within 6 s" in str(e) and clock.now == 6300
    assert s.timeouts[0] == 6.3  # no socket wait may outlast what is left of the request
    assert s.timeouts == sorted(s.timeouts, reverse=True) and s.timeouts[-1] < 0.5
    assert len(s.timeouts) < 40  # cut in steps, not once per byte


def test_each_request_gets_its_own_deadline():
    clock = FakeClock()
    s = Drip(reply(200, {"n": 1}) + reply(200, {"n": 2}), clock, 15)
    c = _client(s, timeout=1, clock=clock)  # each reply takes ~0.7 s; two take over 1 s
    assert c.post_form(URL, b"").json("x") == {"n": 1}
    assert c.post_form(URL, b"").json("x") == {"n": 2}
    assert clock.now > 1000 and c.connections == 1
    # the socket wait, cut near the end of the first request, is whole again for the second
    assert s.timeouts.count(1.0) == 2 and min(s.timeouts) < 0.5


# -- JSON nesting, URLs, numbers ------------------------------------------------------------------


def test_deeply_nested_json_is_a_protocol_error_not_a_crash():
    deep = b"[" * 4000 + b"]" * 4000  # within the 8 KB body limit
    r = _client(Stream(reply(200, deep))).post_form(URL, b"")
    e = raises(ProtocolError, r.json, "token endpoint")
    assert str(e) == "token endpoint: reply nests JSON over 8 levels (HTTP 200)"
    nested = b'{"a": {"b": [{"c": [[[[1]]]]}]}}'  # 8 levels: fine
    assert _client(Stream(reply(200, nested))).post_form(URL, b"").json("x")["a"]["b"][0]
    brackets = b'{"scope": "[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{ \\" [[[[[[[["}'  # in a string
    assert _client(Stream(reply(200, brackets))).post_form(URL, b"").json("x")["scope"]
    after = b'{"s": "\\"]", "d": ' + b"[" * 9 + b"1" + b"]" * 9 + b"}"  # deep after a string
    r = _client(Stream(reply(200, after))).post_form(URL, b"")
    assert "over 8 levels" in str(raises(ProtocolError, r.json, "x"))


def test_split_url_refuses_what_would_bend_a_request_line_or_host_header():
    for url, message in (
        ("https://as.example.com/a b", "must not contain spaces"),
        ("https://as.example.com/a\r\nX-Evil: 1", "must not contain spaces, control"),
        ("https://as.example.com/\x00", "control"),
        ("https://as.example.com/\u00e4", "non-ASCII"),
        ("https://u@as.example.com/", "must not contain credentials"),
        ("https://u:p@as.example.com/", "must not contain credentials"),
        ("https://", "has no host"),
        ("https:///path", "has no host"),
        ("https://:443/", "has no host"),
        ("https://as.example.com:/", "has a bad port"),
        ("https://as.example.com:\u00b2/", "non-ASCII"),
        ("https://as.exa%0dmple.com/", "has a bad host"),
        ("https://as.example.com\\@evil/", "must not contain credentials"),
        ("https://[::1/", "has a bad IPv6 host"),
    ):
        e = raises(ValueError, split_url, url)
        assert message in str(e), (url, str(e))
    assert split_url("https://as.example.com?x=1") == ("https", "as.example.com", 443, "/?x=1")
    assert split_url("https://[::1]:9031/t") == ("https", "::1", 9031, "/t")
    assert split_url("http://10.0.0.7:8080") == ("http", "10.0.0.7", 8080, "/")


def test_decimal_takes_ascii_digits_only():
    assert decimal("120", 6) == 120 and decimal("0", 1) == 0
    for text in ("\u00b2", "\u0663", "1\u00b2", "", "-1", "+1", " 1", "1234567", "1e3"):
        assert decimal(text, 6) is None, text


def test_a_ca_certificate_that_does_not_load_has_its_own_short_form():
    # the TLS context is made by the constructor, at start-up
    e = raises(TLSError, HTTPClient, [b"\x30\x03not a certificate:+\xc3\xa9"])
    assert str(e) == "ca_certificates: a certificate could not be loaded"
    assert e.short == "Bad CA certificate"  # not "TLS cert not trusted": nothing was verified


class _Writes(Stream):
    """A stream that keeps each write separately."""

    def __init__(self, data):
        super().__init__(data)
        self.writes = []

    def write(self, data):
        self.writes.append(bytes(data))
        return super().write(data)


def test_each_request_goes_out_in_one_write_from_the_reply_buffer_or_a_copy():
    # Built in the reply buffer (no new block on a fragmented heap) while it fits, a copy when
    # it does not; either way one write, and a reply read in between does not garble the next.
    s = _Writes(reply(200, {"n": 1}) + reply(200, {"n": 2}) + reply(200, {"n": 3}))
    c = _client(s, max_body=300)
    bodies = [b"a=1&b=%C3%A9", b"x=" + b"y" * 400, b"c=3"]
    for i, body in enumerate(bodies):
        assert c.post_form(URL, body).json("x")["n"] == i + 1
        assert s.writes[i].endswith(b"\r\n\r\n" + body)
        assert b"Content-Length: %d\r\n" % len(body) in s.writes[i]
    assert len(s.writes) == 3 and c.connections == 1
    assert len(c._buf) == 300  # the big request was a copy: the buffer did not grow
