"""The application calls its own API with `session.request`, end to end over TLS against the dev
server's protected API (devauth_tools.dev_as.api), on the MicroPython unix port and on CPython:
refresh on a forced 401 (exactly one), a second 401, 403 insufficient_scope, a redirect to
another origin (which never sees the token), a 100 KB body, a slow drip, a dropped connection,
certificate-bound tokens."""

import json
import os
import subprocess
import sys

import pytest
from devauth_tools import runner
from e2e import ROOT, compiled_firmware, run_firmware, write_config

HEAP = "128K"
RUNTIMES = ("micropython", "cpython")

# Application code, as a user would write it (see the README's application section). `call`
# prints one line per call: the status and what came back, or the error's class and line.
APP = """
import sys
sys.path[:0] = %(paths)r
from devauth import app, clock
from devauth.oauth.session import Session
from devauth.oled.ui import UI
cfg = app.load_config(%(config)r)
ui = UI()
transport = app.make_transport(cfg, ui)
session = Session(cfg, transport, clock, ui)
API = %(api)r


def call(method, url, **kw):
    try:
        r = session.request(method, url, **kw)
        if kw.get("stream"):
            buf, total, check = bytearray(1024), 0, 0
            while True:
                n = r.readinto(buf)
                if not n:
                    break
                total += n
                check = (check + sum(buf[:n])) %% 65521
            print("R %%d streamed %%d %%d" %% (r.status, total, check))
        elif r.headers.get("content-type", "").startswith("application/json"):
            print("R %%d %%s" %% (r.status, r.text))
        else:
            print("R %%d %%s %%d" %% (r.status, r.headers.get("location", "-"), len(r.content)))
    except Exception as e:
        print("E %%s: %%s" %% (type(e).__name__, e))


%(steps)s
print("S handshakes=%%d connections=%%d requests=%%d" %% (
    transport.handshakes, transport.connections, transport.requests))
"""


def _paths(runtime):
    if runtime == "micropython":
        return [compiled_firmware()]
    return [os.path.join(ROOT, "tools", "devauth_tools", "shims"), os.path.join(ROOT, "firmware")]


def run_app(runtime, cfg, api, steps, tmp_path):
    script = tmp_path / ("app_%s.py" % runtime)
    script.write_text(APP % {"paths": _paths(runtime), "config": cfg, "api": api, "steps": steps})
    if runtime == "micropython":
        cmd = [runner.micropython(), "-X", "heapsize=" + HEAP, str(script)]
    else:
        cmd = [sys.executable, str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line]
    results = [line[2:] for line in lines if line[:2] in ("R ", "E ")]
    stats = dict(kv.split("=") for kv in lines[-1][2:].split()) if lines[-1][:2] == "S " else {}
    return results, {k: int(v) for k, v in stats.items()}, lines


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from devauth_tools.dev_as import DevAS

    with DevAS(
        str(tmp_path_factory.mktemp("pki-api")), port=0, auto_approve=0.3, interval=1, quiet=True
    ) as srv:
        yield srv


def _signed_in(srv, tmp_path, method="none", **over):
    cfg = write_config(tmp_path, srv.base_url, srv.pki, method, timeout=2, **over)
    assert run_firmware(cfg).code == 0
    return cfg


