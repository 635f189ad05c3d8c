"""The OAuth 2.0 Device Authorization Grant (RFC 8628), client side, in one place.

    code = DeviceFlow(...).request_code()   # §3.1-3.2: ask for a user code
    token = flow.poll(code)                 # §3.3-3.5: show it, poll until approved

Everything outside the protocol comes in as arguments: `config` (endpoints, client identity,
extra parameters), `transport` (`post_form(url, body, headers) -> Response`), `clock`
(`ticks_ms`, `ticks_diff`, `ticks_add`, `sleep_ms`, `unix_time`: devauth.clock) and `observer`
(a devauth.observer.Observer: the screen and console). Tests drive it with a fake transport and
a fake clock, without sockets or sleeping.

The rules live in `request_code_steps` and `poll_steps`, generators that never sleep or send:
they yield each request and wait (devauth.oauth.steps). `request_code` and `poll` run them with
blocking calls; devauth.aio runs the same generators on asyncio.

Real servers bend the RFC; what is accepted, and from whom (see examples/README.md):
- the `error` field decides on any status: GitHub says 200, Google 428/403, Auth0 403/429,
  Dex (before 2025) 401, Keycloak 400;
- form-encoded replies (GitHub when Accept is ignored), numbers as strings (Entra v1),
  `verification_url` (Google, Entra v1), lowercase `bearer`, comma-separated scopes (GitHub);
- refusals: `access_denied`, Entra's `authorization_declined`; a code the server forgot near its
  deadline (`invalid_grant`, Auth0) is expired; Google's quota reply (no `error`) is backed off.
Nothing is looser than the RFC where it protects the device: every bound and check stays.
"""

from devauth.errors import (
    MAX_URI,
    MAX_USER_CODE,
    AccessDenied,
    ClientRejected,
    DevauthError,
    ExpiredToken,
    OAuthError,
    ProtocolError,
    ServerBusy,
    clip,
)
from devauth.net.url import decimal
from devauth.oauth import auth
from devauth.oauth.steps import SLEEP, run

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
SLOW_DOWN_STEP = 5  # §3.5: slow_down "MUST" increase the interval by 5 seconds
MAX_BACKOFF = 64  # seconds: the ceiling of the exponential back-off on network/server trouble
MAX_INTERVAL = 300  # seconds; a longer poll interval is a server misconfiguration
DENIED = ("access_denied", "authorization_declined")  # RFC 8628 §3.5; Entra ID
REJECTED = ("invalid_client", "unauthorized_client", "incorrect_client_credentials")  # GitHub


class DeviceCode:
    """The device authorization response (RFC 8628 §3.2), validated."""

    __slots__ = (
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    )

    def __repr__(self):  # never shows device_code
        return "<DeviceCode %s %s>" % (self.user_code, self.verification_uri)


class Token:
    """The access token response (RFC 6749 §5.1), validated."""

    __slots__ = ("access_token", "token_type", "expires_in", "refresh_token", "scope")

    def __repr__(self):  # never shows a token
        return "<Token %s expires_in=%s>" % (self.token_type, self.expires_in)


