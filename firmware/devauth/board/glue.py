"""Board glue: the only code that touches `machine`, `network` and `ntptime`; the boot sequence.

    main.py -> devauth.entry.main([]) -> board.main(profile, opts)

Boot, each step on the OLED:
 1. /board.json is checked (devauth.board.profile): a wrong key or pin stops here with one line.
 2. The OLED: Vext power on, reset pulse, then devauth.oled.display.open_display(spec, machine).
 3. machine.WDT starts; from here on the main loop feeds it (see BoardClock).
 4. Wi-Fi from devauth.json's "wifi": {"ssid", "password", "ntp_server"}: retried with back-off;
    a refused password, a missing network and a timeout each say so.
 5. The clock from NTP ("ntp_server", default pool.ntp.org) before any TLS handshake: retried;
    meanwhile the screen says that certificate checks need the time.
 6. devauth.app.run() with a BoardClock and the board's hook: sign in and stay signed in.

BoardClock.sleep_ms is the main loop's heartbeat: the sign-in sleeps only through it, in slices of
SLICE_MS, and every slice feeds the watchdog, reads the button, blinks the LED and (once a second)
checks the Wi-Fi link. A dropped link is rejoined right there, inside the sleep, so the RFC 8628
poll deadline (kept in ticks by devauth.oauth.flow) keeps counting while the board reconnects.

Button (BOOT/PRG): a short press calls ui.toggle() (sign-in / QR screens); a press held for
button.long_press_ms starts a new sign-in: the current one is abandoned, a stored token is revoked
and deleted (Session.sign_out), a pending code deleted, and a new code is requested.

Application hook: put an `application.py` (or .mpy) on the board's filesystem:

    def on_signed_in(session, record):  # each time a valid token is at hand (sign-in, refresh)
        token = session.access_token()   # oauth.session.Session: always a valid access token
    def tick(session):                   # optional: about once a second while signed in
        ...

Both run inside the main loop: return quickly (long work would starve the watchdog). Without an
application.py the demo runs: "Signed in" and the access token's remaining lifetime.
"""

from devauth import clock as _clock
from devauth import unload
from devauth.errors import DevauthError, NetworkError

try:
    from micropython import const  # pyright: ignore[reportAssignmentType] (fallback below)
except ImportError:

    def const(x):
        return x


SLICE_MS = const(50)  # sleep slice: the button's sampling period
LINK_CHECK_MS = const(1000)
JOIN_MS = const(20000)  # one attempt to join the Wi-Fi network
DEBOUNCE_MS = const(40)  # a press shorter than this is contact bounce
MAX_WIFI_PAUSE = const(60)  # seconds: the back-off ceiling between Wi-Fi attempts
MAX_NTP_PAUSE = const(300)
DEFAULT_NTP = "pool.ntp.org"
IDLE_WATCHDOG_MS = const(3600000)  # ESP32 after Ctrl-C: an hour at the REPL
_RP2040_WATCHDOG_CTRL = const(0x40058000)  # RP2040 datasheet 4.7.6: CTRL, bit 30 ENABLE
# ESP-IDF disconnect reason 15 (4-way handshake timeout) is how a wrong WPA2 password shows.
_ESP_HANDSHAKE_TIMEOUT = const(15)
LED_OFF, LED_ON, LED_BLINK = 0, 1, 2


class WiFiError(NetworkError):
    short = "Wi-Fi error"


class ClockError(DevauthError):
    short = "Clock not set"


class NewSignIn(BaseException):
    """Raised out of BoardClock.sleep_ms by a long press. A BaseException, so that app.run (which
    turns every Exception into a retry) lets it through to Board.boot, which starts over."""


