"""Board glue: the only code that touches `machine`, `network` and `ntptime`; the main loop.

    main.py -> devauth.entry.main([]) -> board.main(profile, opts) -> Board.boot

The boot sequence (what each step does and shows, how it fails) is written once, in
boards/README.md, "The boot sequence". Board.boot runs it: devauth.board.boot.hardware() (OLED,
watchdog, button, LED: the handles come back as a Hardware), online() (Wi-Fi, NTP), then
devauth.app.run() with a BoardClock and the board's hook: sign in and stay signed in.

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

An application.py with `async def main(auth)` owns the loop instead: after the same hardware()
and online(), devauth.board.aioglue runs asyncio: the sign-in (devauth.aio.Auth) and the board's
service as tasks beside `main(auth)` (see there).
"""

from devauth import clock as _clock
from devauth import unload
from devauth.errors import DevauthError, NetworkError, clip
from devauth.observer import Observer

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
IDLE_WATCHDOG_MS = const(3600000)  # ESP32 after Ctrl-C: an hour at the REPL
_RP2040_WATCHDOG_CTRL = const(0x40058000)  # RP2040 datasheet 4.7.6: CTRL, bit 30 ENABLE
# ESP-IDF disconnect reason 15 (4-way handshake timeout) is how a wrong WPA2 password shows.
_ESP_HANDSHAKE_TIMEOUT = const(15)
LED_OFF, LED_ON, LED_BLINK = 0, 1, 2


class WiFiError(NetworkError):
    short = "Wi-Fi error"


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
            print("Application error: %s" % clip(e, 80))
        return None


async def _coroutine_function():  # its type is what `async def` makes on MicroPython
    pass


def async_main(application):
    """The application's `async def main(auth)`, or None (no main, or a plain function: the
    blocking path). CPython marks a coroutine function in its code flags (CO_COROUTINE);
    MicroPython gives it a type of its own (a generator function's, which asyncio also runs)."""
    f = getattr(application, "main", None)
    if f is None:
        return None
    if type(f) is not type(_coroutine_function):
        return None  # MicroPython: a plain function (or not a function at all)
    code = getattr(f, "__code__", None)  # CPython: every function has that type
    return f if getattr(code, "co_flags", 0x80) & 0x80 else None


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
        self.unix_time = base.unix_time

    def sleep_ms(self, ms):
        self.board.sleep(ms, True)


