"""Glue: config -> transport -> discovery -> session (stored token, refresh or RFC 8628 sign-in),
with the UI told at every step.

`run()` never lets an exception escape: every failure becomes one console line, a screen, and an
exit code (0 signed in, 2 configuration, 3 denied, 4 expired, 1 anything else).
"""

import gc
import sys

from devauth import clock as _clock
from devauth import unload
from devauth.errors import ConfigError, DevauthError, ExpiredToken, OAuthError, clip

# Memory: the config loader runs first and is unloaded before the flow's modules are imported,
# so the two never sit on the heap together (the peak of a sign-in is at start-up).

RETRY_PAUSE = 30  # seconds between sign-in attempts on a board after a failure (doubles)
MAX_PAUSE = 600
DEBUG = False  # main.py --debug: print the traceback of an unexpected error too


def load_config(path):
    """Load and validate the config, then unload the loader: its code is needed only at start."""
    from devauth import config

    try:
        return config.load(path)
    finally:
        # a parsed private_key keeps only what it needs; the jose package comes back with jwt
        unload("devauth.config", "devauth.jose.pem", "devauth.jose.der", "devauth.jose")


def discover(cfg, transport, say=None):
    """Resolve the endpoints from the issuer's metadata (cached), then unload discovery."""
    if not cfg.issuer:
        return
    from devauth.oauth import discovery

    try:
        discovery.configure(cfg, transport, say)
    except DevauthError:
        discovery.forget(cfg)
        raise
    finally:
        unload("devauth.oauth.discovery")


def make_transport(cfg, ui, deadline_ms=None, aio=False):
    """The HTTP client the config asks for (`aio`: the asyncio one, devauth.aio). A whole
    request may take `timeout` seconds, and no more than `deadline_ms` (a board passes less
    than its watchdog period: nothing feeds the watchdog while a request is under way)."""
    deadline = cfg.timeout
    if deadline_ms is not None and deadline_ms < deadline * 1000:
        deadline = deadline_ms / 1000
    if cfg.http_client == "urequests":
        if aio:
            raise ConfigError("http_client: urequests has no asyncio client; use builtin")
        from devauth.net.http_urequests import URequestsClient

        ui.say(
            "Warning: http_client urequests does not verify the server certificate; "
            "anyone on the network can impersonate the server."
        )
        return URequestsClient(cfg.allow_insecure_http, cfg.timeout, deadline=deadline)
    if aio:
        from devauth.net.ahttp import AsyncHTTPClient as HTTPClient
    else:
        from devauth.net.http import HTTPClient

    return HTTPClient(
        cfg.ca_certificates,
        cfg.tls_client_certificate,
        cfg.tls_client_key,
        cfg.allow_insecure_http,
        cfg.timeout,
        deadline=deadline,
    )


def stay_signed_in(cfg, transport, clock, ui, once, on_signed_in=None):
    """Discover endpoints, get a valid token (stored, refreshed or signed in), keep it fresh.

    With `once`, returns 0 when a valid token is there. On a board it never returns: it sleeps
    until the access token is due for refresh, refreshes it, and signs in again if it must.
    """
    from devauth.oauth.session import Session

    discover(cfg, transport, ui.say)
    session = Session(cfg, transport, clock, ui)
    announced = False
    while True:
        try:
            rec = session.ensure()
        except ExpiredToken as e:
            if once:
                raise
            ui.failed(e)  # a new code follows
            continue
        except DevauthError as e:
            forget_endpoints(cfg, e)
            raise
        if not announced:
            ui.signed_in(rec)
            announced = True
        if on_signed_in:
            on_signed_in(session, rec)
        if once:
            return 0
        for _ in range(session.due_in(rec)):  # one-second slices: the board clock feeds
            clock.sleep_ms(1000)  # the watchdog


def run(
    config_path,
    display=None,
    once=False,
    clock=_clock,
    width=128,
    height=64,
    ui=None,
    on_signed_in=None,
    request_deadline_ms=None,
):
    """Sign in per the config at `config_path` and stay signed in.

    With `once`, returns the exit code when the sign-in ends; on a board it never returns.
    `on_signed_in(session, record)` is called whenever a valid token is at hand: application
    code uses `session.access_token()` from there (see devauth.oauth.session).
    `request_deadline_ms` caps each HTTP request (a board: below its watchdog period).
    """
    if ui is None:
        from devauth.oled.ui import UI

        ui = UI(display, width, height)
    ui.status("devauth", "Starting...")
    pause = RETRY_PAUSE
    transport = None
    while True:
        code = 1
        try:
            cfg = load_config(config_path)
            transport = make_transport(cfg, ui, request_deadline_ms)
            code = stay_signed_in(cfg, transport, clock, ui, once, on_signed_in)
        except Exception as e:
            code = failure(ui, e)
        finally:
            if transport is not None:
                ui.stats(transport)
                transport.close()
                transport = None
            gc.collect()
        if once or code == 0:
            return code
        clock.sleep_ms(pause * 1000)  # on a board: try again later, never a crash loop
        pause = min(MAX_PAUSE, pause * 2)


def failure(ui, e):
    """Any failure as one console line and a screen, never a traceback -> the exit code."""
    if isinstance(e, DevauthError):
        ui.failed(e)
        return e.exit_code
    _debug(e)
    if isinstance(e, MemoryError):
        ui.failed(DevauthError("the free heap is too small for this step", "Out of memory"))
    else:  # a bug: one line, no traceback, no crash loop
        ui.failed(DevauthError("internal error: %s %s" % (type(e).__name__, clip(e))))
    return 1


def forget_endpoints(cfg, e):
    """After a failure other than an OAuth error the endpoints may have moved: the cached
    metadata is dropped, so that the next attempt discovers them again."""
    if cfg.issuer and not isinstance(e, OAuthError):
        from devauth.oauth import tokens

        tokens.delete(cfg.state_dir, tokens.METADATA)


def _debug(e):
    if DEBUG:
        sys.print_exception(e) if hasattr(sys, "print_exception") else print(repr(e))
