"""The asyncio API (devauth.aio) end to end over TLS against `devauth dev-as`, on the 32-bit
MicroPython VM (precompiled firmware) and on CPython's asyncio: a sign-in beside the
application's ticker task, a cancel once the code is shown then a resume with the same code,
concurrent `access_token()` callers while a refresh is due (one refresh), a refresh while the
application runs, a network fault mid-poll, mTLS and private_key_jwt, an API call refused once.

Event-driven: the script waits on the code being shown (an Event set by the UI), the test on the
server's own counters; the only timing is the dev server's auto-approval and the fault proxy's
drip. The ticker's longest gap is printed for the record, never asserted (see `make bench`)."""

import json
import os
import subprocess
import sys

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from e2e import compiled_firmware, run_firmware, write_config
from faultproxy import FaultProxy, Schedule

RUNTIMES = ("micropython", "cpython")
HEAP = "256K"  # not a memory test (`make bench` measures the heap)
API = "/api/readings"

# Application code as a user would write it (README, the asyncio section). argv: the config,
# the scenario, its argument. Prints "R key value" lines; exits with the scenario's code.
SCRIPT = """
import sys
sys.path[:0] = %(paths)r
import asyncio
from devauth import aio, clock
from devauth.oled.ui import UI

if sys.implementation.name == "cpython":
    # TLS 1.2, as mbedTLS speaks on MicroPython: the fault proxy follows 1.2 records only.
    import ssl
    import tls

    _init = tls.SSLContext.__init__

    def _tls12(self, protocol):
        _init(self, protocol)
        self._ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    tls.SSLContext.__init__ = _tls12


class Watch(UI):
    \"\"\"The console UI; `shown` is set once a code is on the screen.\"\"\"

    def __init__(self):
        UI.__init__(self)
        self.shown = asyncio.Event()

    def show_code(self, code):
        UI.show_code(self, code)
        self.shown.set()


class Ticker:
    \"\"\"The application's task: wakes every 50 ms, counts, records its longest gap.\"\"\"

    def __init__(self):
        self.ticks = 0
        self.longest = 0

    async def run(self):
        last = clock.ticks_ms()
        while True:
            await aio.sleep_ms(50)
            now = clock.ticks_ms()
            self.longest = max(self.longest, clock.ticks_diff(now, last))
            self.ticks += 1
            last = now


def out(key, value):
    print("R %%s %%s" %% (key, value))


async def signin(auth, ui, ticker, arg):
    code = await auth.run(once=True)
    out("ticks", ticker.ticks)
    return code


async def cancel(auth, ui, ticker, arg):
    task = asyncio.create_task(auth.run())
    await ui.shown.wait()
    auth.cancel()
    try:
        await task
    except asyncio.CancelledError:
        out("cancelled", 1)
    return 3


async def concurrent(auth, ui, ticker, arg):
    tokens = await asyncio.gather(*[auth.access_token() for _ in range(int(arg))])
    out("distinct", len(set(tokens)))
    out("token", tokens[0])
    return 0


async def post(auth, ui, ticker, arg):
    # the application keeps running (the ticker) while its call waits on the refresh
    run = asyncio.create_task(auth.run())
    before = ticker.ticks
    r = await auth.request("POST", arg, json={"t": 21.5, "place": "Z\\u00fcrich"})
    out("ticks", ticker.ticks - before)
    out("status", r.status)
    out("body", r.text)
    run.cancel()
    return 0


async def stream(auth, ui, ticker, arg):
    # a body 12 times the client's buffer, in parts: into a small buffer, then to a file
    buf, total, check = bytearray(1024), 0, 0
    r = await auth.request("GET", arg, stream=True)
    while True:
        n = await r.readinto(buf)
        if not n:
            break
        total += n
        check = (check + sum(buf[:n])) %% 65521
    out("status", r.status)
    out("streamed", "%%d %%d" %% (total, check))
    r = await auth.request("GET", arg, stream=True)
    out("saved", await r.save(auth.config + ".big", buf))
    await r.close()
    return 0


async def main(config, scenario, arg):
    ui = Watch()
    auth = aio.Auth(config, ui=ui)
    ticker = Ticker()
    tick = asyncio.create_task(ticker.run())
    try:
        return await globals()[scenario](auth, ui, ticker, arg)
    finally:
        out("longest_ms", ticker.longest)
        tick.cancel()
        auth.close()


sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")))
"""


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.lines = [line for line in proc.stdout.splitlines() if line]
        self.r = dict(line[2:].split(" ", 1) for line in self.lines if line.startswith("R "))

    def __getitem__(self, key):
        v = self.r[key]
        return int(v) if v.lstrip("-").isdigit() else v

    def __repr__(self):
        return "exit %s\n%s\n%s" % (self.code, self.out, self.err)


