"""The asyncio API (devauth.aio) over the same protocol core as the blocking one: the same
requests, waits and screens; tasks beside it keep running; one refresh for many callers;
cancellation at every step, then a resume. Fakes only (no sockets, no real sleeping): a fake
clock, a scripted transport whose replies are awaited, an async sleep that moves the clock.
Runs on CPython (asyncio) and MicroPython (its asyncio)."""

import asyncio
import os

from devauth import aio
from devauth.errors import ClientRejected, ConfigError, NetworkError
from devauth.oauth import tokens
from devauth.oauth.session import Session
from fakes import AsyncTransport, Config, FakeClock, FakeTransport, Recorder
from mptest import raises, scratch

BASE = scratch("devauth-test-aio")
WALL = 1800000000
CODE = {
    "device_code": "DC-1",
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://as.example.com/as/user_authz.oauth2",
    "expires_in": 600,
    "interval": 5,
}
TOKEN = {"access_token": "AT-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "R"}
PENDING = (400, {"error": "authorization_pending"})
SLOW = (400, {"error": "slow_down"})
_n = [0]


def _yield():
    return aio.sleep_ms(0)


def _state():
    _n[0] += 1
    path = "%s-%d-%d" % (BASE, os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    for name in (tokens.TOKEN, tokens.PENDING, tokens.METADATA):
        tokens.delete(path, name)
    return path


def _auth(script, state=None, hook=None, wall=WALL, method="none", secret=None):
    clock = FakeClock(0, wall)
    cfg = Config(method, secret, scope="openid d\u00e9vice", state_dir=state or _state())
    cfg.client_id = "dev:ice+1"
    t = AsyncTransport(script, clock, hook)
    rec = Recorder()
    steps = []

    async def sleep(ms):  # the fake clock moves; the loop gets a turn
        steps.append(ms)
        clock.sleep_ms(ms)
        await _yield()

    auth = aio.Auth(cfg, ui=rec, clock=clock, transport=t, sleep=sleep)
    return auth, t, clock, rec


def _run(coro):
    return asyncio.run(coro)


def _store(state, expires_in, wall=WALL, access="AT-old"):
    old = {"access_token": access, "token_type": "Bearer", "expires_in": expires_in}
    old["refresh_token"] = "RT-old"
    from devauth.oauth.flow import parse_token

    tokens.write(state, tokens.TOKEN, tokens.record(parse_token(old), wall))


# -- the same protocol as the blocking driver -------------------------------------------------


def _blocking(script):
    clock = FakeClock(0, WALL)
    cfg = Config("none", None, scope="openid d\u00e9vice", state_dir=_state())
    cfg.client_id = "dev:ice+1"
    t = FakeTransport(script, clock)
    rec = Recorder()
    try:
        Session(cfg, t, clock, rec).sign_in()
    except Exception as e:  # compared with the asyncio one's
        rec.events.append(("raised", str(e)))
    return t, clock, rec


def _async(script):
    auth, t, clock, rec = _auth(script)

    async def main():
        try:
            await auth.ensure()
        except Exception as e:
            rec.events.append(("raised", str(e)))

    _run(main())
    return t, clock, rec


SCRIPTS = (
    [(200, CODE), PENDING, PENDING, (200, TOKEN)],
    [(200, CODE), SLOW, PENDING, SLOW, (200, TOKEN)],
    [NetworkError("cut"), (200, CODE), NetworkError("reset"), (503, b""), PENDING, (200, TOKEN)],
    [(200, CODE), PENDING, (400, {"error": "access_denied", "error_description": "no"})],
    [(200, CODE)] + [PENDING] * 200,  # until the code expires
)


def test_both_drivers_send_the_same_requests_wait_the_same_and_show_the_same():
    for script in SCRIPTS:
        bt, bc, br = _blocking(list(script))
        at, ac, ar = _async(list(script))
        assert [s[:3] for s in at.sent] == [s[:3] for s in bt.sent], script
        assert [s[3] for s in at.sent] == [s[3] for s in bt.sent]  # sent at the same times
        assert ac.sleeps == bc.sleeps and ac.now == bc.now
        assert ar.events == br.events, (ar.events, br.events)
    assert b"client_id=dev%3Aice%2B1" in at.sent[0][1]
    assert b"scope=openid+d%C3%A9vice" in at.sent[0][1]
    assert ar.events[-1] == ("raised", "the code expired before it was approved")


def test_a_ticker_task_runs_at_every_step_of_a_sign_in():
    auth, t, clock, rec = _auth([(200, CODE), PENDING, SLOW, (200, TOKEN)])
    seen = []  # the fake clock at each of the ticker's turns

    async def ticker():
        while True:
            seen.append(clock.now)
            await _yield()

    async def main():
        task = asyncio.create_task(ticker())
        code = await auth.run(once=True)
        task.cancel()
        return code

    assert _run(main()) == 0
    assert auth.session.stored()["access_token"] == "AT-1"
    # the ticker ran at every moment the sign-in waited or sent: never held for a poll interval
    for when in [s[3] for s in t.sent] + list(range(0, clock.now, 1000)):
        assert when in seen, when
    assert rec.kinds("signed_in") and rec.kinds("show_code")


def test_many_callers_while_a_refresh_is_due_cause_one_refresh():
    state = _state()
    _store(state, 30)  # within the refresh margin
    gate = asyncio.Event()
    waiting = []

    async def hold(n):  # the refresh reply waits until every caller is waiting
        waiting.append(n)
        await gate.wait()

    auth, t, _, _ = _auth([(200, TOKEN)], state, hold)

    async def main():
        tasks = [asyncio.create_task(auth.access_token()) for _ in range(5)]
        while not waiting:
            await _yield()
        for _ in range(10):
            await _yield()  # every caller reaches the flight
        gate.set()
        out = []
        for x in tasks:  # (MicroPython: no await in a comprehension)
            out.append(await x)
        return out

    assert _run(main()) == ["AT-1"] * 5
    assert len(t.sent) == 1 and b"grant_type=refresh_token" in t.sent[0][1]


def test_a_failed_refresh_is_reported_to_every_caller_the_same_way():
    state = _state()
    _store(state, 30)
    gate = asyncio.Event()
    auth, t, _, rec = _auth([(401, {"error": "invalid_client"})], state, lambda n: gate.wait())

    async def one():
        try:
            await auth.access_token()
        except ClientRejected as e:
            return str(e)

    async def main():
        tasks = [asyncio.create_task(one()) for _ in range(3)]
        for _ in range(10):
            await _yield()
        gate.set()
        out = []
        for x in tasks:  # (MicroPython: no await in a comprehension)
            out.append(await x)
        return out

    assert _run(main()) == ["refresh: invalid_client"] * 3
    assert len(t.sent) == 1


def test_invalid_grant_on_refresh_starts_a_device_sign_in():
    state = _state()
    _store(state, 30)
    script = [(400, {"error": "invalid_grant"}), (200, CODE), PENDING, (200, TOKEN)]
    auth, t, _, rec = _auth(script, state)
    assert _run(auth.access_token()) == "AT-1"
    assert len(t.sent) == 4 and rec.kinds("show_code")
    assert "Sign-in expired (invalid_grant): signing in again." in rec.lines


def test_a_token_refused_by_an_api_is_refreshed_once_for_all_callers():
    state = _state()
    _store(state, 3600, access="AT-old")
    auth, t, _, _ = _auth([(200, TOKEN)], state)

    async def main():
        a = asyncio.create_task(auth.ensure("AT-old"))
        b = asyncio.create_task(auth.ensure("AT-old"))
        return (await a)["access_token"], (await b)["access_token"]

    assert _run(main()) == ("AT-1", "AT-1")
    assert len(t.sent) == 1


def _steps():
    """The awaits of a sign-in: requests 0..3 and the waits between them."""
    return [(200, CODE), PENDING, PENDING, (200, TOKEN)]


def test_cancelled_at_every_step_a_restart_resumes_the_same_code():
    for k in range(4):  # cancel while request k is under way
        state = _state()
        reached = asyncio.Event()

        async def at(n, k=k, reached=reached):
            if n == k:  # request k is under way: it never ends, the task is cancelled there
                reached.set()
                await asyncio.Event().wait()

        auth, t, _, rec = _auth(_steps(), state, at)

        async def main(auth=auth, reached=reached):
            task = asyncio.create_task(auth.run())
            await reached.wait()
            auth.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"

        assert _run(main()) == "cancelled", k
        assert t.closed == 1, k
        assert rec.kinds("status")[-1] == ("status", "Stopped"), k
        assert rec.lines[-1].startswith("Sign-in stopped: cancelled"), k
        names = os.listdir(state) if k else []
        assert not [n for n in names if n.endswith(".tmp")], names
        pending = tokens.read(state, tokens.PENDING)
        assert (pending is not None) == (k >= 1), k  # the code is kept once it was shown
        # the next start: resumes the same code (no new device authorization request)
        rest = _steps()[1:] if k else _steps()
        auth2, t2, _, rec2 = _auth(rest, state)
        assert _run(auth2.run(once=True)) == 0, k
        assert rec2.kinds("show_code") == [("show_code", "WDJB-MJHT")], k
        assert (b"grant_type=urn" in t2.sent[0][1]) == (k >= 1), k
        assert tokens.read(state, tokens.PENDING) is None


def test_cancel_while_waiting_between_polls_keeps_the_code():
    state = _state()
    auth, t, clock, rec = _auth(_steps(), state)

    async def main():
        task = asyncio.create_task(auth.run())
        while not rec.kinds("tick"):
            await _yield()
        auth.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return len(t.sent)

    assert _run(main()) == 1  # only the device authorization request was sent
    assert tokens.read(state, tokens.PENDING)["user_code"] == "WDJB-MJHT"


def test_a_denied_sign_in_ends_run_once_with_exit_code_3_and_one_line():
    auth, t, _, rec = _auth([(200, CODE), (400, {"error": "access_denied"})])
    assert _run(auth.run(once=True)) == 3
    assert rec.kinds("failed") == [("failed", "AccessDenied", "token endpoint: access_denied")]


def test_the_asyncio_api_refuses_urequests_in_one_line():
    from devauth import app

    cfg = Config("none", None, state_dir=_state())
    cfg.http_client = "urequests"
    e = raises(ConfigError, app.make_transport, cfg, Recorder(), None, True)
    assert str(e) == "http_client: urequests has no asyncio client; use builtin"


META = {
    "issuer": "https://as.example.com",
    "device_authorization_endpoint": "https://as.example.com/as/device_authz.oauth2",
    "token_endpoint": "https://as.example.com/as/token.oauth2",
    "revocation_endpoint": "https://as.example.com/as/revoke_token.oauth2",
}


class AsyncGetter(AsyncTransport):
    async def get(self, url):
        return await self.post_form(url, None)


def test_discovery_then_sign_in_then_sign_out_on_asyncio():
    clock = FakeClock(0, WALL)
    cfg = Config("client_secret_post", "s3cr:t/+&=% \u00e9", state_dir=_state())
    cfg.issuer = "https://as.example.com"
    cfg.device_authorization_endpoint = cfg.token_endpoint = cfg.revocation_endpoint = None
    script = [(200, META), (200, CODE), PENDING, (200, TOKEN), (200, b""), (200, b"")]
    t = AsyncGetter(script, clock)

    async def sleep(ms):
        clock.sleep_ms(ms)
        await _yield()

    auth = aio.Auth(cfg, ui=Recorder(), clock=clock, transport=t, sleep=sleep)

    async def main():
        token = await auth.access_token()
        await auth.sign_out()
        return token

    assert _run(main()) == "AT-1"
    urls = [s[0] for s in t.sent]
    assert urls[0] == "https://as.example.com/.well-known/openid-configuration"
    assert urls[1:4] == [META["device_authorization_endpoint"]] + [META["token_endpoint"]] * 2
    assert urls[4:] == [META["revocation_endpoint"]] * 2  # refresh token, then access token
    assert b"client_secret=s3cr%3At%2F%2B%26%3D%25+%C3%A9" in t.sent[4][1]
    assert b"token=R&token_type_hint=refresh_token" in t.sent[4][1]
    assert tokens.load_token(cfg.state_dir) is None
    assert tokens.read(cfg.state_dir, tokens.METADATA)["issuer"] == META["issuer"]  # cached


def test_run_once_exits_as_devauth_run_does_expired_4_config_2():
    auth, t, _, rec = _auth([(200, CODE)] + [PENDING] * 200)
    assert _run(auth.run(once=True)) == 4
    assert rec.kinds("failed")[-1][1] == "ExpiredToken"
    bad = aio.Auth(scratch("devauth-no-such-config.json"), ui=Recorder(), transport=t)
    assert _run(bad.run(once=True)) == 2  # the config file cannot be read: one line, exit 2