class DeviceFlow:
    def __init__(self, config, transport, clock, observer):
        self.config = config
        self.transport = transport
        self.clock = clock
        self.observer = observer

    # -- RFC 8628 §3.1: device authorization request -----------------------------------------

    def request_code(self):
        return run(self.request_code_steps(), self.transport, self.clock)

    def request_code_steps(self):
        """POST client_id, scope and the extra parameters (Auth0 `audience`, RFC 8707
        `resource`) to the device authorization endpoint -> DeviceCode."""
        form = []
        if self.config.scope:
            form.append(("scope", self.config.scope))
        form.extend(self.config.extra_params)
        resp = yield self._post(self.config.device_authorization_endpoint, form)
        obj = result(resp, "device authorization")
        return parse_device_code(obj, self.config.allow_insecure_http)

    # -- RFC 8628 §3.4-3.5: poll the token endpoint ----------------------------------------

    def poll(self, code):
        return run(self.poll_steps(code), self.transport, self.clock)

    def poll_steps(self, code):
        """Poll until the person approves -> Token; raises AccessDenied, ExpiredToken, ...

        `code.expires_in` counts from now (a resumed code passes the time it has left).
        """
        clock = self.clock
        started = clock.ticks_ms()
        deadline_ms = code.expires_in * 1000
        interval = code.interval  # seconds; slow_down raises it for the rest of this flow
        backoff = 0  # seconds; non-zero while the network or the server is failing
        # Entra v1 polls with grant_type=device_code and `code` (config.device_grant).
        grant_type, param = self.config.device_grant or (GRANT_TYPE, "device_code")
        while True:
            # §3.5: "the client MUST wait at least the number of seconds specified by the
            # interval parameter ... before each new request" (back-off waits longer).
            wait_ms = max(interval, backoff) * 1000
            if clock.ticks_diff(clock.ticks_ms(), started) + wait_ms >= deadline_ms:
                raise _expired()
            yield from self._wait(wait_ms, started, deadline_ms)
            if clock.ticks_diff(clock.ticks_ms(), started) >= deadline_ms:
                # The wait ran long (the board rejoined Wi-Fi inside it): the code is dead.
                raise _expired()
            form = [("grant_type", grant_type), (param, code.device_code)]
            form.extend(self.config.token_params)
            try:
                resp = yield self._post(self.config.token_endpoint, form)
                obj, error = reply(resp, "token endpoint")
            except DevauthError as e:
                if not e.retry:
                    raise
                # §3.5: on connection timeouts "the client MUST use exponential back-off".
                backoff = min(MAX_BACKOFF, max(interval, backoff) * 2)
                if e.retry_after and e.retry_after > backoff:  # honoured up to the same ceiling
                    backoff = min(MAX_BACKOFF, e.retry_after)
                self.observer.retrying(e.short + ": " + str(e), backoff)
                continue
            backoff = 0
            if error is None:
                return parse_token(obj)
            if error == "authorization_pending":  # §3.5: keep polling
                continue
            if error == "slow_down":
                # §3.5: add 5 seconds to this and all later polls; GitHub sends the new
                # interval itself, which wins when larger.
                interval += SLOW_DOWN_STEP
                if obj.get("interval") is not None:
                    asked = _int(obj, "interval", "token endpoint", 0, MAX_INTERVAL)
                    interval = max(interval, asked)
                self.observer.retrying("server asked to slow down", interval)
                continue
            left_ms = deadline_ms - clock.ticks_diff(clock.ticks_ms(), started)
            if error == "invalid_grant" and left_ms <= interval * 1000:
                # Auth0 (and servers that drop a dead code) say invalid_grant, not
                # expired_token, once the code's lifetime is over; the next poll would come
                # after our own deadline anyway.
                raise _expired()
            raise oauth_error(obj, error, "token endpoint")

    def _post(self, url, form):
        # JWT client authentication needs the wall clock (None until it is set)
        return auth.post_step(self.config, url, form, self.clock.unix_time())

    def _wait(self, ms, started, deadline_ms):
        """Wait `ms` in slices of at most a second, telling the observer the time left."""
        clock = self.clock
        until = clock.ticks_add(clock.ticks_ms(), ms)
        while True:
            now = clock.ticks_ms()
            left = clock.ticks_diff(until, now)
            if left <= 0:
                return
            self.observer.tick((deadline_ms - clock.ticks_diff(now, started)) // 1000)
            yield (SLEEP, min(left, 1000))


# -- response validation -------------------------------------------------------------------


def parse_device_code(obj, allow_http=False):
    """Validate a device authorization response (RFC 8628 §3.2) -> DeviceCode.

    The person enters the code at verification_uri: an http:// one is refused unless
    `allow_http` (the config's allow_insecure_http); an http:// verification_uri_complete,
    which is optional, is dropped instead.
    """
    what = "device authorization reply"
    c = DeviceCode()
    c.device_code = _str(obj, "device_code", what, 2048)
    c.user_code = _str(obj, "user_code", what, MAX_USER_CODE)
    if clip(c.user_code, MAX_USER_CODE) != c.user_code:
        raise ProtocolError("%s: user_code has characters a screen cannot show" % what)
    # Some servers (Google's) say verification_url.
    key = "verification_url" if obj.get("verification_uri") is None else "verification_uri"
    if obj.get(key) is None:
        raise ProtocolError("%s: verification_uri is missing" % what)
    c.verification_uri = _uri(obj, key, what)
    if not allow_http and c.verification_uri.startswith("http:"):
        raise ProtocolError(
            "%s: %s is http://, not https:// (allow_insecure_http is false)" % (what, key)
        )
    c.verification_uri_complete = None
    if obj.get("verification_uri_complete") is not None:
        c.verification_uri_complete = _uri(obj, "verification_uri_complete", what)
        if not allow_http and c.verification_uri_complete.startswith("http:"):
            c.verification_uri_complete = None
    c.expires_in = _int(obj, "expires_in", what, 1, 86400)
    c.interval = DEFAULT_INTERVAL
    if obj.get("interval") is not None:
        c.interval = _int(obj, "interval", what, 0, MAX_INTERVAL)
        if c.interval < 1:  # an interval of 0 would hammer the server: ignore it
            c.interval = DEFAULT_INTERVAL
    return c


def parse_token(obj):
    """Validate a successful token response (RFC 6749 §5.1) -> Token."""
    what = "token reply"
    t = Token()
    t.access_token = _str(obj, "access_token", what, 16384)
    t.token_type = _str(obj, "token_type", what, 32)
    if t.token_type.lower() != "bearer":  # RFC 6749 §7.1: we only know how to use Bearer
        raise ProtocolError("%s: token_type %s is not Bearer" % (what, clip(t.token_type)))
    t.token_type = "Bearer"  # §5.1: case-insensitive (GitHub says "bearer")
    t.expires_in = None
    if obj.get("expires_in") is not None:
        t.expires_in = _int(obj, "expires_in", what, 0, 10 * 365 * 86400)
    t.refresh_token = None
    if obj.get("refresh_token") is not None:
        t.refresh_token = _str(obj, "refresh_token", what, 16384)
    t.scope = None
    if obj.get("scope") is not None:
        # RFC 6749 §3.3 separates scopes with spaces; GitHub with commas.
        t.scope = " ".join(_str(obj, "scope", what, 1024).replace(",", " ").split())
    return t


def reply(resp, what):
    """A reply's fields and its OAuth error -> (dict, error or None on success).

    RFC 6749 §5.2 errors come with 400, but servers use 200 (GitHub), 401 (Dex), 403 (Google,
    Auth0), 428 (Google) or 429 (Auth0): the `error` field decides, whatever the status.
    Raises ServerBusy for 5xx, and for 429 or Google's quota reply (403 with
    `error_code: rate_limit_exceeded`) without an `error`; ProtocolError for anything else.
    """
    status = resp.status
    if status >= 500:
        raise _busy(resp, what)
    try:
        obj = _fields(resp, what)
    except ProtocolError:
        if status == 200:
            raise
        obj = {}  # an HTML error page, say: decided by the status below
    error = obj.get("error")
    if isinstance(error, str) and error:
        return obj, clip(error)
    if status == 429 or (status == 403 and obj.get("error_code") == "rate_limit_exceeded"):
        raise _busy(resp, what)
    if status != 200:
        raise ProtocolError("%s: unexpected HTTP %d reply without an OAuth error" % (what, status))
    if error is not None:
        _str(obj, "error", what, 0)  # raises: error is not a non-empty string
    return obj, None


def result(resp, what):
    """A successful reply's fields; the OAuth error as an exception otherwise."""
    obj, error = reply(resp, what)
    if error is not None:
        raise oauth_error(obj, error, what)
    return obj


def oauth_error(obj, error, what):
    """The exception for an OAuth `error` (RFC 6749 §5.2), with the server's description."""
    desc = obj.get("error_description")
    desc = clip(desc) if isinstance(desc, str) else None
    cls = OAuthError
    if error in DENIED:
        cls = AccessDenied
    elif error == "expired_token":
        cls = ExpiredToken
    elif error in REJECTED:
        cls = ClientRejected
    return cls(error, desc, message="%s: %s%s" % (what, error, ": " + desc if desc else ""))


def _fields(resp, what):
    """The body as a dict: JSON, or a form when the server ignored our Accept (GitHub does)."""
    if "urlencoded" in resp.headers.get("content-type", ""):
        from devauth.net.form import fields  # loaded for such servers only

        return fields(resp, what)
    return resp.json(what)


def _busy(resp, what):
    # RFC 9110 §10.2.3: delay-seconds, ASCII digits only ('²'.isdigit() is true).
    ra = decimal(resp.headers.get("retry-after", ""), 6)
    return ServerBusy("%s: server busy (HTTP %d)" % (what, resp.status), ra)


def _expired():
    return ExpiredToken("expired_token", message="the code expired before it was approved")


def _str(obj, key, what, limit):
    v = obj.get(key)
    if v is None:
        raise ProtocolError("%s: %s is missing" % (what, key))
    if not isinstance(v, str) or not v:
        raise ProtocolError("%s: %s is not a non-empty string" % (what, key))
    if len(v) > limit:
        raise ProtocolError("%s: %s is over %d characters" % (what, key, limit))
    return v


def _int(obj, key, what, lo, hi):
    v = obj.get(key)
    if v is None:
        raise ProtocolError("%s: %s is missing" % (what, key))
    if isinstance(v, str):  # "900": Entra v1, form replies (ASCII digits only)
        n = decimal(v, 10)
        v = v if n is None else n
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProtocolError("%s: %s is not a whole number" % (what, key))
    if not lo <= v <= hi:
        raise ProtocolError("%s: %s %d is outside %d..%d" % (what, key, v, lo, hi))
    return v


def _uri(obj, key, what):
    """A verification URI: http(s), printable, bounded."""
    v = _str(obj, key, what, MAX_URI)
    if not (v.startswith("https://") or v.startswith("http://")) or clip(v, MAX_URI) != v:
        raise ProtocolError("%s: %s is not a printable http(s) URL" % (what, key))
    return v
