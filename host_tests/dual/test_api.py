"""The application's API calls (devauth.oauth.api through Session.request), on the real HTTP
client with scripted connections: Bearer header, bodies, refresh before sending and on a 401,
403 insufficient_scope, redirects, trust per host, bounds and streaming, stale connections; and
the api_ca_certificates config key. Runs on CPython and MicroPython."""

import json
import os

from devauth import config
from devauth.errors import ConfigError, NetworkError, ProtocolError
from devauth.oauth import tokens
from devauth.oauth.api import APIError, BodyTooLarge, InsufficientScope
from devauth.oauth.session import Session
from fakes import Config, FakeClock, FakeTransport, Recorder, ScriptedHTTP, Stream, reply
from mptest import raises, scratch

BASE = scratch("devauth-test-api")
WALL = 1800000000
API = "https://api.example.com/v1/readings"
CHALLENGE = 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="x"'
# Awkward data: a client id with ":" and "+", a non-ASCII scope and JSON text.
CLIENT_ID = "dev:ice+1"
TOKEN = {
    "access_token": "AT-1",
    "token_type": "Bearer",
    "refresh_token": "RT-1",
    "scope": "readings:write température",
}
_n = [0]


def _state():
    _n[0] += 1
    path = "%s-%d-%d" % (BASE, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    for name in (tokens.TOKEN, tokens.PENDING, tokens.METADATA):
        tokens.delete(path, name)
    return path


def _session(*streams, expires_in=600, **kw):
    clock = FakeClock(0, WALL)
    cfg = Config(state_dir=_state())
    cfg.client_id = CLIENT_ID
    for k in kw:
        setattr(cfg, k, kw[k])
    client = ScriptedHTTP(streams)
    ui = Recorder()
    s = Session(cfg, client, clock, ui)
    tokens.write(cfg.state_dir, tokens.TOKEN, dict(TOKEN, expires_at=WALL + expires_in))
    return s, client, ui


def _requests(stream):
    """The requests written on one scripted connection -> [(request line, headers, body)]."""
    data, out = bytes(stream.written), []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(": ")
            hdrs[k.lower()] = v
        n = int(hdrs.get("content-length", "0"))
        out.append((lines[0], hdrs, rest[:n]))
        data = rest[n:]
    return out


def _refreshed(token="AT-2", rt="RT-2"):
    return reply(200, dict(TOKEN, access_token=token, refresh_token=rt, expires_in=3600))


# -- what is sent ----------------------------------------------------------------------------


def test_post_json_carries_the_bearer_token_and_the_json_body():
    s, client, _ = _session(Stream(reply(201, {"id": 7, "place": "Zürich"})))
    r = s.request("POST", API, json={"t": 21.5, "place": "Zürich"})
    assert r.status == 201 and r.json() == {"id": 7, "place": "Zürich"}
    ((line, hdrs, body),) = _requests(client.opened[0])
    assert line == "POST /v1/readings HTTP/1.1"
    assert hdrs["authorization"] == "Bearer AT-1"
    assert hdrs["host"] == "api.example.com"
    assert hdrs["content-type"] == "application/json"
    assert json.loads(body) == {"t": 21.5, "place": "Zürich"}


def test_every_method_and_body_kind():
    s, client, _ = _session(Stream(reply(200, b"[1, 2]") * 6))
    assert s.request("get", API + "?since=1").json() == [1, 2]
    s.request("DELETE", API + "/7")
    s.request("PUT", API + "/7", data=[("t", "21 °C"), ("a+b", "c&d")])
    s.request("PATCH", API + "/7", body=b"\x00\x01raw", headers={"X-Trace": "a:b"})
    s.request("POST", API, body=b"<r/>", headers=[("Content-Type", "application/xml")])
    s.request("POST", API)
    sent = _requests(client.opened[0])
    assert [x[0].split(" ")[0] for x in sent] == ["GET", "DELETE", "PUT", "PATCH", "POST", "POST"]
    assert sent[0][0] == "GET /v1/readings?since=1 HTTP/1.1"
    assert "content-length" not in sent[0][1] and "content-length" not in sent[1][1]
    assert sent[2][1]["content-type"] == "application/x-www-form-urlencoded"
    assert sent[2][2] == b"t=21+%C2%B0C&a%2Bb=c%26d"
    assert sent[3][1]["content-type"] == "application/octet-stream"
    assert sent[3][1]["x-trace"] == "a:b" and sent[3][2] == b"\x00\x01raw"
    assert sent[4][1]["content-type"] == "application/xml"  # the caller's own wins, once
    assert bytes(client.opened[0].written).count(b"Content-Type") == 3  # the empty POST has none
    assert sent[5][1]["content-length"] == "0" and sent[5][2] == b""
    assert all(x[1]["authorization"] == "Bearer AT-1" for x in sent)


def test_a_run_of_calls_to_one_host_costs_one_connection():
    s, client, _ = _session(Stream(reply(200, {"ok": 1}) * 10))
    for _ in range(10):
        assert s.request("POST", API, json={"t": 1}).json() == {"ok": 1}
    assert client.connections == 1 and client.requests == 10


def test_headers_devauth_sets_and_line_breaks_are_refused():
    s, client, _ = _session()
    e = raises(APIError, s.request, "GET", API, headers={"Authorization": "Basic x"})
    assert "Authorization is set by devauth" in str(e)
    e = raises(APIError, s.request, "GET", API, headers={"X-A": "1\r\nAuthorization: x"})
    assert "line break" in str(e)
    raises(APIError, s.request, "TRACE", API)
    raises(APIError, s.request, "POST", API, json={}, data={})
    assert client.connections == 0


def test_a_token_that_could_split_the_header_is_not_sent():
    s, client, _ = _session()
    rec = tokens.load_token(s.config.state_dir)
    rec["access_token"] = "AT\r\nX-Evil: 1"
    tokens.write(s.config.state_dir, tokens.TOKEN, rec)
    e = raises(ProtocolError, s.request, "GET", API)
    assert "AT" not in str(e) and client.connections == 0


def test_plain_http_is_refused_unless_allowed():
    s, client, _ = _session()
    e = raises(ProtocolError, s.request, "GET", "http://api.example.com/v1")
    assert "allow_insecure_http" in str(e) and client.connections == 0
    raises(APIError, s.request, "GET", "ftp://api.example.com/v1")


def test_the_urequests_transport_is_refused():
    s = Session(Config(state_dir=_state()), FakeTransport([]), FakeClock(0, WALL), Recorder())
    e = raises(ConfigError, s.request, "GET", API)
    assert "http_client builtin" in str(e)


# -- a fresh token, and what a refusal does ----------------------------------------------------


def test_a_token_within_the_margin_is_refreshed_before_sending():
    s, client, _ = _session(Stream(_refreshed()), Stream(reply(200)), expires_in=30)
    assert s.request("GET", API).status == 200
    assert [k[1] for k in client.keys] == ["as.example.com", "api.example.com"]
    ((_, _, form),) = _requests(client.opened[0])
    assert b"grant_type=refresh_token&refresh_token=RT-1" in form
    assert b"client_id=dev%3Aice%2B1" in form
    assert _requests(client.opened[1])[0][1]["authorization"] == "Bearer AT-2"


def _forced_401(*challenge):
    api1 = Stream(reply(401, b"", challenge))
    s, client, _ = _session(api1, Stream(_refreshed()), Stream(reply(200, {"n": 1})))
    r = s.request("POST", API, json={"t": 21.5})
    assert r.json() == {"n": 1}
    (first,) = _requests(api1)
    (refresh,) = _requests(client.opened[1])
    (again,) = _requests(client.opened[2])
    assert b"grant_type=refresh_token" in refresh[2]  # exactly one refresh
    assert first[2] == again[2] == b'{"t": 21.5}'  # the same body, sent again
    assert first[1]["authorization"] == "Bearer AT-1"
    assert again[1]["authorization"] == "Bearer AT-2"
    assert tokens.load_token(s.config.state_dir)["refresh_token"] == "RT-2"


def test_a_401_invalid_token_refreshes_once_and_retries_with_the_same_body():
    _forced_401(CHALLENGE)


def test_a_401_without_a_challenge_does_the_same():
    _forced_401()


def test_a_second_401_is_one_clear_error_and_no_loop():
    s, client, _ = _session(
        Stream(reply(401, b"", [CHALLENGE])), Stream(_refreshed()), Stream(reply(401, b""))
    )
    e = raises(APIError, s.request, "POST", API, json={"t": 1})
    assert str(e) == "API at api.example.com refused the token after a refresh (HTTP 401)"
    assert e.status == 401 and "AT-" not in str(e)
    assert client.connections == 3 and not client.scripted  # nothing more was tried


def test_the_second_401_names_the_reason_the_server_gave():
    s, _, _ = _session(
        Stream(reply(401, b"")), Stream(_refreshed()), Stream(reply(401, b"", [CHALLENGE]))
    )
    e = raises(APIError, s.request, "GET", API)
    assert "(HTTP 401 invalid_token)" in str(e) and e.error == "invalid_token"


def test_403_insufficient_scope_names_the_scope_and_is_not_retried():
    h = 'WWW-Authenticate: Bearer error="insufficient_scope", scope="readings:write admin"'
    s, client, _ = _session(Stream(reply(403, b"", [h])))
    e = raises(InsufficientScope, s.request, "POST", API, json={})
    assert e.scope == "readings:write admin"
    assert str(e) == (
        "API at api.example.com needs scope readings:write admin (HTTP 403 insufficient_scope)"
    )
    assert client.connections == 1 and client.requests == 1


def test_another_403_is_the_callers_to_read():
    s, _, _ = _session(Stream(reply(403, {"detail": "not yours"})))
    assert s.request("GET", API).json() == {"detail": "not yours"}


def test_a_redirect_is_returned_not_followed():
    loc = "Location: https://evil.example.net/steal"
    s, client, _ = _session(Stream(reply(302, b"", [loc])))
    r = s.request("GET", API)
    assert r.status == 302 and r.headers["location"] == "https://evil.example.net/steal"
    assert client.connections == 1 and [k[1] for k in client.keys] == ["api.example.com"]


def test_invalid_grant_on_that_refresh_starts_a_new_device_sign_in():
    code = {
        "device_code": "DC-1",
        "user_code": "ABCD-EFGH",
        "verification_uri": "https://as.example.com/as/user_authz.oauth2",
        "expires_in": 600,
        "interval": 5,
    }
    as_replies = (
        reply(400, {"error": "invalid_grant"})
        + reply(200, code)
        + reply(200, dict(TOKEN, access_token="AT-9", expires_in=3600))
    )
    s, client, ui = _session(Stream(reply(401, b"")), Stream(as_replies), Stream(reply(204, b"")))
    r = s.request("DELETE", API + "/1")
    assert r.status == 204 and r.content == b""
    assert ui.kinds("show_code") == [("show_code", "ABCD-EFGH")]
    assert _requests(client.opened[2])[0][1]["authorization"] == "Bearer AT-9"


# -- connections -----------------------------------------------------------------------------


def test_a_stale_connection_is_tried_again_for_a_get_only():
    s, client, _ = _session(Stream(reply(200, {"n": 1})), Stream(reply(200, {"n": 2})))
    s.request("GET", API)
    assert s.request("GET", API).json() == {"n": 2}  # the server had closed the idle one
    assert client.connections == 2
    s, client, _ = _session(Stream(reply(200, {"n": 1})), Stream(reply(200, {"n": 2})))
    s.request("POST", API, json={"t": 1})
    e = raises(NetworkError, s.request, "POST", API, json={"t": 2})
    assert "the POST was not sent again" in str(e)
    assert client.connections == 1 and len(client.scripted) == 1  # sent once, never twice


def test_trust_per_host_and_the_client_certificate_go_to_the_api():
    cas = {"api.example.com": [b"API-CA"], "*": [b"ANY-CA"]}
    s, client, _ = _session(
        Stream(reply(200) * 2),
        Stream(reply(200)),
        api_ca_certificates=cas,
        tls_client_certificate=b"CERT",
        tls_client_key=b"KEY",
    )
    s.request("GET", API)
    s.request("GET", API)
    s.request("GET", "https://other.example.org/x")
    first, other = client.keys[0][3], client.keys[1][3]
    assert (
        first.ca_certificates == [b"API-CA"]
        and first.name == "api_ca_certificates[api.example.com]"
    )
    assert first.client_certificate == b"CERT" and first.client_key == b"KEY"  # RFC 8705 §3
    assert other.ca_certificates == [b"ANY-CA"] and other.name == "api_ca_certificates"
    assert client.connections == 2  # the two calls to one host shared a connection
    assert cas["api.example.com"] is first  # one trust set, one context


def test_a_host_without_its_own_trust_is_trusted_as_the_authorization_server():
    s, client, _ = _session(Stream(reply(200)), api_ca_certificates={"x.example": [b"X"]})
    s.request("GET", API)
    assert client.keys[0][3] is client  # the sign-in's own trust


# -- bounds and streaming --------------------------------------------------------------------

BIG = bytes(range(256)) * 400  # 100 KB


def test_a_reply_over_the_bound_is_a_clear_error_without_stream():
    s, client, _ = _session(Stream(reply(200, BIG)))
    e = raises(BodyTooLarge, s.request, "GET", API)
    assert "102400 bytes is over the 8192-byte limit (read it with stream=True)" in str(e)
    assert client.opened[0].consumed < 200 and client._io is None


def test_a_chunked_or_unframed_reply_over_the_bound_stops_at_the_bound():
    s, client, _ = _session(
        Stream(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            endless=b"400\r\n" + b"x" * 1024 + b"\r\n",
        ),
        Stream(b"HTTP/1.0 200 OK\r\n\r\n", endless=b"y" * 1000),
    )
    for _ in range(2):
        e = raises(BodyTooLarge, s.request, "GET", API)
        assert str(e) == "API reply body is over the 8192-byte limit (read it with stream=True)"
        assert client.opened[-1].consumed < 8192 + 2048 and client._io is None


def _read_all(r, size=1000):
    """Read the streamed body of `r` through a `size`-byte buffer, checked against BIG part by
    part (never held whole: a 32-bit VM's heap after other tests may hold no 100 KB block)
    -> the bytes read."""
    buf, got = bytearray(size), 0
    while True:
        n = r.readinto(buf)
        if not n:
            return got
        assert n <= size and buf[:n] == BIG[got : got + n], got
        got += n


def test_a_large_reply_streams_into_the_callers_buffer_and_the_connection_is_kept():
    s, client, _ = _session(Stream(reply(200, BIG) + reply(200, {"n": 2})))
    r = s.request("GET", API, stream=True)
    assert r.status == 200 and r.content is None
    assert _read_all(r) == len(BIG)
    assert s.request("GET", API).json() == {"n": 2}
    assert client.connections == 1


def test_no_content_and_not_modified_have_no_body_whatever_the_headers():
    # RFC 9110 §6.4.1: no Content-Length, yet the reply ends with its headers; the connection
    # stays in step for the next call
    s, client, _ = _session(
        Stream(reply(204, b"", length=False) + reply(304, b"", length=False) + reply(200))
    )
    for status in (204, 304):
        r = s.request("DELETE" if status == 204 else "GET", API)
        assert r.status == status and r.content == b""
    assert s.request("GET", API).json() == {}
    assert client.connections == 1 and client.requests == 3


def test_a_bad_content_length_is_one_line_read_whole_or_streamed():
    for stream in (False, True):
        for value in ("12x", "-1", "1e3", "0x10", "1234567890123"):
            s, client, _ = _session(Stream(reply(200, b"{}", ["Content-Length: " + value], False)))
            e = raises(ProtocolError, s.request, "GET", API, stream=stream)
            assert str(e) == "reply has a bad Content-Length", (value, stream, str(e))
            assert client._io is None


def test_only_a_streamed_call_loads_the_streaming_reader():
    """Memory: a call read whole leaves devauth.net.stream off the heap (the client's own reader
    reads it); stream=True loads it."""
    import sys

    from devauth import oauth, unload

    api = sys.modules["devauth.oauth.api"]  # this module's classes stay the ones raised
    unload("devauth.oauth.api", "devauth.net.stream")  # as on a board after the sign-in
    try:
        s, _, _ = _session(Stream(reply(200, {"n": 1}) + reply(200, BIG)))
        assert s.request("POST", API, json={"t": 21.5}).json() == {"n": 1}
        assert "devauth.oauth.api" in sys.modules and "devauth.net.stream" not in sys.modules
        assert _read_all(s.request("GET", API, stream=True)) == len(BIG)
        assert "devauth.net.stream" in sys.modules
    finally:
        sys.modules["devauth.oauth.api"] = oauth.api = api


def test_chunked_and_unframed_replies_stream_too():
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(BIG[i : i + 3000]), BIG[i : i + 3000])
        for i in range(0, len(BIG), 3000)
    )
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    s, client, _ = _session(
        Stream(raw + reply(200, {"n": 2})), Stream(b"HTTP/1.0 200 OK\r\n\r\n" + BIG)
    )
    assert _read_all(s.request("GET", API, stream=True), 777) == len(BIG)
    assert s.request("GET", API).json() == {"n": 2}  # the framing left the stream in step
    assert _read_all(s.request("GET", API, stream=True)) == len(BIG)
    assert client._io is None  # an unframed body ends with its connection