def _paths(runtime):
    if runtime == "micropython":
        return [compiled_firmware()]
    fw = runner.firmware_dir()
    return [os.path.join(runner.REPO, "tools", "devauth_tools", "shims"), fw]


def command(runtime, tmp_path, cfg, scenario, arg=""):
    script = tmp_path / ("aio_%s.py" % runtime)
    script.write_text(SCRIPT % {"paths": _paths(runtime)})
    if runtime == "micropython":
        head = [runner.micropython(), "-X", "heapsize=" + HEAP]
    else:
        head = [sys.executable]
    return head + [str(script), cfg, scenario, arg]


def run(runtime, tmp_path, cfg, scenario, arg=""):
    proc = subprocess.run(
        command(runtime, tmp_path, cfg, scenario, arg), capture_output=True, text=True, timeout=120
    )
    res = Result(proc)
    assert "Traceback" not in res.out + res.err, res
    return res


def _token(tmp_path):
    with open(os.path.join(str(tmp_path), "state", "token.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return str(tmp_path_factory.mktemp("pki-aio"))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_application_task_keeps_running_through_a_whole_sign_in(pki, tmp_path, runtime):
    # approved 1.5 s after the code is issued, polls a second apart: >= 1.5 s of sign-in
    with DevAS(pki, port=0, auto_approve=1.5, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_post")
        res = run(runtime, tmp_path, cfg, "signin")
        stats = srv.stats()
    assert res.code == 0, res
    assert "Signed in." in res.lines
    # a 50 ms ticker over >= 1.5 s (30 wake-ups when idle; a blocking sign-in would have held it
    # the whole time): at least 5 on a loaded machine
    assert res["ticks"] >= 5, res
    assert stats["device_authorizations"] == 1 and stats["tls_handshakes"] == 1, stats
    print("%s: ticker's longest gap during the sign-in %d ms" % (runtime, res["longest_ms"]))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_sign_in_cancelled_once_the_code_is_shown_resumes_with_the_same_code(
    pki, tmp_path, runtime
):
    with DevAS(pki, port=0, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki)
        first = run(runtime, tmp_path, cfg, "cancel")
        pending = os.path.join(str(tmp_path), "state", "pending.json")
        kept = os.path.exists(pending)
        shown = first.lines[0]
        srv.approve(shown.split("enter code ")[1].strip())
        again = run(runtime, tmp_path, cfg, "signin")
        stats = srv.stats()
    assert first.code == 3 and first["cancelled"] == 1, first
    assert shown.startswith("To sign in, visit "), first
    assert (
        "Sign-in stopped: cancelled (a pending code resumes on the next start)." in first.lines
    ), first
    assert kept  # the device code stayed on flash
    assert again.code == 0, again
    assert again.lines[0] == shown  # the same code on the screen again
    assert "Signed in." in again.lines
    assert stats["device_authorizations"] == 1  # no new code was asked for
    assert not os.path.exists(pending)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_concurrent_callers_while_a_refresh_is_due_cause_one_refresh(pki, tmp_path, runtime):
    # tokens live 30 s: inside the 60 s refresh margin, so due at once
    with DevAS(
        pki, port=0, auto_approve=0.3, interval=1, quiet=True, access_token_lifetime=30
    ) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_basic")
        assert run_firmware(cfg).code == 0  # signed in with the blocking path
        old = _token(tmp_path)
        before = srv.stats()
        res = run(runtime, tmp_path, cfg, "concurrent", "4")
        after = srv.stats()
    assert res.code == 0, res
    assert res["distinct"] == 1  # all four got the same, new token
    assert res["token"] != old["access_token"] and res["token"] == _token(tmp_path)["access_token"]
    assert after["refreshes"] - before["refreshes"] == 1
    assert after["token_requests"] - before["token_requests"] == 1
    assert after["device_authorizations"] == before["device_authorizations"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_refresh_while_the_application_runs_never_holds_its_task(pki, tmp_path, runtime):
    # The refresh's reply reaches the firmware one byte every 50 ms (its first 16 bytes): the
    # ticker must keep ticking while the reply is read.
    with DevAS(
        pki, port=0, auto_approve=0.3, interval=1, quiet=True, access_token_lifetime=30
    ) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_basic")
        assert run_firmware(cfg).code == 0
        with FaultProxy(srv.port, Schedule(replies={0: ("drip", 16, 0.05)})) as proxy:
            cfg = write_config(tmp_path, proxy.base_url, srv.pki, "client_secret_basic")
            before = srv.stats()
            res = run(runtime, tmp_path, cfg, "post", proxy.base_url + API)
            after = srv.stats()
            faults = [ex.fault for ex in proxy.exchanges]
    assert res.code == 0, res
    assert res["status"] == 201, res
    body = json.loads(res["body"])
    assert body["received"] == {"t": 21.5, "place": "Zürich"}
    assert after["refreshes"] - before["refreshes"] == 1  # run() and the call: one refresh
    assert faults[0] == ("drip", 16, 0.05), faults
    assert res["ticks"] >= 3, res  # 16 x 50 ms of drip: a blocking read would tick 0 times


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_network_fault_mid_poll_backs_off_then_signs_in(pki, tmp_path, runtime):
    # exchange 0: the device authorization, 1: the first poll, 2: the second, reset; a request
    # on a kept-alive connection goes again once on a new one (3): reset too
    faults = {2: ("reset", 0), 3: ("reset", 0)}
    with DevAS(pki, port=0, auto_approve=2.5, interval=1, quiet=True) as srv:
        with FaultProxy(srv.port, Schedule(replies=faults)) as proxy:
            cfg = write_config(tmp_path, proxy.base_url, srv.pki, timeout=5)
            res = run(runtime, tmp_path, cfg, "signin")
            stats = srv.stats()
            faults = [ex.fault for ex in proxy.exchanges]
    assert res.code == 0, res
    assert faults[2:4] == [("reset", 0)] * 2, faults
    waits = [line for line in res.lines if line.startswith("Waiting 2 s: ")]
    assert len(waits) == 1, res  # the back-off: twice the interval
    assert res.lines.index(waits[0]) < res.lines.index("Signed in."), res
    assert stats["device_authorizations"] == 1  # the same code throughout
    assert res["ticks"] >= 8, res  # >= 2 s of back-off alone: 40 wake-ups when idle


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls_client_auth_signs_in_over_the_mtls_alias(pki, tmp_path, runtime):
    with DevAS(pki, port=0, auto_approve=0.3, interval=1, quiet=True, mtls_port=0) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            "tls_client_auth",
            issuer=srv.base_url,
            device_authorization_endpoint=None,
            token_endpoint=None,
        )
        res = run(runtime, tmp_path, cfg, "signin")
        stats = srv.stats()
    assert res.code == 0, res
    assert "Signed in." in res.lines
    assert stats["auth_methods"].get("tls_client_auth", 0) >= 2, stats  # authz and a poll


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("key, client_id, kid", [("jwt_rsa_key", "jwt-rsa-device", "rsa-1")])
def test_private_key_jwt_signs_every_request(pki, tmp_path, runtime, key, client_id, kid):
    with DevAS(pki, port=0, auto_approve=1.2, interval=1, quiet=True) as srv:
        cfg = write_config(
            tmp_path,
            srv.base_url,
            srv.pki,
            "private_key_jwt",
            client_id=client_id,
            private_key=srv.pki[key],
            private_key_id=kid,
        )
        res = run(runtime, tmp_path, cfg, "signin")
        stats = srv.stats()
    assert res.code == 0, res
    requests = stats["device_authorizations"] + stats["token_requests"]
    assert stats["auth_methods"] == {"private_key_jwt": requests}, stats
    # every request signed, each with a fresh jti (a reused one would be refused as a replay);
    # at least the device authorization and one poll (how many polls depends on timing)
    assert stats["replays_rejected"] == 0 and requests >= 2
    print("%s: ticker's longest gap with RS256 %d ms" % (runtime, res["longest_ms"]))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_api_call_refused_once_costs_one_refresh_and_goes_again(pki, tmp_path, runtime):
    with DevAS(pki, port=0, auto_approve=0.3, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_basic")
        assert run_firmware(cfg).code == 0
        old = _token(tmp_path)
        before = srv.stats()
        url = srv.base_url + API + "?fault=401-once&key=" + runtime
        res = run(runtime, tmp_path, cfg, "post", url)
        after = srv.stats()
        calls = list(srv.store.api.calls)
    assert res.code == 0 and res["status"] == 201, res
    assert json.loads(res["body"])["received"] == {"t": 21.5, "place": "Zürich"}
    assert after["refreshes"] - before["refreshes"] == 1
    assert _token(tmp_path)["access_token"] != old["access_token"]
    assert len(calls) == 2  # refused once (401-once), then taken


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_100_kb_api_body_streams_on_the_asyncio_api(pki, tmp_path, runtime):
    with DevAS(pki, port=0, auto_approve=0.3, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "client_secret_basic")
        assert run_firmware(cfg).code == 0
        res = run(runtime, tmp_path, cfg, "stream", srv.base_url + API + "?fault=big")
    big = bytes(range(256)) * 400
    assert res.code == 0 and res["status"] == 200, res
    assert res["streamed"] == "102400 %d" % (sum(big) % 65521)
    assert res["saved"] == 102400
    with open(cfg + ".big", "rb") as f:
        assert f.read() == big
    assert not os.path.exists(cfg + ".big.tmp")
