"""Glue: config -> transport -> RFC 8628 flow -> token file, with the UI told at every step.

`run()` never lets an exception escape: every failure becomes one console line, a screen, and an
exit code (0 signed in, 2 configuration, 3 denied, 4 expired, 1 anything else).
"""

import gc
import sys

from devauth import clock as _clock
from devauth.errors import DevauthError, ExpiredToken

# Memory: the config loader runs first and is unloaded before the flow's modules are imported,
# so the two never sit on the heap together (the peak of a sign-in is at start-up).

RETRY_PAUSE = 30  # seconds between sign-in attempts on a board after a failure (doubles)
MAX_PAUSE = 600
REQUEST_ATTEMPTS = 4  # device authorization tries when the network or server fails
DEBUG = False  # main.py --debug: print the traceback of an unexpected error too


def load_config(path):
    """Load and validate the config, then unload the loader: its code is needed only at start."""
    from devauth import config

    try:
        return config.load(path)
    finally:
        for name in ("config", "pem"):
            sys.modules.pop("devauth." + name, None)
            try:
                delattr(sys.modules["devauth"], name)
            except AttributeError:
                pass
        gc.collect()


def make_transport(cfg, ui):
    if cfg.http_client == "urequests":
        from devauth.http_urequests import URequestsClient

        ui.say(
            "Warning: http_client urequests does not verify the server certificate; "
            "anyone on the network can impersonate the server."
        )
        return URequestsClient(cfg.allow_insecure_http, cfg.timeout)
    from devauth.http import HTTPClient

    return HTTPClient(
        cfg.ca_certificates,
        cfg.tls_client_certificate,
        cfg.tls_client_key,
        cfg.allow_insecure_http,
        cfg.timeout,
    )


def sign_in(cfg, transport, clock, ui, once):
    """One sign-in: request a code (retrying transient failures), show it, poll -> Token."""
    from devauth import tokens
    from devauth.flow import DeviceFlow

    flow = DeviceFlow(cfg, transport, clock, ui)
    while True:
        ui.requesting()
        code = _with_retries(flow.request_code, clock, ui)
        ui.show_code(code)
        try:
            token = flow.poll(code)
        except ExpiredToken as e:
            if once:
                raise
            ui.failed(e)  # a new code follows
            continue
        tokens.save(cfg.state_dir, token)
        ui.signed_in(token)
        return token


def _with_retries(fn, clock, ui):
    pause = 2
    for attempt in range(REQUEST_ATTEMPTS):
        try:
            return fn()
        except DevauthError as e:
            if not e.retry or attempt == REQUEST_ATTEMPTS - 1:
                raise
            wait = max(pause, getattr(e, "retry_after", 0) or 0)
            ui.retrying(e.short + ": " + str(e), wait)
            clock.sleep_ms(wait * 1000)
            pause *= 2


def run(config_path, display=None, once=False, clock=_clock, width=128, height=64, ui=None):
    """Sign in per the config at `config_path`; returns the exit code (with `once`) or loops."""
    if ui is None:
        from devauth.ui import UI

        ui = UI(display, width, height)
    ui.status("devauth", "Starting...")
    pause = RETRY_PAUSE
    transport = None
    while True:
        code = 1
        try:
            cfg = load_config(config_path)
            transport = make_transport(cfg, ui)
            sign_in(cfg, transport, clock, ui, once)
            code = 0
        except DevauthError as e:
            ui.failed(e)
            code = e.exit_code
        except MemoryError as e:
            _debug(e)
            ui.failed(DevauthError("the free heap is too small for this step", "Out of memory"))
        except Exception as e:  # a bug: one line, no traceback, no crash loop
            _debug(e)
            ui.failed(DevauthError("internal error: %s %s" % (type(e).__name__, _clip(e))))
        finally:
            if transport is not None:
                report = getattr(ui, "stats", None)
                if report:
                    report(transport)
                transport.close()
                transport = None
            gc.collect()
        if once or code == 0:
            return code
        clock.sleep_ms(pause * 1000)  # on a board: try again later, never a crash loop
        pause = min(MAX_PAUSE, pause * 2)


def _debug(e):
    if DEBUG:
        sys.print_exception(e) if hasattr(sys, "print_exception") else print(repr(e))


def _clip(e):
    return "".join(ch if " " <= ch <= "~" else "?" for ch in str(e)[:100])