def test_a_streamed_reply_saves_to_a_file_and_a_cut_one_leaves_no_file():
    path = _state() + ".bin"
    s, _, _ = _session(
        Stream(reply(200, BIG)), Stream(b"HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\nabc")
    )
    assert s.request("GET", API, stream=True).save(path, bytearray(512)) == len(BIG)
    with open(path, "rb") as f:
        assert f.read() == BIG
    os.remove(path)
    e = raises(NetworkError, s.request("GET", API, stream=True).save, path, bytearray(512))
    assert "closed mid-reply" in str(e)
    raises(OSError, os.stat, path)
    raises(OSError, os.stat, path + ".tmp")


def test_an_abandoned_stream_is_cut_off_by_the_next_request():
    s, client, _ = _session(Stream(reply(200, BIG)), Stream(reply(200, {"n": 2})))
    r = s.request("GET", API, stream=True)
    assert r.readinto(bytearray(10)) == 10
    assert s.request("GET", API).json() == {"n": 2}
    assert client.opened[0].closed and client.connections == 2
    e = raises(ProtocolError, r.readinto, bytearray(10))
    assert "cut off by a later request" in str(e)


def test_a_401_to_a_streamed_request_is_still_refreshed_and_retried():
    s, client, _ = _session(
        Stream(reply(401, b"", [CHALLENGE])), Stream(_refreshed()), Stream(reply(200, BIG))
    )
    assert _read_all(s.request("GET", API, stream=True), 4096) == len(BIG)


