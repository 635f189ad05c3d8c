"""Fake `machine`, `network` and `ntptime` for the board tests, on CPython and MicroPython.

They are passed to devauth.board.glue (or put into sys.modules by `install`, for main.py); nothing
here shadows a real module on the path. Time comes from `now()`: a FakeClock's (tests) or the
real ticks (end-to-end runs), so Wi-Fi joins and drops happen at scripted moments.
"""

import sys

from mptest import FakeClock

SET_TIME = 1767225600  # 2026-01-01: what the fake NTP server says


# The board tests' clock: mptest's FakeClock, whose wall clock the fake NTP sets (set_unix).
# (From mptest, not fakes: fakes loads devauth.net.http, heap the board tests need on MicroPython.)
WallClock = FakeClock


def _ticks():
    import time

    return time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.monotonic() * 1000)


# -- machine -----------------------------------------------------------------------------------


class FakeMachine:
    """Pins, WDT and mem32. `log` holds ("pin", id, mode, value) / ("set", id, v) / ("wdt", ms)
    in order; `presses` are (from_ms, to_ms) spans during which the button reads pressed."""

    def __init__(self, now, button_active=0, bad_pins=()):
        self.now = now
        self.log = []
        self.pins = {}
        self.presses = []
        self.button_active = button_active
        self.bad_pins = bad_pins
        self.wdts = []
        self.mem32 = {0x40058000: 0x40000000}
        self.devices = [0x3C]  # what answers on I2C
        hw = self

        class Pin(_Pin):
            pass

        Pin.hw = hw
        self.Pin = Pin

    def I2C(self, id=0, scl=None, sda=None, freq=400000):
        self.log.append(("i2c", id, scl.id if scl else None, sda.id if sda else None))
        return FakeI2C(self.devices)

    def SoftI2C(self, scl=None, sda=None, freq=400000):
        return self.I2C(-1, scl, sda, freq)

    def WDT(self, id=0, timeout=5000):
        w = FakeWDT(self.now, timeout)
        self.wdts.append(w)
        self.log.append(("wdt", timeout))
        return w

    def pressed(self):
        t = self.now()
        for a, b in self.presses:
            if a <= t < b:
                return True
        return False

    def level(self, pin):
        """The last level written to `pin` (None if never)."""
        p = self.pins.get(pin)
        return None if p is None else p.level


class _Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    hw = None

    def __init__(self, pin, mode=-1, pull=None, value=None):
        hw = self.hw
        if pin in hw.bad_pins:
            raise ValueError("invalid pin")
        self.id = pin
        self.mode = mode
        self.pull = pull
        self.level = value
        hw.pins[pin] = self
        hw.log.append(("pin", pin, mode, value))

    def value(self, v=None):
        hw = self.hw
        if v is None:
            if self.mode == self.IN:
                return hw.button_active if hw.pressed() else 1 - hw.button_active
            return self.level
        self.level = v
        hw.log.append(("set", self.id, v))
        return None

    def __call__(self, v=None):
        return self.value(v)


class FakeI2C:
    def __init__(self, devices):
        self.devices = devices
        self.writes = 0

    def scan(self):
        return list(self.devices)

    def writeto(self, addr, buf, stop=True):
        if addr not in self.devices:
            raise OSError(19)  # ENODEV: nothing acknowledged the address
        self.writes += 1
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        for buf in vector:
            self.writeto(addr, buf, stop)


MONO_VLSB = 0


def _noop(*args, **kw):
    return 0


class _Blank:
    """CPython has no framebuf: a frame buffer that draws nothing (pixels are not under test)."""

    def __init__(self, buffer, width, height, format=MONO_VLSB):
        pass

    def __getattr__(self, name):  # fill, pixel, fill_rect, text, blit, ...
        return _noop


try:
    from framebuf import FrameBuffer as _Frame
except ImportError:
    _Frame = _Blank