def _token(tmp_path):
    with open(os.path.join(str(tmp_path), "state", "token.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_run_of_calls_carries_the_token_over_one_handshake(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)
    api = server.base_url + "/api/readings"
    steps = (
        "for i in range(5):\n"
        "    call('POST', API, json={'t': 21.5, 'place': 'Z\\u00fcrich'})\n"
        "call('PUT', API + '/7', data={'t': '21 \\u00b0C'})\n"
        "call('DELETE', API + '/7')\n"
        "call('GET', 'http://localhost:1/api')\n"
    )
    before = server.stats()
    results, stats, _ = run_app(runtime, cfg, api, steps, tmp_path)
    after = server.stats()
    for line in results[:5]:
        assert line.startswith("201 "), results
        body = json.loads(line[4:])
        assert body["received"] == {"t": 21.5, "place": "Zürich"}
        assert body["client_id"] == "public-device"
    assert json.loads(results[5][4:])["received"] == {"t": "21 °C"}
    assert json.loads(results[6][4:])["method"] == "DELETE"
    assert results[7] == "ProtocolError: refusing http:// (allow_insecure_http is false)"
    assert stats["handshakes"] == 1 and stats["requests"] == 7
    assert after["tls_handshakes"] - before["tls_handshakes"] == 1
    assert after["refreshes"] == before["refreshes"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_forced_401_costs_exactly_one_refresh_and_the_same_body_again(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path, "client_secret_basic")
    api = server.base_url + "/api/readings"
    key = "once-%s-%s" % (runtime, tmp_path.name)
    old = _token(tmp_path)
    before = server.stats()
    results, stats, _ = run_app(
        runtime,
        cfg,
        api,
        "call('POST', API + '?fault=401-once&key=%s', json={'n': 1})" % key,
        tmp_path,
    )
    after = server.stats()
    assert results[0].startswith("201 ") and json.loads(results[0][4:])["received"] == {"n": 1}
    assert after["refreshes"] - before["refreshes"] == 1
    assert _token(tmp_path)["access_token"] != old["access_token"]
    # The dev API shares the authorization server's origin, so the refresh shares its
    # connection (the dual tests switch hosts: API, token endpoint, API again).
    assert stats["handshakes"] == 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_revoked_token_is_refreshed_once(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)
    at = _token(tmp_path)["access_token"]
    server.store.revoke_token(server.store.find_token(at), at)  # the server forgot it early
    before = server.stats()
    results, _, _ = run_app(
        runtime, cfg, server.base_url + "/api/readings", "call('GET', API)", tmp_path
    )
    assert results[0].startswith("200 "), results
    assert server.stats()["refreshes"] - before["refreshes"] == 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_401_always_403_scope_and_a_redirect(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)
    api = server.base_url + "/api/readings"
    steps = (
        "call('POST', API + '?fault=401', json={})\n"
        "call('POST', API + '?fault=403-scope', json={})\n"
        "call('GET', API + '?fault=redirect')\n"
    )
    log = server.store.api
    other_before = log.count(host="127.0.0.1")
    before = server.stats()
    results, _, _ = run_app(runtime, cfg, api, steps, tmp_path)
    after = server.stats()
    assert results[0] == (
        "APIError: API at localhost refused the token after a refresh (HTTP 401 invalid_token)"
    )
    assert after["refreshes"] - before["refreshes"] == 1  # one for the 401s, none for the 403
    assert results[1] == (
        "InsufficientScope: API at localhost needs scope readings:write "
        "(HTTP 403 insufficient_scope)"
    )
    port = server.base_url.rsplit(":", 1)[1]
    assert results[2] == "302 https://127.0.0.1:%s/api/readings 0" % port
    # The other origin never saw a request, so never the token.
    assert log.count(host="127.0.0.1") == other_before
    assert not any(c[0] == "127.0.0.1" and c[3] for c in log.calls)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_100_kb_body_streams_and_is_a_clear_error_otherwise(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)
    steps = "call('GET', API + '?fault=big')\ncall('GET', API + '?fault=big', stream=True)\n"
    results, _, _ = run_app(runtime, cfg, server.base_url + "/api/readings", steps, tmp_path)
    assert results[0] == (
        "BodyTooLarge: API reply body of 102400 bytes is over the 8192-byte limit "
        "(read it with stream=True)"
    )
    expected = sum((bytes(range(256)) * 400)) % 65521
    assert results[1] == "200 streamed 102400 %d" % expected


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_slow_drip_times_out_and_the_next_call_works(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)  # timeout 2 s
    steps = "call('GET', API + '?fault=drip&every=3')\ncall('GET', API)\n"
    results, _, _ = run_app(runtime, cfg, server.base_url + "/api/readings", steps, tmp_path)
    assert results[0] == "NetworkError: server did not answer in time", results
    assert results[1].startswith("200 "), results


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_dropped_connection_is_resent_for_a_get_never_for_a_post(server, tmp_path, runtime):
    cfg = _signed_in(server, tmp_path)
    api = server.base_url + "/api/readings"
    g, p = "get-%s-%s" % (runtime, tmp_path.name), "post-%s-%s" % (runtime, tmp_path.name)
    steps = (
        "call('GET', API)\n"
        "call('GET', API + '/%s?fault=drop-once&key=%s')\n"
        "call('GET', API)\n"
        "call('POST', API + '/%s?fault=drop-once&key=%s', json={'once': True})\n" % (g, g, p, p)
    )
    log = server.store.api
    results, _, _ = run_app(runtime, cfg, api, steps, tmp_path)
    assert results[1].startswith("200 "), results  # sent again on a new connection
    assert log.count(path="/api/readings/" + g) == 2
    assert results[3] == (
        "NetworkError: server closed the connection without replying; the POST was not sent again"
    ), results
    assert log.count(path="/api/readings/" + p) == 1  # the POST reached the server once


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_certificate_bound_token_works_because_the_api_sees_the_certificate(
    server, tmp_path, runtime
):
    cfg = _signed_in(server, tmp_path, "tls_client_auth")
    results, _, _ = run_app(
        runtime, cfg, server.base_url + "/api/readings", "call('GET', API)", tmp_path
    )
    assert results[0].startswith("200 ") and '"mtls-device"' in results[0], results
    # The same token without the certificate is refused (RFC 8705 §3).
    import ssl
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=server.pki["ca_pem"])
    req = urllib.request.Request(
        server.base_url + "/api/readings",
        headers={"Authorization": "Bearer " + _token(tmp_path)["access_token"]},
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    assert e.value.code == 401


def test_invalid_grant_on_the_refresh_starts_a_new_sign_in(server, tmp_path):
    cfg = _signed_in(server, tmp_path)
    rec = _token(tmp_path)
    rec["refresh_token"] = "not-a-refresh-token"
    with open(os.path.join(str(tmp_path), "state", "token.json"), "w") as f:
        json.dump(rec, f)
    key = "grant-" + tmp_path.name
    results, _, lines = run_app(
        "micropython",
        cfg,
        server.base_url + "/api/readings",
        "call('GET', API + '?fault=401-once&key=%s')" % key,
        tmp_path,
    )
    assert "Sign-in expired (invalid_grant): signing in again." in lines, lines
    assert any(line.startswith("To sign in, visit") for line in lines), lines
    assert results[0].startswith("200 "), results


def test_the_example_signs_in_and_posts_readings_with_the_token(server, tmp_path):
    import argparse

    from devauth_tools import sim

    cfg = write_config(tmp_path, server.base_url, server.pki)
    app = os.path.join(ROOT, "examples", "post_readings.py")
    args = argparse.Namespace(app=app, count=2, period=1, heap=HEAP)
    before = len(server.store.api.readings)
    proc = subprocess.run(
        sim.app_command(args, cfg, server.base_url + "/api/readings", HEAP, None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "Signed in." in lines
    assert lines[-2:] == ["reading 1 posted: HTTP 201", "reading 2 posted: HTTP 201"], lines
    got = server.store.api.readings[before:]
    assert [r["n"] for r in got] == [1, 2] and got[0]["unit"] == "°C"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_post_after_the_server_closed_the_idle_connection_goes_on_a_new_one(
    tmp_path_factory, tmp_path, runtime
):
    from devauth_tools.dev_as import DevAS

    # This server closes every connection after its reply, as an idle timeout would.
    with DevAS(
        str(tmp_path_factory.mktemp("pki-api-close")),
        port=0,
        auto_approve=0.3,
        interval=1,
        quiet=True,
        close_after_response=True,
    ) as srv:
        cfg = _signed_in(srv, tmp_path)
        steps = (
            "call('GET', API)\n"
            "import select\n"
            "p = select.poll()\n"
            "p.register(transport._io, select.POLLIN)\n"
            "p.poll(10000)  # the event: the server's close reaches the idle connection\n"
            "call('POST', API, json={'after': 'close'})\n"
        )
        results, stats, _ = run_app(runtime, cfg, srv.base_url + "/api/readings", steps, tmp_path)
        posts = [c for c in srv.store.api.calls if c[1] == "POST"]
    assert results[0].startswith("200 "), results
    assert results[1].startswith("201 "), results  # checked before sending: a new connection
    assert len(posts) == 1 and stats["handshakes"] == 2
