"""Staying signed in: the API application code uses, and what `app.run` drives.

    session = Session(config, transport, clock, ui)
    token = session.access_token()   # a valid access token: stored, refreshed, or a new sign-in
    r = session.request("POST", url, json={...})  # the application's API, with the token
    session.sign_out()               # RFC 7009 revocation, then the stored tokens are deleted

Stored tokens live in config.state_dir (devauth.oauth.tokens). An access token within
`REFRESH_MARGIN` seconds of expiry is refreshed with the refresh token (RFC 6749 §6), keeping a
rotated refresh token when the server sends one; `invalid_grant` on refresh starts a new device
sign-in. A device code being polled is stored too, so a reboot resumes polling with the same
code on screen.

The rules are the `*_steps` generators (devauth.oauth.steps): `ensure`, `refresh`, `sign_in`,
`sign_out` and `request` run them with blocking calls; devauth.aio runs the same ones on asyncio.
"""

from devauth.errors import DevauthError, OAuthError
from devauth.oauth import auth, tokens
from devauth.oauth.flow import MAX_BACKOFF, result
from devauth.oauth.steps import SLEEP, run

REFRESH_MARGIN = 60  # seconds before expiry at which the access token is refreshed


class Session:
    def __init__(self, config, transport, clock, ui):
        self.config = config
        self.transport = transport
        self.clock = clock
        self.ui = ui

    def _now(self):
        return self.clock.unix_time()

    # -- the API ---------------------------------------------------------------------------

    def stored(self):
        """The stored token record (dict) or None. Never printed: it holds the tokens."""
        return tokens.load_token(self.config.state_dir, self.ui.say)

    def valid(self, rec, margin=REFRESH_MARGIN):
        """Whether `rec` can be used for `margin` more seconds (unknown expiry counts as valid)."""
        if rec is None:
            return False
        exp, now = rec.get("expires_at"), self._now()
        return exp is None or now is None or now + margin < exp

    def seconds_left(self, rec):
        """Seconds until the access token in `rec` expires, or None when unknown."""
        exp, now = rec.get("expires_at"), self._now()
        return None if exp is None or now is None else exp - now

    def due_in(self, rec):
        """Seconds until `rec` is due for refresh (at least 30; an hour when its expiry is
        unknown): how long a driver sleeps before asking `ensure` again."""
        left = self.seconds_left(rec)
        return 3600 if left is None else max(30, left - REFRESH_MARGIN)

    def access_token(self):
        """A valid access token (str): stored, refreshed, or from a new device sign-in."""
        return self.ensure()["access_token"]

    def request(self, *args, **kw):
        """Call the application's API with the access token (RFC 6750 §2.1):
        request(method, url, json=None, data=None, body=None, headers=None, stream=False) -> a
        reply with `status`, `headers`, `content`, `text`, `json()`. The token is refreshed first
        when due, and once more on a 401. The code is devauth.oauth.api, imported on first use."""
        from devauth.oauth import api

        return self._run(api.request_steps(self, *args, **kw))

    def ensure(self, refused=None):
        return self._run(self.ensure_steps(refused))

    def fresh(self, refused=None):
        """The stored record when it needs no refresh (see `ensure_steps`), else None."""
        rec = self.stored()
        return rec if self._usable(rec, refused) else None

    def _usable(self, rec, refused):
        return self.valid(rec) and (refused is None or rec["access_token"] != refused)

    def ensure_steps(self, refused=None):
        """The token record, refreshing or signing in as needed. `refused`: an access token a
        resource server refused (401); it is refreshed even if its expiry says it is valid,
        unless the stored token is already another one."""
        rec = self.stored()
        if self._usable(rec, refused):
            return rec
        if rec is not None and rec.get("refresh_token"):
            try:
                return (yield from self._retrying(self.refresh_steps, rec))
            except OAuthError as e:
                if e.error != "invalid_grant":
                    raise
                self.ui.say("Sign-in expired (%s): signing in again." % e.error)
                tokens.delete(self.config.state_dir, tokens.TOKEN)
        return (yield from self.sign_in_steps())

    def refresh(self, rec):
        return self._run(self.refresh_steps(rec))

    def refresh_steps(self, rec):
        """RFC 6749 §6: a new access token from the refresh token; the record is saved."""
        from devauth.oauth.flow import parse_token, result

        form = [("grant_type", "refresh_token"), ("refresh_token", rec["refresh_token"])]
        form.extend(self.config.token_params)  # e.g. Entra v1's resource
        resp = yield auth.post_step(self.config, self.config.token_endpoint, form, self._now())
        token = parse_token(result(resp, "refresh"))  # GitHub: errors with HTTP 200, forms
        if token.refresh_token is None:  # no rotation: the old refresh token stays valid
            token.refresh_token = rec["refresh_token"]
        new = tokens.record(token, self._now())
        tokens.write(self.config.state_dir, tokens.TOKEN, new)
        return new

    def sign_in(self):
        return self._run(self.sign_in_steps())

    def sign_in_steps(self):
        """A device sign-in (resuming a stored pending code if one is still valid)."""
        from devauth.oauth.flow import DeviceFlow

        flow = DeviceFlow(self.config, self.transport, self.clock, self.ui)
        state = self.config.state_dir
        code = self._resume()
        if code is None:
            self.ui.requesting()
            code = yield from self._retrying(flow.request_code_steps)
            now = self._now()
            if now is not None:  # without a wall clock a pending code cannot be resumed
                tokens.write(state, tokens.PENDING, _pending(code, now))
        self.ui.show_code(code)
        try:
            token = yield from flow.poll_steps(code)
        except OAuthError:
            # The server ended this code: denied, expired, or refused it (invalid_grant,
            # invalid_request: e.g. spent on a token reply that was lost). Resuming it after a
            # restart would only show a dead code until it expires.
            tokens.delete(state, tokens.PENDING)
            raise
        rec = tokens.record(token, self._now())
        tokens.write(state, tokens.TOKEN, rec)
        tokens.delete(state, tokens.PENDING)
        return rec

    def sign_out(self):
        return self._run(self.sign_out_steps())

    def sign_out_steps(self):
        """Revoke the tokens (RFC 7009) where the server has a revocation endpoint; delete them.

        The stored tokens are deleted even when revocation fails (the error is raised after).
        """
        rec = self.stored()
        state = self.config.state_dir
        error = None
        url = self.config.revocation_endpoint
        if rec is not None and url:
            for name in ("refresh_token", "access_token"):
                if not rec.get(name):
                    continue
                form = [("token", rec[name]), ("token_type_hint", name)]
                try:
                    resp = yield auth.post_step(self.config, url, form, self._now())
                    if resp.status != 200:  # RFC 7009 §2.2: 200 whether or not it was valid
                        result(resp, "revocation")  # raises what the reply says
                except DevauthError as e:
                    error = error or e
        tokens.delete(state, tokens.TOKEN)
        tokens.delete(state, tokens.PENDING)
        if error:
            raise error

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, steps):
        """Run `steps` with blocking calls; a token the steps need comes from `ensure`."""
        return run(steps, self.transport, self.clock, self.ensure)

    def _retrying(self, steps, *args):
        """steps(*args), tried up to 4 times while the network or the server fails (2, 4, 8 s)."""
        pause = 2
        attempts = 4
        for attempt in range(attempts):
            try:
                return (yield from steps(*args))
            except DevauthError as e:
                if not e.retry or attempt == attempts - 1:
                    raise
                # Retry-After is honoured up to the poll loop's ceiling: a server saying
                # 999999 must not freeze the device for days.
                wait = min(MAX_BACKOFF, max(pause, e.retry_after or 0))
                self.ui.retrying(e.short + ": " + str(e), wait)
                yield (SLEEP, wait * 1000)
                pause *= 2

    def _resume(self):
        """The stored pending device code with the time it has left, or None."""
        from devauth.oauth.flow import parse_device_code

        p = tokens.read(self.config.state_dir, tokens.PENDING, self.ui.say)
        now = self._now()
        if p is None or now is None:  # the fields' types were checked on reading
            return None
        left = p["expires_at"] - now
        if left <= p["interval"]:
            tokens.delete(self.config.state_dir, tokens.PENDING)
            return None
        p["expires_in"] = left
        try:
            return parse_device_code(p, self.config.allow_insecure_http)
        except DevauthError:
            tokens.delete(self.config.state_dir, tokens.PENDING)
            return None


def _pending(code, now):
    return {
        "device_code": code.device_code,
        "user_code": code.user_code,
        "verification_uri": code.verification_uri,
        "verification_uri_complete": code.verification_uri_complete,
        "interval": code.interval,
        "expires_at": now + code.expires_in,
    }