class SSD1306_I2C(_Frame):
    """micropython-lib's ssd1306.SSD1306_I2C, enough of it: commands and data go over the I2C
    bus (so a missing panel raises OSError), `shows` counts frames sent."""

    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        self.width = width
        self.height = height
        self.i2c = i2c
        self.addr = addr
        self.buffer = bytearray(width * height // 8)
        self.shows = 0
        super().__init__(self.buffer, width, height, MONO_VLSB)
        self.write_cmd(0xAE)  # display off: the first thing the real driver sends

    def write_cmd(self, cmd):
        self.i2c.writeto(self.addr, bytearray((0x80, cmd)))

    def write_data(self, buf):
        self.i2c.writeto(self.addr, b"\x40" + bytes(buf))
        self.shows += 1

    def show(self):
        self.write_data(self.buffer)


class FakeSSD1306Module:
    SSD1306_I2C = SSD1306_I2C


class FakeWDT:
    def __init__(self, now, timeout):
        self.now = now
        self.timeout = timeout
        self.started = now()
        self.last = self.started
        self.feeds = 0
        self.longest = 0  # the longest time without a feed: must stay below `timeout`

    def feed(self):
        t = self.now()
        self.longest = max(self.longest, t - self.last)
        self.last = t
        self.feeds += 1


# -- network -----------------------------------------------------------------------------------


class FakeNetwork:
    """The ESP32 port's network module: WLAN(STA_IF) and the STAT_* codes."""

    STA_IF = 0
    AP_IF = 1
    STAT_IDLE = 1000
    STAT_CONNECTING = 1001
    STAT_GOT_IP = 1010
    STAT_NO_AP_FOUND = 201
    STAT_WRONG_PASSWORD = 202
    STAT_BEACON_TIMEOUT = 200
    LINK_LOST = 200  # what status() says after the access point goes away

    def __init__(self, now, outcomes=(), drops=()):
        self.wlan = FakeWLAN(self, now, outcomes, drops)

    def WLAN(self, interface=0):
        return self.wlan


class FakeCYW43Network(FakeNetwork):
    """The Pico W's codes (CYW43 link states)."""

    STAT_IDLE = 0
    STAT_CONNECTING = 1
    STAT_GOT_IP = 3
    STAT_CONNECT_FAIL = -1
    STAT_NO_AP_FOUND = -2
    STAT_WRONG_PASSWORD = -3
    LINK_LOST = -1


class FakeWLAN:
    """Each connect() takes the next outcome: "ok" (up after 500 ms), "wrong_password",
    "no_ap", "handshake" (fail after 1 s), "timeout" (never). `drops` are times (ms) at which
    an up link goes down."""

    JOIN_MS = 500
    FAIL_MS = 1000
    CODES = {"wrong_password": "STAT_WRONG_PASSWORD", "no_ap": "STAT_NO_AP_FOUND"}

    def __init__(self, net, now, outcomes, drops):
        self.net = net
        self.now = now
        self.outcomes = list(outcomes)
        self.drops = list(drops)
        self.connects = []  # (time, ssid, password)
        self.configured = {}
        self.is_active = False
        self._up_at = None
        self._fail = None  # (at, status)
        self._requested = False
        self._down = None

    def active(self, v=None):
        if v is not None:
            self.is_active = bool(v)
        return self.is_active

    def config(self, *args, **kw):
        self.configured.update(kw)

    def connect(self, ssid, password=None):
        if not self.is_active:
            raise OSError("STA must be active")
        t = self.now()
        self.connects.append((t, ssid, password))
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        self._requested = True
        self._up_at = self._fail = self._down = None
        if outcome == "ok":
            self._up_at = t + self.JOIN_MS
        elif outcome == "handshake":
            self._fail = (t + self.FAIL_MS, 15)
        elif outcome != "timeout":
            self._fail = (t + self.FAIL_MS, getattr(self.net, self.CODES[outcome]))

    def disconnect(self):
        self._requested = False
        self._up_at = self._fail = None

    def isconnected(self):
        t = self.now()
        if self._up_at is None or t < self._up_at:
            return False
        for d in self.drops:
            if self._up_at <= d <= t:
                self.drops.remove(d)
                self._up_at = None
                self._down = self.net.LINK_LOST
                return False
        return True

    def status(self, param=None):
        if self.isconnected():
            return self.net.STAT_GOT_IP
        if self._fail is not None and self.now() >= self._fail[0]:
            return self._fail[1]
        if self._down is not None:
            return self._down
        return self.net.STAT_CONNECTING if self._requested else self.net.STAT_IDLE

    def ifconfig(self):
        return ("10.0.0.7", "255.255.255.0", "10.0.0.1", "10.0.0.1")


class FakeNTP:
    """ntptime: settime() takes the next outcome, "ok" (sets the clock) or "fail" (timeout)."""

    def __init__(self, outcomes=(), clock=None):
        self.outcomes = list(outcomes)
        self.clock = clock
        self.host = "pool.ntp.org"
        self.calls = []  # (host, ok)

    def settime(self):
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        self.calls.append((self.host, outcome))
        if outcome != "ok":
            raise OSError(110)  # ETIMEDOUT, as ntptime's socket says
        if self.clock is not None:
            self.clock.set_unix(SET_TIME)


def install(machine, network=None, ntptime=None, ssd1306=FakeSSD1306Module):
    """Put the fakes into sys.modules (for main.py, which imports them by name); -> undo()."""
    saved = {}
    mods = (("machine", machine), ("network", network), ("ntptime", ntptime), ("ssd1306", ssd1306))
    for name, mod in mods:
        saved[name] = sys.modules.get(name)
        if mod is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = mod

    def undo():
        for name in saved:
            if saved[name] is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = saved[name]

    return undo


def now_of(clock):
    """A `now()` for the fakes: the FakeClock's time, or the real ticks."""
    if clock is None:
        return _ticks
    return clock.ticks_ms
