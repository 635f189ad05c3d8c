"""The asyncio API: the application owns the loop, devauth signs in and keeps the token fresh
beside the application's own tasks.

    auth = devauth.aio.Auth("/devauth.json", display)
    asyncio.create_task(auth.run())        # sign in (screens, polling), then keep it fresh
    token = await auth.access_token()      # waits for the sign-in; always a valid token
    r = await auth.request("POST", url, json={"t": 21.5})   # the API call, with the token
    await auth.sign_out()

The same config file, display, observer, rules and exit codes as `devauth.app.run`: the OAuth
logic is the protocol core's generators (devauth.oauth.steps), driven here by `drive`, which
awaits the asyncio HTTPS client (devauth.net.ahttp) and `asyncio.sleep_ms` where the blocking
driver blocks. The loop is held only for CPU work: a TLS handshake's arithmetic, a JWT
signature, parsing a reply.

- One refresh at a time: every task asking for a token while a refresh or a sign-in is under
  way waits for that one (single flight) and gets its token or its error.
- Cancelling `run()` (or `auth.cancel()`) at any await closes the connection, keeps the pending
  device code on flash (the next start resumes it) and says so on the screen in one line;
  files are written whole between awaits, never half.
"""

import asyncio

from devauth import app, unload
from devauth import clock as _clock
from devauth.errors import DevauthError, ExpiredToken
from devauth.oauth.steps import ENSURE, SLEEP


def _sleep_s(ms):  # CPython's asyncio has no sleep_ms
    return asyncio.sleep(ms / 1000)


sleep_ms = getattr(asyncio, "sleep_ms", None) or _sleep_s


CancelledError = asyncio.CancelledError


async def drive(steps, transport, ensure=None, sleep=sleep_ms):
    """Drive the generator `steps` (devauth.oauth.steps) on asyncio -> its return value.

    Whatever ends the drive (the end, an error, a cancellation) closes `steps`: its `finally`
    clauses run, and a step under way is abandoned."""
    value = error = None
    try:
        while True:
            try:
                step = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as e:
                return e.value
            value = error = None
            try:
                if step[0] == SLEEP:
                    await sleep(step[1])
                elif step[0] == ENSURE and ensure is not None:
                    value = await ensure(step[1])
                else:
                    value = await getattr(transport, step[0])(*step[1])
            except Exception as e:  # raised inside the generator (CancelledError is not one)
                error = e
    finally:
        steps.close()


class _Flight:
    """A refresh or sign-in under way; every task that asks meanwhile waits on `done`."""

    def __init__(self):
        self.done = asyncio.Event()
        self.rec = {}  # the token record, once the flight succeeded
        self.error = None  # type: BaseException | None