def main(profile, opts, machine=None, network=None, ntptime=None, clock=_clock, **kw):
    """Boot the board described by `profile` (devauth.board.profile.check) -> exit code.

    `opts` holds entry's options (config, once, debug). Tests pass fakes for the hardware
    modules and the clock; `kw` goes to Board.boot (display, run, ui_factory, application).
    """
    try:
        machine = machine or __import__("machine")
    except ImportError:
        machine = None
    if not hasattr(machine, "Pin"):  # the unix port has a machine module, without pins
        print("Board error: %s needs a board (no machine.Pin here)" % profile["name"])
        return 2
    network = network or _optional("network")
    ntptime = ntptime or _optional("ntptime")
    if "application" not in kw:
        kw["application"] = _application()
    board = Board(profile, machine, network, ntptime, clock)
    try:
        return board.boot(opts, **kw)
    except KeyboardInterrupt:
        print("devauth: stopped (Ctrl-C).")
        return 130
    finally:
        board.stop()


def _application():
    """The user's application.py (see the module doc), or None: the demo runs instead."""
    try:
        return __import__("application")
    except ImportError as e:
        if "application" not in str(e):  # application.py is there but imports something missing
            print("Application error: %s" % _clip(e))
        return None


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def request_deadline_ms(watchdog_ms):
    """How long one HTTP request may take: 3/4 of the watchdog period (the watchdog is not fed
    while a request is under way), or None without a watchdog."""
    return watchdog_ms * 3 // 4 if watchdog_ms else None


class BoardClock:
    """The clock app.run and the flow get: devauth.clock's ticks, with a sleep that services the
    board (watchdog, button, LED, Wi-Fi link) every SLICE_MS."""

    def __init__(self, board):
        base = board.clock
        self.board = board
        self.ticks_ms = base.ticks_ms
        self.ticks_diff = base.ticks_diff
        self.ticks_add = base.ticks_add
        unix_time = getattr(base, "unix_time", None)
        if unix_time is not None:
            self.unix_time = unix_time

    def sleep_ms(self, ms):
        self.board.sleep(ms, True)


class BoardUI:
    """The UI app.run talks to: the real UI, plus what the board needs to know.

    It remembers the last screen the sign-in drew, so that after a Wi-Fi outage (whose screens
    go straight to the real UI) `restore()` draws it again, and it sets the LED: blinking while a
    code waits for the person, on when signed in, off after a failure.
    """

    def __init__(self, ui, board):
        self._ui = ui
        self._board = board
        self._last = None
        self._left = None

    def __getattr__(self, name):  # say, retrying, toggle, stats, ... as the real UI has them
        return getattr(self._ui, name)

    def _show(self, name, args, led):
        self._last = (name, args)
        self._board.set_led(led)
        if name != "signed_in":
            self._board.session = None  # no longer signed in: the demo stops drawing
        getattr(self._ui, name)(*args)

    def status(self, title, body=""):
        self._show("status", (title, body), self._board.led)

    def requesting(self):
        self._show("requesting", (), LED_OFF)

    def show_code(self, code):
        self._left = None
        self._show("show_code", (code,), LED_BLINK)

    def tick(self, seconds_left):
        self._left = seconds_left
        self._ui.tick(seconds_left)

    def signed_in(self, token):
        self._show("signed_in", (token,), LED_ON)

    def failed(self, err):
        self._show("failed", (err,), LED_OFF)

    def restore(self):
        """Draw the last sign-in screen again, without repeating its console line."""
        if self._last is None:
            return
        name, args = self._last
        ui = self._ui
        out = getattr(ui, "out", None)
        if out is not None:
            ui.out = _quiet
        try:
            getattr(ui, name)(*args)
            if name == "show_code" and self._left is not None:
                ui.tick(self._left)
        finally:
            if out is not None:
                ui.out = out


def _quiet(line):
    pass


