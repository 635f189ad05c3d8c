"""The OAuth 2.0 Device Authorization Grant (RFC 8628), client side, in one place.

    code = DeviceFlow(...).request_code()   # §3.1-3.2: ask for a user code
    token = flow.poll(code)                 # §3.3-3.5: show it, poll until approved

Everything outside the protocol comes in as arguments: `config` (endpoints, client identity),
`transport` (`post_form(url, body, headers) -> Response`), `clock` (`ticks_ms`, `ticks_diff`,
`ticks_add`, `sleep_ms`, `unix_time`: devauth.clock) and `observer` (a devauth.observer.Observer:
the screen and console). Tests drive it with a fake transport and a fake clock, without sockets
or sleeping.
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
from devauth.oauth import auth

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
SLOW_DOWN_STEP = 5  # §3.5: slow_down "MUST" increase the interval by 5 seconds
MAX_BACKOFF = 64  # seconds: the ceiling of the exponential back-off on network/server trouble
MAX_INTERVAL = 300  # seconds; a longer poll interval is a server misconfiguration


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
        """POST client_id (and scope) to the device authorization endpoint -> DeviceCode."""
        form = []
        if self.config.scope:
            form.append(("scope", self.config.scope))
        resp = self._post(self.config.device_authorization_endpoint, form)
        what = "device authorization"
        if resp.status != 200:
            raise error_reply(resp, what)
        return parse_device_code(resp.json(what), self.config.allow_insecure_http)

    # -- RFC 8628 §3.4-3.5: poll the token endpoint ----------------------------------------

    def poll(self, code):
        """Poll until the person approves -> Token; raises AccessDenied, ExpiredToken, ...

        `code.expires_in` counts from now (a resumed code passes the time it has left).
        """
        clock = self.clock
        started = clock.ticks_ms()
        deadline_ms = code.expires_in * 1000
        interval = code.interval  # seconds; slow_down raises it for the rest of this flow
        backoff = 0  # seconds; non-zero while the network or the server is failing
        form_device_code = code.device_code
        while True:
            # §3.5: "the client MUST wait at least the number of seconds specified by the
            # interval parameter ... before each new request" (back-off waits longer).
            wait_ms = max(interval, backoff) * 1000
            if clock.ticks_diff(clock.ticks_ms(), started) + wait_ms >= deadline_ms:
                raise _expired()
            self._wait(wait_ms, started, deadline_ms)
            if clock.ticks_diff(clock.ticks_ms(), started) >= deadline_ms:
                # The wait ran long (the board rejoined Wi-Fi inside it): the code is dead.
                raise _expired()
            form = [("grant_type", GRANT_TYPE), ("device_code", form_device_code)]
            try:
                resp = self._post(self.config.token_endpoint, form)
                if resp.status == 200:
                    return parse_token(resp.json("token endpoint"))
                raise error_reply(resp, "token endpoint")
            except OAuthError as e:
                if e.error == "authorization_pending":  # §3.5: keep polling
                    backoff = 0
                    continue
                if e.error == "slow_down":  # §3.5: add 5 seconds to this and all later polls
                    interval += SLOW_DOWN_STEP
                    backoff = 0
                    self.observer.retrying("server asked to slow down", interval)
                    continue
                raise
            except DevauthError as e:
                if not e.retry:
                    raise
                # §3.5: on connection timeouts "the client MUST use exponential back-off".
                backoff = min(MAX_BACKOFF, max(interval, backoff) * 2)
                if e.retry_after and e.retry_after > backoff:  # honoured up to the same ceiling
                    backoff = min(MAX_BACKOFF, e.retry_after)
                self.observer.retrying(e.short + ": " + str(e), backoff)

    def _post(self, url, form):
        # JWT client authentication needs the wall clock (None until it is set)
        return auth.post(self.config, self.transport, url, form, self.clock.unix_time())

    def _wait(self, ms, started, deadline_ms):
        """Sleep `ms` in slices of at most a second, telling the observer the time left."""
        clock = self.clock
        until = clock.ticks_add(clock.ticks_ms(), ms)
        while True:
            now = clock.ticks_ms()
            left = clock.ticks_diff(until, now)
            if left <= 0:
                return
            self.observer.tick((deadline_ms - clock.ticks_diff(now, started)) // 1000)
            clock.sleep_ms(min(left, 1000))


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
    t.expires_in = None
    if obj.get("expires_in") is not None:
        t.expires_in = _int(obj, "expires_in", what, 0, 10 * 365 * 86400)
    t.refresh_token = None
    if obj.get("refresh_token") is not None:
        t.refresh_token = _str(obj, "refresh_token", what, 16384)
    t.scope = None
    if obj.get("scope") is not None:
        t.scope = _str(obj, "scope", what, 1024)
    return t


def error_reply(resp, what):
    """Turn a non-200 reply into the exception the poll loop classifies (RFC 6749 §5.2)."""
    if resp.status >= 500 or resp.status == 429:
        ra = resp.headers.get("retry-after", "")
        return ServerBusy(
            "%s: server busy (HTTP %d)" % (what, resp.status),
            int(ra) if ra.isdigit() and len(ra) < 7 else None,
        )
    try:
        obj = resp.json(what)
        error = obj.get("error")
        if not isinstance(error, str) or not error:
            raise ProtocolError("")
    except ProtocolError:
        return ProtocolError(
            "%s: unexpected HTTP %d reply without an OAuth error" % (what, resp.status)
        )
    desc = obj.get("error_description")
    desc = clip(desc) if isinstance(desc, str) else None
    error = clip(error)
    cls = OAuthError
    if error == "access_denied":
        cls = AccessDenied
    elif error == "expired_token":
        cls = ExpiredToken
    elif error in ("invalid_client", "unauthorized_client"):
        cls = ClientRejected
    return cls(error, desc, message="%s: %s%s" % (what, error, ": " + desc if desc else ""))


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
