"""The asyncio HTTPS client (devauth.net.ahttp) end to end against the dev server over real TLS,
on the 32-bit MicroPython VM (the firmware precompiled) and on CPython (the tls shim): a device
authorization request with the server verified, one with a client certificate (RFC 8705
tls_client_auth), an untrusted server certificate refused and a server silent in the handshake
timed out with the blocking client's errors, and an application task ticking every 50 ms that
keeps running through whole requests."""

import os
import socket
import subprocess
import sys

import pytest
from devauth_tools import runner
from e2e import ROOT, compiled_firmware, write_config

RUNTIMES = ("micropython", "cpython")

# Application code: one line per outcome (R: a reply, E: an error, T: the ticker).
APP = """
import sys
sys.path[:0] = %(paths)r
import asyncio
from devauth import app, clock
from devauth.net.ahttp import AsyncHTTPClient
from devauth.net.http import HTTPClient
from devauth.net.url import encode

PLAIN, MTLS, BAD = %(configs)r
SILENT = %(silent)r


def client(path, cls=AsyncHTTPClient, timeout=10):
    cfg = app.load_config(path)
    c = cls(cfg.ca_certificates, cfg.tls_client_certificate, cfg.tls_client_key, timeout=timeout)
    return cfg, c


def form(cfg):
    return encode([("client_id", cfg.client_id), ("scope", "openid profile")])


async def authorize(path, what):
    cfg, c = client(path)
    try:
        r = await c.post_form(cfg.device_authorization_endpoint, form(cfg))
        body = r.json("device authorization")
        print("R %%s %%d %%s handshakes=%%d" %% (
            what, r.status, "user_code" in body and "device_code" in body, c.handshakes))
    except Exception as e:
        print("E %%s %%s: %%s" %% (what, type(e).__name__, e))
    c.close()


async def ticked_requests():
    # An application task waking every 50 ms, measured over whole requests (each on a new
    # connection: its TLS handshake too), made one after another until it has woken 3 times (a
    # request on loopback may take less than 50 ms). Their awaits are the only ones here: each
    # wake-up happened while a request was under way.
    state = {"count": 0, "gap": 0, "last": clock.ticks_ms(), "on": True}

    async def ticker():
        while state["on"]:
            await asyncio.sleep(0.05)
            now = clock.ticks_ms()
            state["gap"] = max(state["gap"], clock.ticks_diff(now, state["last"]))
            state["last"] = now
            state["count"] += 1

    cfg, c = client(PLAIN)
    t = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is asleep: from now on it wakes only inside a request
    start = state["last"] = clock.ticks_ms()
    n = status = 0
    while state["count"] < 3 and n < 200:
        r = await c.post_form(cfg.device_authorization_endpoint, form(cfg))
        c.close()
        n += 1
        status = max(status, r.status)
    took = clock.ticks_diff(clock.ticks_ms(), start)
    state["on"] = False
    ticks, gap = state["count"], state["gap"]
    await t
    print("T status=%%d ticks=%%d longest_gap_ms=%%d requests=%%d ms=%%d" %% (
        status, ticks, gap, n, took))


async def main():
    await authorize(PLAIN, "verified")
    await authorize(MTLS, "mtls")
    await authorize(BAD, "badca")
    cfg, c = client(BAD, HTTPClient)
    try:
        c.post_form(cfg.device_authorization_endpoint, form(cfg))
    except Exception as e:
        print("E blocking-badca %%s: %%s" %% (type(e).__name__, e))
    await ticked_requests()
    # a server that takes the connection and never answers the TLS handshake: 1 s waits
    cfg, c = client(PLAIN, timeout=1)
    try:
        await c.post_form(SILENT, b"a=b")
    except Exception as e:
        print("E silent %%s: %%s" %% (type(e).__name__, e))
    cfg, c = client(PLAIN, HTTPClient, timeout=1)
    try:
        c.post_form(SILENT, b"a=b")
    except Exception as e:
        print("E blocking-silent %%s: %%s" %% (type(e).__name__, e))


asyncio.run(main())
"""


def _paths(runtime):
    if runtime == "micropython":
        return [compiled_firmware()]
    return [os.path.join(ROOT, "tools", "devauth_tools", "shims"), os.path.join(ROOT, "firmware")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from devauth_tools.dev_as import DevAS

    with DevAS(
        str(tmp_path_factory.mktemp("pki-aio")), port=0, auto_approve=0, interval=1, quiet=True
    ) as srv:
        yield srv


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_async_requests_over_tls_and_a_ticker_that_keeps_running(server, tmp_path, runtime):
    pki = server.pki
    configs = []
    for name, method, over in (
        ("plain", "none", {}),
        ("mtls", "tls_client_auth", {}),
        ("bad", "none", {"ca_certificates": pki["untrusted_ca_der"]}),
    ):
        d = tmp_path / name
        d.mkdir()
        configs.append(write_config(d, server.base_url, pki, method, **over))
    silent = socket.socket()  # takes connections (the kernel's backlog), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    url = "https://localhost:%d/as/device_authz.oauth2" % silent.getsockname()[1]
    script = tmp_path / ("aio_%s.py" % runtime)
    script.write_text(APP % {"paths": _paths(runtime), "configs": configs, "silent": url})
    if runtime == "micropython":
        cmd = [runner.micropython(), "-X", "heapsize=" + runner.DEFAULT_HEAP, str(script)]
    else:
        cmd = [sys.executable, str(script)]
    before = server.stats()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        silent.close()
    after = server.stats()
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0 and "Traceback" not in out, out
    lines = [line for line in proc.stdout.splitlines() if line]
    assert lines[0] == "R verified 200 True handshakes=1", out
    assert lines[1] == "R mtls 200 True handshakes=1", out
    bad = "server certificate for localhost rejected"
    assert lines[2].startswith("E badca TLSError: " + bad), out
    assert lines[3] == "E blocking-badca" + lines[2][len("E badca") :], out  # the same line
    status, ticks, gap, n, took = [int(kv.split("=")[1]) for kv in lines[4][2:].split()]
    assert status == 200 and ticks > 0, out  # the ticker ran while requests were under way
    print(
        "%s: ticker (50 ms) longest gap %d ms; %d wake-ups over %d requests, each with a TLS "
        "handshake, in %d ms" % (runtime, gap, ticks, n, took)
    )
    assert after["device_authorizations"] - before["device_authorizations"] == 2 + n, out
    assert lines[5] == "E silent NetworkError: TLS handshake with localhost timed out", out
    assert lines[6] == "E blocking-silent" + lines[5][len("E silent") :], out
