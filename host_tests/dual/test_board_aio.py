"""devauth.board.aioglue: an application.py with `async def main(auth)` owns the loop on a board
(dual test). The real board glue on fake hardware (boardfakes), the real devauth.aio.Auth over a
fake authorization server (an awaited transport), and asyncio sleeps on the board's fake clock
(VirtualTime): no real time passes, the same verdict every run.
"""

from devauth import aio, unload
from devauth.board import aioglue
from devauth.board import glue as board
from devauth.oauth import tokens
from fakes import AsyncTransport
from mptest import raises
from test_board import DIR, PASSWORD, PING, Rig, _config

CLIENT_ID = "dev:ice+1"
SCOPE = "openid d\u00e9vice"
REVOKE = "http://as.example.com/as/revoke_token.oauth2"


class VirtualTime:
    """asyncio sleeps on the board's fake clock: the earliest sleeper moves the clock to its
    wake-up time, the others wait for theirs (each wait gives the loop a turn)."""

    def __init__(self, clock, limit=900000):
        self.clock = clock
        self.due = []
        self.limit = limit  # a board that should have stopped before: the test fails, not hangs

    async def sleep(self, ms):
        c = self.clock
        if c.now >= self.limit:
            raise AssertionError("the board ran past %d ms of its clock" % self.limit)
        at = c.now + ms
        self.due.append(at)
        try:
            while c.now < at:
                if at == min(self.due):
                    c.now = at
                await aio.sleep_ms(0)
        finally:
            self.due.remove(at)


class Server(AsyncTransport):
    """The authorization server, by URL: each device authorization hands out the next code
    (device codes DC-1, DC-2, ...), a poll is pending until its code is in `approved`, a
    revocation is taken. `feeds` holds the watchdog's feed count at each request."""

    def __init__(self, rig, approved=("DC-1",), approve_at=0):
        AsyncTransport.__init__(self, [], rig.wall)
        self.rig = rig
        self.approved = list(approved)
        self.approve_at = approve_at  # the clock time at which the person approves
        self.codes = 0
        self.feeds = []

    async def post_form(self, url, body, headers=()):
        wdts = self.rig.machine.wdts
        self.feeds.append(wdts[0].feeds if wdts else None)
        if url.endswith("device_authz.oauth2"):
            self.codes += 1
            n = self.codes
            code = dict(PING, device_code="DC-%d" % n, user_code="CODE-%04d" % n)
            self.script.append((200, code))
        elif url == REVOKE:
            self.script.append((200, b""))
        else:
            done = [c for c in self.approved if ("device_code=" + c).encode() in body]
            token = {"access_token": "at-SECRET-%d" % self.codes, "token_type": "Bearer"}
            token["expires_in"] = 3600
            token["refresh_token"] = "rt-SECRET"
            if done and self.clock.now >= self.approve_at:
                self.script.append((200, token))
            else:
                self.script.append((400, {"error": "authorization_pending"}))
        return await AsyncTransport.post_form(self, url, body, headers)

    def urls(self):
        return [s[0].rsplit("/", 1)[1] for s in self.sent]


class Application:
    """application.py with `async def main(auth)`: each call is recorded (the clock, the token);
    the i-th of `behaviours` (coroutine functions of auth) runs instead of the i-th call's
    default (await a token), when given."""

    def __init__(self, rig, *behaviours):
        self.rig = rig
        self.behaviours = list(behaviours)
        self.tokens = []
        self.calls = []
        self.auth = None
        _current[0] = self
        self.main = _main  # a module-level function, as in application.py (no closure)

    async def run(self, auth):
        self.auth = auth
        self.calls.append(self.rig.wall.now)
        if self.behaviours:
            return await self.behaviours.pop(0)(auth)
        self.tokens.append(await auth.access_token())


_current = [None]


async def _main(auth):
    return await _current[0].run(auth)


def _rig(approved=("DC-1",), wifi=("ok",), approve_at=0, drops=(), **config):
    cfg = {"client_id": CLIENT_ID, "scope": SCOPE}
    cfg.update(config)
    rig = Rig(wifi=wifi, drops=drops, config=_config(**cfg))
    tokens.delete(DIR + "/state", tokens.TOKEN)
    tokens.delete(DIR + "/state", tokens.PENDING)
    rig.server = Server(rig, approved, approve_at)
    rig.time = VirtualTime(rig.wall)
    return rig


