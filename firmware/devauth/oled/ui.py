"""The observer of a sign-in (devauth.observer.Observer): the console lines (the contract below)
and the OLED screens.

Console contract (serial console on a board, stdout on the host):
    To sign in, visit <verification_uri> and enter code <user_code>
    Signed in.
    <Short reason>: <one line naming what failed>
    Waiting <n> s: <reason>
and, when the board glue joins Wi-Fi and sets the clock, `Connecting to Wi-Fi <ssid>` and
`Setting the clock` (the screen says "Joining <ssid>" and "Setting the time...").
These are the sign-in's lines; the board glue and devauth.entry print their own (Wi-Fi errors,
the button, warnings, --stats). device_code, secrets and tokens are never given to an observer.

While a code is shown, the flow calls tick(seconds_left) about once a second: it redraws the
countdown, and when the sign-in has several views (the URI, the code, the QR) it moves to the
next one every few seconds. toggle() (a button) moves at once and holds that view a while.
"""

import gc

from devauth.errors import AccessDenied, ExpiredToken, clip
from devauth.observer import Observer

QR_SECONDS = 8  # how long a QR view stays up before the next view
TEXT_SECONDS = 5  # ... a text view
HOLD_SECONDS = 30  # ... a view chosen with toggle()


class UI(Observer):
    def __init__(self, display=None, width=128, height=64, out=print):
        self.out = out
        self.screen = None
        if display is not None:  # the screen code is loaded only for a display
            from devauth.oled.screen import Screen

            self.screen = Screen(display, width, height)
        self._shown = -1  # the seconds left last drawn
        self._code = None  # the DeviceCode on screen, None when no sign-in view is up
        self._views = 0
        self._view = 0
        self._switch_at = 0  # seconds left at which the next view comes
        self._note = None  # a short reason shown in place of the countdown ...
        self._note_until = 0  # ... until the seconds left fall to this
        self._busy = False  # drawing (a toggle() scheduled meanwhile waits for the end)
        self._pending = False

    # -- status screens ------------------------------------------------------------------------

    def status(self, title, body=""):
        self._end()
        if self.screen:
            self._draw(self.screen.message, title, body)

    def requesting(self):
        self.status("Sign in", "Getting a code...")

    def wifi(self, ssid):
        ssid = clip(ssid, 32)
        self.say("Connecting to Wi-Fi %s" % ssid)
        self.status("Wi-Fi", "Joining " + ssid)

    def clock(self, server=None):
        self.say("Setting the clock")
        self.status("Clock", "Setting the time...")

    def retrying(self, reason, seconds):
        self.say("Waiting %d s: %s" % (seconds, reason))
        if not self.screen:
            return
        short = "Slowing down" if "slow down" in reason else reason.split(":")[0]
        if self._code is not None:  # polling: the code stays, the reason replaces the time
            self._note = short
            self._note_until = self._shown - seconds
            self._draw(self.screen.countdown, self._shown, short, collect=False)
        else:
            title = "Wait %d s" % seconds
            self.status(title if len(title) <= self.screen.cols else "Waiting", short)

    def signed_in(self, token):
        self.say("Signed in.")
        self._end()
        if self.screen:
            self._draw(self.screen.result, "Signed in", "")

    def failed(self, err):
        self.say("%s: %s" % (err.short, err))
        self._end()
        if not self.screen:
            return
        if isinstance(err, ExpiredToken):
            self._draw(self.screen.result, "Expired", "New code coming")
        elif isinstance(err, AccessDenied):
            self._draw(self.screen.result, "Denied", "Sign-in refused")
        else:
            self._draw(self.screen.message, "Error", err.short)

    # -- the sign-in views -------------------------------------------------------------------

    def show_code(self, code):
        self.say("To sign in, visit %s and enter code %s" % (code.verification_uri, code.user_code))
        self._code = code
        self._shown = code.expires_in
        self._note = None
        if self.screen:
            self._views = self.screen.sign_in(
                code.user_code,
                code.verification_uri,
                code.verification_uri_complete,
                code.expires_in,
            )
            self._view = 0
            self._switch_at = code.expires_in - self._dwell(0)
            self._draw(self.screen.view, 0, code.expires_in, None)

    def tick(self, seconds_left):
        if not self.screen or seconds_left == self._shown:
            return
        self._shown = seconds_left
        if self._code is None:
            return
        if self._views > 1 and seconds_left <= self._switch_at:
            self._next(self._dwell(self._view + 1))
        else:
            self._draw(self.screen.countdown, seconds_left, self._note_now(), collect=False)

    def toggle(self):
        """The next sign-in view now (a button press), held for HOLD_SECONDS. Safe to call from
        micropython.schedule(): a press while a frame is being drawn is served right after."""
        if not self.screen or self._code is None or self._views < 2:
            return
        if self._busy:
            self._pending = True
            return
        self._next(HOLD_SECONDS)

    def _next(self, dwell):
        if self.screen is None or not self._views:
            return
        self._view = (self._view + 1) % self._views
        self._switch_at = self._shown - dwell
        self._draw(self.screen.view, self._view, self._shown, self._note_now())

    def _dwell(self, i=0):
        """How long view `i` stays up before the next one."""
        if self.screen is None or not self.screen.views:
            return TEXT_SECONDS
        v = self.screen.views[i % len(self.screen.views)]
        return QR_SECONDS if v.kind == "q" else TEXT_SECONDS

    def _note_now(self):
        if self._note is not None and self._shown <= self._note_until:
            self._note = None
        return self._note

    def _end(self):
        """No sign-in view from now on (a status or result screen follows)."""
        self._code = None
        self._views = 0
        self._note = None
        self._pending = False

    def _draw(self, fn, *args, collect=True):
        if self._busy:  # re-entered from a scheduled callback: the frame in progress wins
            return
        self._busy = True
        try:
            fn(*args)
        except MemoryError:  # the screen gives way, not the sign-in (the console has it all)
            pass
        finally:
            self._busy = False
        if collect:  # a whole frame's garbage goes before the next long-lived allocations
            gc.collect()
        if self._pending:
            self._pending = False
            if self._code is not None and self._views > 1:
                self._next(HOLD_SECONDS)