# -- the config key --------------------------------------------------------------------------

CFG = {
    "client_id": CLIENT_ID,
    "device_authorization_endpoint": "https://as.example.com/as/device_authz.oauth2",
    "token_endpoint": "https://as.example.com/as/token.oauth2",
    "ca_certificates": "ca.der",
}


def _cfg(value):
    d = dict(CFG)
    if value is not None:
        d["api_ca_certificates"] = value
    base = _state() + "-cfg/"
    tokens.makedirs(base)
    with open(base + "ca.der", "wb") as f:
        f.write(b"\x30\x03\x02\x01\x01")  # a DER SEQUENCE: what der_blocks accepts
    return config.from_dict(d, base)


def test_api_ca_certificates_takes_a_file_a_list_or_a_map_by_host():
    der = b"\x30\x03\x02\x01\x01"
    assert _cfg("ca.der").api_ca_certificates == {"*": [der]}
    assert _cfg(["ca.der", "ca.der"]).api_ca_certificates == {"*": [der, der]}
    c = _cfg({"api.example.com": "ca.der", "localhost:8443": ["ca.der"]})
    assert c.api_ca_certificates == {"api.example.com": [der], "localhost:8443": [der]}
    assert _cfg(None).api_ca_certificates is None  # absent: the authorization server's trust