def _boot(rig, application, once=True):
    rig.application = application
    opts = {"config": rig.config, "once": once}
    return rig.board.boot(
        opts,
        display=object(),
        run=_no_blocking_run,
        ui_factory=lambda d, w, h: rig.ui,
        application=application,
        transport=rig.server,
        sleep=rig.time.sleep,
    )


def _no_blocking_run(*args, **kw):
    raise AssertionError("the blocking app.run ran for an async main")


class Enough(Exception):
    """Ends a board run that never returns (once=False) at a given time."""


def _until(rig, ms):
    service = rig.board.service

    def stop_at(link=True):
        if rig.wall.now >= ms:
            raise Enough()
        service(link)

    rig.board.service = stop_at


def _no_secret(rig):
    everything = repr(rig.ui.screens) + repr(rig.lines)
    assert PASSWORD not in everything and "SECRET" not in everything
    assert "DC-1" not in everything


# -- which path ---------------------------------------------------------------------------------


def test_only_a_coroutine_function_named_main_takes_the_asyncio_path():
    class A:
        pass

    async def main(auth):
        pass

    def plain(config, url=None, count=None, period=60):  # examples/post_readings.py's main
        pass

    a = A()
    assert board.async_main(a) is None
    a.main = plain
    assert board.async_main(a) is None
    a.main = main
    assert board.async_main(a) is main
    a.main = "main"
    assert board.async_main(a) is None


def test_an_application_with_a_plain_main_keeps_the_blocking_path():
    class PostReadings:  # examples/post_readings.py: main() for the unix port, hooks for a board
        def __init__(self):
            self.signed_in = 0

        def main(self, config, url=None, count=None, period=60):
            raise AssertionError("not for the board")

        def on_signed_in(self, session, record):
            self.signed_in += 1

    app = PostReadings()
    rig = Rig(application=app)
    assert rig.boot() == 0
    assert rig.app.runs == 1 and app.signed_in == 1


# -- the asyncio path ---------------------------------------------------------------------------


def test_an_async_main_gets_a_signed_in_auth_with_the_board_screens_and_led():
    rig = _rig()
    app = Application(rig)
    assert _boot(rig, app) == 0
    assert app.tokens == ["at-SECRET-1"]
    assert app.auth.deadline_ms == 45000  # 3/4 of the watchdog's 60 s, as on the blocking path
    assert b"client_id=dev%3Aice%2B1" in rig.server.sent[0][1]
    assert b"scope=openid+d%C3%A9vice" in rig.server.sent[0][1]
    # after Wi-Fi and the clock (as on the blocking path), the BoardUI's screens and lines
    kinds = rig.ui.kinds()
    assert kinds[:3] == ["status:devauth", "status:Wi-Fi", "status:Clock"]
    assert kinds[3:] == ["status:devauth", "requesting", "code", "signed_in"]
    assert rig.lines[-2:] == [
        "To sign in, visit %s and enter code CODE-0001" % PING["verification_uri"],
        "Signed in.",
    ]
    sets = [e[2] for e in rig.machine.log if e[:2] == ("set", 25)]
    assert sets[:4] == [1, 0, 1, 0] and sets[-1] == 1  # blinking with the code, then on
    _no_secret(rig)


def test_the_watchdog_is_fed_every_service_while_the_sign_in_polls():
    rig = _rig(approve_at=40000)
    app = Application(rig)
    assert _boot(rig, app) == 0 and app.tokens == ["at-SECRET-1"]
    polls = [i for i, u in enumerate(rig.server.urls()) if u == "token.oauth2"]
    assert len(polls) >= 5
    feeds = rig.server.feeds
    for a, b in zip(polls, polls[1:]):  # 5 s between polls: a feed every 100 ms in between
        assert feeds[b] - feeds[a] >= 5000 // aioglue.SERVICE_MS - 1, feeds
    assert rig.machine.wdts[0].longest <= aioglue.SERVICE_MS