class Auth:
    """Sign in per `config` (the config file's path, or a loaded devauth.config.Config) and keep
    the token fresh, on asyncio. `transport` and `sleep` (an async sleep in ms) are for tests:
    by default the asyncio HTTPS client the config asks for, and asyncio's sleep."""

    def __init__(
        self,
        config,
        display=None,
        ui=None,
        clock=_clock,
        width=128,
        height=64,
        request_deadline_ms=None,
        transport=None,
        sleep=sleep_ms,
    ):
        if ui is None:
            from devauth.oled.ui import UI

            ui = UI(display, width, height)
        self.ui = ui
        self.clock = clock
        self.config = config
        self.deadline_ms = request_deadline_ms
        self.transport = transport
        self.sleep = sleep
        self.session = None  # made on first use: the config is loaded then
        self._discovered = False
        self._flight = None
        self._task = None  # the task running run(), for cancel()

    # -- the application's API -------------------------------------------------------------

    async def run(self, once=False):
        """Sign in, then refresh the token before it expires, until cancelled. Every failure is
        one console line and a screen, then a pause (30 s, doubling to 10 min) and another try.
        With `once`: returns `devauth run --once`'s exit code when the sign-in ends."""
        ui = self.ui
        self._task = asyncio.current_task()
        pause = app.RETRY_PAUSE
        announced = False
        ui.status("devauth", "Starting...")
        try:
            while True:
                try:
                    rec = await self.ensure()
                    if not announced:
                        ui.signed_in(rec)
                        announced = True
                    if once:
                        return 0
                    pause = app.RETRY_PAUSE
                    await self.sleep(self._session().due_in(rec) * 1000)
                    continue
                except ExpiredToken as e:
                    if once:
                        return app.failure(ui, e)
                    ui.failed(e)  # a new code follows
                    continue
                except Exception as e:
                    code = app.failure(ui, e)
                    announced = False
                if once:
                    return code
                await self.sleep(pause * 1000)
                pause = min(app.MAX_PAUSE, pause * 2)
        except CancelledError:
            self.close()
            ui.status("Stopped", "Sign-in cancelled")
            ui.say("Sign-in stopped: cancelled (a pending code resumes on the next start).")
            raise
        finally:
            self._task = None

    def cancel(self):
        """Stop `run()`: the same as cancelling its task."""
        if self._task is not None:
            self._task.cancel()

    async def access_token(self):
        """A valid access token (str); waits for the sign-in or the refresh under way."""
        return (await self.ensure())["access_token"]

    async def request(self, method, url, **kw):
        """The application's API call with the token (devauth.oauth.api: json=, data=, body=,
        headers=, stream=) -> a reply with status, headers, content, text, json(); with
        `stream=True`, `await r.readinto(buf)`, `await r.save(path, buf)`, `await r.close()`."""
        from devauth.oauth import api

        session = self._session()
        steps = api.request_steps(session, method, url, **kw)
        return await drive(steps, session.transport, self.ensure, self.sleep)

    async def sign_out(self):
        """Revoke the tokens (RFC 7009) where the server can; delete them."""
        session = self._session()
        await drive(session.sign_out_steps(), session.transport, None, self.sleep)

    def close(self):
        """Close the connection (the next request opens a new one)."""
        if self.session is not None:
            self.session.transport.close()

    # -- one refresh at a time -------------------------------------------------------------

    async def ensure(self, refused=None):
        """The valid token record: stored, refreshed or from a sign-in, one at a time for every
        task asking (`refused`: a token an API refused, see Session.ensure_steps)."""
        while True:
            flight = self._flight
            if flight is not None:
                await flight.done.wait()
                if flight.error is not None:
                    if isinstance(flight.error, ExpiredToken) and self._task is not None:
                        continue  # run() shows a new code: wait for that sign-in
                    raise flight.error
                if refused is None or flight.rec["access_token"] != refused:
                    return flight.rec
                continue
            session = self._session()
            rec = session.fresh(refused)
            if rec is not None:
                return rec
            return await self._fly(session, refused)

    async def _fly(self, session, refused):
        flight = self._flight = _Flight()
        try:
            if not self._discovered:
                await self._discover(session)
            steps = session.ensure_steps(refused)
            flight.rec = await drive(steps, session.transport, self.ensure, self.sleep)
            return flight.rec
        except CancelledError:
            flight.error = DevauthError("the sign-in was cancelled", "Cancelled")
            raise
        except Exception as e:
            app.forget_endpoints(session.config, e)
            self._discovered = False
            flight.error = e
            raise
        finally:
            self._flight = None
            flight.done.set()

    def _session(self):
        if self.session is None:
            from devauth.oauth.session import Session

            cfg = self.config
            if isinstance(cfg, str):
                cfg = app.load_config(cfg)
            transport = self.transport
            if transport is None:
                transport = app.make_transport(cfg, self.ui, self.deadline_ms, aio=True)
            self.session = Session(cfg, transport, self.clock, self.ui)
        return self.session

    async def _discover(self, session):
        cfg = session.config
        if cfg.issuer:
            from devauth.oauth import discovery

            try:
                await drive(discovery.configure_steps(cfg, self.ui.say), session.transport)
            except DevauthError:
                discovery.forget(cfg)
                raise
            finally:
                unload("devauth.oauth.discovery")
        self._discovered = True