def test_api_ca_certificates_mistakes_are_one_line_naming_the_key():
    e = raises(ConfigError, _cfg, "missing.pem")
    assert str(e).startswith("api_ca_certificates: cannot read ") and "\n" not in str(e)
    e = raises(ConfigError, _cfg, {"api.example.com": "missing.pem"})
    assert str(e).startswith("api_ca_certificates[api.example.com]: cannot read ")
    e = raises(ConfigError, _cfg, {"https://api.example.com/": "ca.der"})
    assert "must name a file, a list of files, or {host: files}" in str(e)
    raises(ConfigError, _cfg, {})
    raises(ConfigError, _cfg, [])
    raises(ConfigError, _cfg, 7)


def test_the_asyncio_client_reads_a_reply_whole_unless_it_is_streamed():
    from devauth.net.ahttp import AsyncHTTPClient
    from devauth.oauth import api
    from devauth.oauth.steps import ENSURE

    s, _, _ = _session()
    s.transport = AsyncHTTPClient()  # non-blocking: it reads a body not streamed itself
    for stream in (False, True):
        steps = api.request_steps(s, "POST", API, json={"t": 21.5}, stream=stream)
        assert steps.send(None) == (ENSURE, None)
        kind, args = steps.send(dict(TOKEN))
        assert kind == "request" and args[0] == "POST" and args[-1] is stream
    # the blocking client leaves every body to devauth.oauth.api (and devauth.net.stream)
    s2, client, _ = _session()
    steps = api.request_steps(s2, "GET", API)
    steps.send(None)
    assert steps.send(dict(TOKEN))[1][-1] is True