def test_a_long_press_while_polling_starts_a_new_sign_in():
    rig = _rig(approved=("DC-2",))
    rig.machine.presses = [(9000, 13000)]
    app = Application(rig)
    assert _boot(rig, app) == 0
    assert "Button: held, starting a new sign-in." in rig.lines
    assert ("status", "New sign-in", "Forgetting the old one...") in rig.ui.screens
    assert [s[1] for s in rig.ui.screens if s[0] == "code"] == ["CODE-0001", "CODE-0002"]
    assert app.tokens == ["at-SECRET-2"] and len(app.calls) == 2  # main called again
    assert tokens.read(DIR + "/state", tokens.PENDING) is None
    # the first sign-in stopped polling at the press (held 2 s: at 11 s)
    first = [s[3] for s in rig.server.sent if b"device_code=DC-1" in s[1]]
    assert first and max(first) < 11100
    _no_secret(rig)


def test_a_long_press_when_signed_in_revokes_the_token_then_signs_in_again():
    rig = _rig(approved=("DC-1", "DC-2"), revocation_endpoint=REVOKE)
    rig.machine.presses = [(30000, 33000)]

    async def use_then_wait(auth):  # signed in, then busy until the press cancels it
        await auth.access_token()
        await rig.time.sleep(60000)

    app = Application(rig, use_then_wait)
    assert _boot(rig, app) == 0
    assert rig.server.urls().count("revoke_token.oauth2") == 2  # refresh and access token
    assert [s[1] for s in rig.ui.screens if s[0] == "code"] == ["CODE-0001", "CODE-0002"]
    assert app.tokens == ["at-SECRET-2"] and len(app.calls) == 2
    _no_secret(rig)


def test_a_wifi_drop_while_polling_is_rejoined_and_the_code_drawn_again():
    rig = _rig(wifi=("ok", "timeout", "ok"), drops=(13000,), approve_at=60000)
    app = Application(rig)
    assert _boot(rig, app) == 0 and app.tokens == ["at-SECRET-1"]
    assert "Wi-Fi: lost the connection to HomeNet; reconnecting" in rig.lines
    kinds = rig.ui.kinds()
    first = kinds.index("code")
    assert kinds[first + 1 : first + 5] == [
        "status:Wi-Fi",
        "status:Wi-Fi error",
        "status:Wi-Fi",
        "code",
    ]
    # no poll while the link was down (the rejoin holds the loop, as it holds app.run)
    sent = [s[3] for s in rig.server.sent]
    lost, back = rig.wlan.connects[1][0], rig.wlan.connects[2][0] + 500
    assert not [t for t in sent if lost <= t < back], (sent, lost, back)
    assert rig.machine.wdts[0].longest <= aioglue.SERVICE_MS


def test_a_button_held_before_the_sign_in_restarts_nothing():
    rig = _rig(wifi=("timeout", "ok"))
    rig.machine.presses = [(3000, 6000)]  # while Wi-Fi is joined
    app = Application(rig)
    assert _boot(rig, app) == 0
    assert app.tokens == ["at-SECRET-1"] and rig.server.codes == 1
    assert "Button: held, but there is no sign-in to restart yet" in rig.lines


def test_a_failing_main_is_one_line_and_is_called_again_after_a_pause():
    rig = _rig()

    async def broken(auth):
        await auth.access_token()
        raise RuntimeError("application bug")

    app = Application(rig, broken)
    _until(rig, 60000)
    raises(Enough, _boot, rig, app, False)
    errors = [line for line in rig.lines if "Error" in line or "error" in line]
    assert errors == ["Application error: RuntimeError application bug"]
    assert len(app.calls) == 2 and app.calls[1] - app.calls[0] >= 30000
    assert app.tokens == ["at-SECRET-1"]  # the second call got the token, still signed in
    assert rig.server.codes == 1
    _no_secret(rig)


def test_the_blocking_path_loads_neither_the_asyncio_glue_nor_devauth_aio():
    import sys

    names = ("devauth.board.aioglue", "devauth.aio", "devauth.board.glue")
    saved = [sys.modules.get(name) for name in names]
    try:
        unload(*names)
        __import__("devauth.board.glue")
        assert "devauth.aio" not in sys.modules
        rig = Rig()
        assert rig.boot() == 0
        assert "devauth.board.aioglue" not in sys.modules and "devauth.aio" not in sys.modules
    finally:  # the other tests' modules back, so that their classes stay the same
        for name, mod in zip(names, saved):
            unload(name)
            if mod is not None:
                sys.modules[name] = mod
                pkg, _, attr = name.rpartition(".")
                setattr(sys.modules[pkg], attr, mod)