class BoardUI(Observer):
    """The observer app.run talks to: the real UI (an Observer), plus what the board needs. (The
    board's own screens, Wi-Fi and clock, and the button's toggle go to the real UI directly.)

    It remembers the last screen the sign-in drew, so that after a Wi-Fi outage (whose screens
    go straight to the real UI) `restore()` draws it again, and it sets the LED: blinking while a
    code waits for the person, on when signed in, off after a failure.
    """

    def __init__(self, ui, board):
        self._ui = ui
        self._board = board
        self._last = None  # (the real UI's method, its arguments, kind)
        self._left = None

    def _show(self, fn, args, led, kind=None):
        self._last = (fn, args, kind)
        self._board.set_led(led)
        if kind != "signed_in":
            self._board.session = None  # no longer signed in: the demo stops drawing
        fn(*args)

    def say(self, line):
        self._ui.say(line)

    def status(self, title, body=""):
        self._show(self._ui.status, (title, body), self._board.led)

    def requesting(self):
        self._show(self._ui.requesting, (), LED_OFF)

    def show_code(self, code):
        self._left = None
        self._show(self._ui.show_code, (code,), LED_BLINK, "code")

    def tick(self, seconds_left):
        self._left = seconds_left
        self._ui.tick(seconds_left)

    def retrying(self, reason, seconds):
        self._ui.retrying(reason, seconds)

    def signed_in(self, token):
        self._show(self._ui.signed_in, (token,), LED_ON, "signed_in")

    def failed(self, err):
        self._show(self._ui.failed, (err,), LED_OFF)

    def stats(self, transport):
        self._ui.stats(transport)

    def restore(self):
        """Draw the last sign-in screen again, without repeating its console line."""
        if self._last is None:
            return
        fn, args, kind = self._last
        ui = self._ui
        out, ui.out = ui.out, _quiet
        try:
            fn(*args)
            if kind == "code" and self._left is not None:
                ui.tick(self._left)
        finally:
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
        self.hw = None  # devauth.board.boot.Hardware: display, watchdog, button, LED, pins
        self._led_pin = None
        self._led_lit = None
        self._button = None  # () -> True while pressed
        self._pressed_at = None
        self._long_done = False
        self._next_link = clock.ticks_ms()
        self._next_tick = clock.ticks_ms()
        self._demo_text = None

    # -- the boot sequence -----------------------------------------------------------------

    def boot(self, opts, display=None, run=None, ui_factory=None, application=None, **aio):
        """Hardware, Wi-Fi, clock (devauth.board.boot, unloaded once done), then app.run() until
        it returns (only with opts["once"]); a long press starts it again. An application with
        `async def main(auth)` gets asyncio instead (devauth.board.aioglue; `aio`: its
        transport= and sleep=, for tests)."""
        from devauth.board import boot as startup

        self.application = application
        hw = startup.hardware(self, display, ui_factory)
        code, w, h = hw, 0, 0
        if not isinstance(hw, int):
            self.attach(hw)
            display, w, h = hw.display, hw.width, hw.height
            code = startup.online(self, opts["config"])
        unload("devauth.board.boot")
        startup = None  # this frame lives on through the sign-in: let the module go
        if code is not None:
            return code
        main = async_main(application)
        if main is not None:  # the application owns the loop: asyncio, only on this path
            from devauth.board import aioglue

            deadline = request_deadline_ms(self.p["watchdog_ms"])
            return aioglue.run(self, opts, display, w, h, main, deadline, NewSignIn, **aio)
        from devauth import app

        run = run or app.run
        while True:
            self.in_app = True
            try:
                return run(
                    opts["config"],
                    display,
                    once=opts["once"],
                    clock=BoardClock(self),  # pyright: ignore[reportArgumentType] (a clock object)
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

    def attach(self, hw):
        """Keep what devauth.board.boot.hardware() brought up; the real UI draws the board's own
        screens (Wi-Fi, clock), the BoardUI around it is what app.run gets."""
        self.hw = hw
        self.wdt = hw.wdt
        self._button = hw.button
        self._led_pin = hw.led
        if hw.led is not None:
            self._led_lit = False
        self.raw = hw.ui
        self.ui = BoardUI(hw.ui, self)

    def open_display(self):
        """The OLED of the profile, or None (devauth.board.boot.open_display); tests replace it
        to see when, in the boot sequence, the display is opened."""
        from devauth.board import boot as startup

        return startup.open_display(self)

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
        if self.raw is not None:
            self.raw.toggle()

    def long_press(self):
        if not self.in_app:
            self.out("Button: held, but there is no sign-in to restart yet")
            return
        self.out("Button: held, starting a new sign-in.")
        raise NewSignIn()

    def new_sign_in(self, config_path):
        """After a long press: forget the tokens (revoking them) and any pending code."""
        if self.raw is not None:
            self.raw.status("New sign-in", "Forgetting the old one...")
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

    def connected(self):
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
            if self.raw is not None:
                self.raw.wifi(ssid)
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
            return WiFiError("Wi-Fi: cannot start joining %s (%s)" % (ssid, clip(e, 80)))
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
            self.app_failed(e)

    def app_failed(self, e):
        """The one console line for an exception out of the application's code."""
        self.out("Application error: %s %s" % (type(e).__name__, clip(e, 80)))

    def problem(self, err, body):
        """A failure of the board's own: the full line on the console, the gist on screen."""
        raw = self.raw
        if raw is not None:
            raw.say("%s: %s" % (err.short, err))
            raw.status(err.short, body)


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