class Board:
    def __init__(self, profile, machine, network=None, ntptime=None, clock=_clock, out=print):
        self.p = profile
        self.machine = machine
        self.network = network
        self.ntptime = ntptime
        self.clock = clock
        self.out = out
        self.raw = None  # the real UI: the board's own screens (Wi-Fi, clock) go here
        self.ui = None  # BoardUI: what app.run gets
        self.wdt = None
        self.wlan = None
        self.wifi = None  # devauth.json's "wifi" object
        self.application = None
        self.session = None  # set by on_signed_in, cleared by any later sign-in screen
        self.record = None
        self.in_app = False
        self.led = LED_OFF
        self._led_pin = None
        self._led_lit = None
        self._button = None  # () -> True while pressed
        self._pressed_at = None
        self._long_done = False
        self._next_link = clock.ticks_ms()
        self._next_tick = clock.ticks_ms()
        self._demo_text = None
        self._pins = []  # keep Pin objects alive

    # -- the boot sequence -----------------------------------------------------------------

    def boot(self, opts, display=None, run=None, ui_factory=None, application=None):
        """Hardware, Wi-Fi, clock (devauth.board.boot, unloaded once done), then app.run() until
        it returns (only with opts["once"]); a long press starts it again."""
        from devauth.board import boot as boardinit

        self.application = application
        up = boardinit.start(self, opts, display, ui_factory)
        unload("devauth.board.boot")
        boardinit = None  # this frame lives on through the sign-in: let the module go
        if isinstance(up, int):
            return up
        display, w, h = up
        from devauth import app

        run = run or app.run
        while True:
            self.in_app = True
            try:
                return run(
                    opts["config"],
                    display,
                    once=opts["once"],
                    clock=BoardClock(self),  # pyright: ignore[reportArgumentType] (duck-typed)
                    width=w,
                    height=h,
                    ui=self.ui,
                    on_signed_in=self.on_signed_in,
                    request_deadline_ms=request_deadline_ms(self.p["watchdog_ms"]),
                )
            except NewSignIn:
                self.in_app = False
                self.new_sign_in(opts["config"])
            finally:
                self.in_app = False

    def stop(self):
        """Leaving the firmware (Ctrl-C, --once): LED off; the watchdog stretched (ESP32) or
        stopped (RP2040) where the port allows, so that the REPL and mpremote stay usable."""
        wdt, self.wdt = self.wdt, None
        if wdt is not None:
            chip = self.p["chip"]
            try:
                if chip == "rp2040":
                    self.machine.mem32[_RP2040_WATCHDOG_CTRL] &= ~(1 << 30)
                else:
                    self.machine.WDT(timeout=IDLE_WATCHDOG_MS).feed()
                    self.out("devauth: the watchdog restarts the board in an hour.")
            except (AttributeError, ValueError, OSError):
                self.out("devauth: the watchdog keeps running and will restart the board.")
        self.set_led(LED_OFF)

    # -- LED ---------------------------------------------------------------------------------

    def set_led(self, mode):
        self.led = mode
        if mode != LED_BLINK:
            self._light(mode == LED_ON)

    def _light(self, lit):
        if self._led_pin is not None and lit != self._led_lit:
            on = self.p["led"]["on"]
            self._led_pin.value(on if lit else 1 - on)
            self._led_lit = lit

    # -- the main loop's heartbeat ---------------------------------------------------------

    def sleep(self, ms, link=False):
        """Sleep `ms`, servicing the board every SLICE_MS (and the Wi-Fi link if `link`)."""
        c = self.clock
        until = c.ticks_add(c.ticks_ms(), ms)
        while True:
            self.service(link)
            left = c.ticks_diff(until, c.ticks_ms())
            if left <= 0:
                return
            c.sleep_ms(min(left, SLICE_MS))

    def service(self, link=True):
        if self.wdt is not None:
            self.wdt.feed()
        c = self.clock
        now = c.ticks_ms()
        self._poll_button(now)
        if self.led == LED_BLINK:
            self._light((now // 500) % 2 == 0)
        if link and self.wlan is not None and c.ticks_diff(now, self._next_link) >= 0:
            self._next_link = c.ticks_add(now, LINK_CHECK_MS)
            if not self.wlan.isconnected():
                self.reconnect()
        if self.session is not None and c.ticks_diff(now, self._next_tick) >= 0:
            self._next_tick = c.ticks_add(now, 1000)
            self._app_tick()

    def _poll_button(self, now):
        c = self.clock
        pressed = self._button
        if pressed is not None and pressed():
            if self._pressed_at is None:
                self._pressed_at = now
                self._long_done = False
            elif not self._long_done:
                if c.ticks_diff(now, self._pressed_at) >= self.p["button"]["long_press_ms"]:
                    self._long_done = True
                    self.long_press()
        elif self._pressed_at is not None:
            held = c.ticks_diff(now, self._pressed_at)
            self._pressed_at = None
            if not self._long_done and held >= DEBOUNCE_MS:
                self.short_press()

    def short_press(self):
        toggle = getattr(self.ui, "toggle", None)
        if toggle is not None:
            toggle()
        else:
            self.out("Button: this screen has no other view")

    def long_press(self):
        if not self.in_app:
            self.out("Button: held, but there is no sign-in to restart yet")
            return
        self.out("Button: held, starting a new sign-in.")
        raise NewSignIn()

    def new_sign_in(self, config_path):
        """After a long press: forget the tokens (revoking them) and any pending code."""
        self._screen(None, (), "New sign-in", "Forgetting the old one...")
        session, self.session = self.session, None
        if session is not None:
            try:
                session.sign_out()
            except DevauthError as e:
                self.out("%s: %s" % (e.short, e))
            return
        from devauth import app
        from devauth.oauth import tokens

        try:
            state = app.load_config(config_path).state_dir
        except DevauthError:
            return  # app.run reports it
        tokens.delete(state, tokens.PENDING)

    # -- Wi-Fi -----------------------------------------------------------------------------

    def _connected(self):
        wlan = self._wlan()
        return wlan is not None and wlan.isconnected()

    def _wlan(self):
        net = self.network
        if self.wlan is None and net is not None:
            wlan = net.WLAN(net.STA_IF)
            wlan.active(True)
            try:  # ESP32: give up after 3 tries, so that status() tells why (else CONNECTING)
                wlan.config(reconnects=3)
            except (ValueError, TypeError, OSError):
                pass
            self.wlan = wlan
        return self.wlan

    def connect_wifi(self):
        """Join the configured network; retries with back-off until it works."""
        wlan = self._wlan()
        if not self.wifi or wlan is None:
            return
        ssid = self.wifi["ssid"]
        pause = 2
        while True:
            self._screen("wifi", (ssid,), "Wi-Fi", "Connecting to %s..." % ssid)
            err = self._join(wlan, ssid, self.wifi.get("password"))
            if err is None:
                self.out("Wi-Fi: connected to %s" % ssid)
                return
            err.message += "; retrying in %d s" % pause
            body = {
                "Wrong Wi-Fi password": "Check wifi.password",
                "Wi-Fi not found": "%s is not in range" % ssid,
            }.get(err.short, "No connection to " + ssid)
            self.problem(err, "%s\nRetry in %d s" % (body, pause))
            self.sleep(pause * 1000)
            pause = min(MAX_WIFI_PAUSE, pause * 2)

    def _join(self, wlan, ssid, password):
        """One attempt -> None when connected, else the WiFiError saying why."""
        if wlan.isconnected():
            return None
        c = self.clock
        try:
            wlan.disconnect()  # stop the driver's own retries before a fresh attempt
        except OSError:
            pass
        try:
            if password:
                wlan.connect(ssid, password)
            else:
                wlan.connect(ssid)
        except OSError as e:
            return WiFiError("Wi-Fi: cannot start joining %s (%s)" % (ssid, _clip(e)))
        start = c.ticks_ms()
        err = None
        while c.ticks_diff(c.ticks_ms(), start) < JOIN_MS:
            if wlan.isconnected():
                return None
            err = status_error(self.network, wlan.status(), ssid)
            if err is not None:
                break
            self.sleep(250)
        if err is None:
            err = WiFiError("Wi-Fi: no connection to %s after %d s" % (ssid, JOIN_MS // 1000))
        try:
            wlan.disconnect()
        except OSError:
            pass
        return err

    def reconnect(self):
        """The link dropped during the sign-in: rejoin (the flow's deadline keeps counting)."""
        ssid = self.wifi["ssid"] if self.wifi else "Wi-Fi"
        self.out("Wi-Fi: lost the connection to %s; reconnecting" % ssid)
        self.connect_wifi()
        if self.ui is not None:
            self.ui.restore()
            self._demo_text = None  # redraw the demo's screen too

    # -- clock -----------------------------------------------------------------------------

    def _unix_time(self):
        f = getattr(self.clock, "unix_time", None)
        return f() if f is not None else None

    # -- signed in: the application or the demo ----------------------------------------------

    def on_signed_in(self, session, record):
        """app.run's hook: a valid token is at hand (after sign-in and after every refresh)."""
        self.session = session
        self.record = record
        self.set_led(LED_ON)
        self._demo_text = None
        self._next_tick = self.clock.ticks_ms()
        a = self.application
        if a is not None:
            self._call(a.on_signed_in, session, record)
        else:
            self._app_tick()

    def _app_tick(self):
        a = self.application
        if a is not None:
            f = getattr(a, "tick", None)
            if f is not None:
                self._call(f, self.session)
            return
        session, raw = self.session, self.raw
        if session is None or raw is None:
            return
        text = "Token valid for " + lifetime(session.seconds_left(self.record))
        if text != self._demo_text:
            self._demo_text = text
            raw.status("Signed in", text)

    def _call(self, f, *args):
        try:
            f(*args)
        except Exception as e:  # application code: one line, and the board keeps going
            self.out("Application error: %s %s" % (type(e).__name__, _clip(e)))

    def problem(self, err, body):
        """A failure of the board's own: the full line on the console, the gist on screen."""
        raw = self.raw
        if raw is not None:
            raw.say("%s: %s" % (err.short, err))
            raw.status(err.short, body)

    def _screen(self, name, args, title, body):
        """A screen of the board's own: ui.wifi(ssid) / ui.clock() where the UI has them, else
        ui.status(title, body)."""
        raw = self.raw
        f = getattr(raw, name, None) if name else None
        if f is not None:
            f(*args)
        elif raw is not None:
            raw.status(title, body)


def status_error(net, status, ssid):
    """WLAN.status() -> the WiFiError it means, or None while joining (ESP32 and CYW43 codes)."""
    busy = (
        getattr(net, "STAT_IDLE", None),
        getattr(net, "STAT_CONNECTING", None),
        getattr(net, "STAT_GOT_IP", None),
    )
    if getattr(net, "STAT_GOT_IP", None) == 3:
        busy += (2,)  # CYW43 (Pico W): joined, waiting for DHCP
    if status in busy:
        return None
    if status in (getattr(net, "STAT_WRONG_PASSWORD", None), _ESP_HANDSHAKE_TIMEOUT):
        return WiFiError(
            "Wi-Fi %s refused the password: check wifi.password in devauth.json" % ssid,
            "Wrong Wi-Fi password",
        )
    if status == getattr(net, "STAT_NO_AP_FOUND", None):
        return WiFiError(
            "Wi-Fi: no network named %s in range: check wifi.ssid in devauth.json" % ssid,
            "Wi-Fi not found",
        )
    return WiFiError("Wi-Fi: joining %s failed (status %s)" % (ssid, status))


def lifetime(seconds):
    """Seconds left -> '59 min', '1 h 5 min', '42 s', 'unknown'."""
    if seconds is None:
        return "unknown"
    s = max(0, seconds)
    if s < 120:
        return "%d s" % s
    if s < 7200:
        return "%d min" % (s // 60)
    return "%d h %d min" % (s // 3600, s % 3600 // 60)


def _clip(e):
    return "".join(ch if " " <= ch <= "~" else "?" for ch in str(e)[:80])
