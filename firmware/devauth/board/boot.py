"""The board's start-up (steps 2-5 of the boot sequence in boards/README.md), in a module of
its own: Board.boot imports it, calls hardware() then online(), and unloads it before
the sign-in, so that its code is not on the heap while the TLS handshakes need the room.

Display first, so that every later step is visible; then the watchdog, the button and the LED
(hardware() returns them as a Hardware, which the Board keeps); then Wi-Fi and the clock (NTP)
before any TLS handshake (online(), through the Board's own Wi-Fi code and its main loop).
"""

import json

from devauth.errors import ConfigError, DevauthError, clip

DEFAULT_NTP = "pool.ntp.org"
MAX_NTP_PAUSE = 300  # seconds: the back-off ceiling between NTP attempts


class BoardPinError(ConfigError):
    short = "Board error"


class ClockError(DevauthError):
    short = "Clock not set"


class Hardware:
    """The handles hardware() brought up, for the Board to keep."""

    __slots__ = ("display", "width", "height", "ui", "wdt", "button", "led", "pins")

    def __init__(self, display, width, height, ui, wdt, button, led, pins):
        self.display = display  # framebuf-like, or None: the board runs on the console
        self.width = width
        self.height = height
        self.ui = ui  # the real UI (a devauth.observer.Observer) drawing on the display
        self.wdt = wdt  # machine.WDT, or None
        self.button = button  # () -> True while pressed, or None
        self.led = led  # the LED's Pin, or None
        self.pins = pins  # every Pin object made, kept alive


def hardware(board, display=None, ui_factory=None):
    """Power and open the OLED, start the watchdog, set up the button and the LED, make the UI
    -> Hardware, or exit code 2 when a pin of the profile cannot be used."""
    p = board.p
    pins = []
    try:
        power_display(board, pins)
        if display is None:
            display = board.open_display()
        wdt = start_watchdog(board)
        button = setup_button(board, pins)
        led = setup_led(board, pins)
    except BoardPinError as e:
        print("%s: %s" % (e.short, e))
        return 2
    w, h = p["display"]["width"], p["display"]["height"]
    if ui_factory is None:
        from devauth.oled.ui import UI

        ui = UI(display, w, h)
    else:
        ui = ui_factory(display, w, h)
    ui.status("devauth", "Starting...")
    return Hardware(display, w, h, ui, wdt, button, led, pins)


def online(board, config_path):
    """The settings of devauth.json, then Wi-Fi and the clock -> None, or an exit code."""
    check_settings(board, read_settings(config_path))
    if board.network is not None:
        if not board.wifi and not board.connected():
            err = ConfigError("wifi is missing in %s (ssid and password)" % config_path)
            board.problem(err, "wifi is missing in devauth.json")
            return err.exit_code
        board.connect_wifi()
    set_clock(board)
    return None


def read_settings(path):
    """The raw device config (for wifi, board, timeout) or {}; devauth.config validates it."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_settings(board, s):
    wifi = s.get("wifi")
    if isinstance(wifi, dict) and isinstance(wifi.get("ssid"), str):
        board.wifi = wifi
    name, mine = s.get("board"), board.p["name"]
    if isinstance(name, str) and name != mine:
        board.out("Warning: devauth.json is for board %s, this is %s" % (name, mine))
    t = s.get("timeout", 15)
    wd = board.p["watchdog_ms"]
    if wd and isinstance(t, int) and t * 1000 >= wd:
        board.out(
            "Warning: the watchdog (%d s) is shorter than the network timeout (%d s): "
            "a stalled connection restarts the board" % (wd // 1000, t)
        )


# -- hardware --------------------------------------------------------------------------------


def _pin(board, pins, key, pin, mode, **kw):
    try:
        obj = board.machine.Pin(pin, mode, **kw)
    except (ValueError, OSError, TypeError) as e:
        raise BoardPinError("board.json: %s %s: %s" % (key, pin, clip(e, 80))) from None
    pins.append(obj)
    return obj


def power_display(board, pins):
    """Vext on (boards that switch the OLED's supply), then the reset pulse (RES# low)."""
    Pin, sleep = board.machine.Pin, board.clock.sleep_ms
    v = board.p["vext"]
    if v is not None:
        _pin(board, pins, "vext.pin", v["pin"], Pin.OUT, value=v["on"])
        sleep(v["settle_ms"])
    r = board.p["reset"]
    if r is not None:
        pin = _pin(board, pins, "reset.pin", r["pin"], Pin.OUT, value=1 - r["active"])
        sleep(1)
        pin.value(r["active"])
        sleep(r["pulse_ms"])
        pin.value(1 - r["active"])
        sleep(r["pulse_ms"])


def open_display(board):
    """The framebuf display from devauth.oled.display, or None (the board runs on the console)."""
    spec = board.p["display"]
    try:
        from devauth.oled.display import open_display
    except ImportError:
        board.out("Display: devauth.oled.display is missing; continuing without the screen")
        return None
    try:
        return open_display(spec, board.machine)
    except ImportError as e:
        board.out("Display: %s; run `mpremote mip install ssd1306`" % clip(e, 80))
    except (OSError, ValueError) as e:
        where = "SDA %s / SCL %s, address 0x%02x" % (
            spec.get("sda"),
            spec.get("scl"),
            spec.get("address", 0x3C),
        )
        if spec.get("bus") == "spi":
            where = "SPI, CS %s / DC %s" % (spec.get("cs"), spec.get("dc"))
        board.out("Display: no OLED found (%s: %s); continuing without it" % (where, clip(e, 80)))
    return None


def start_watchdog(board):
    """machine.WDT started with the profile's timeout, or None (off, or the port has none)."""
    ms = board.p["watchdog_ms"]
    if ms and hasattr(board.machine, "WDT"):
        return board.machine.WDT(timeout=ms)
    return None


def setup_button(board, pins):
    """The button as () -> True while pressed, or None."""
    b = board.p["button"]
    if b is None:
        return None
    if b["pin"] == "bootsel":
        import rp2  # pyright: ignore[reportMissingImports] (the rp2 port's module)

        return lambda: rp2.bootsel_button() == 1
    Pin = board.machine.Pin
    pull = {"up": Pin.PULL_UP, "down": getattr(Pin, "PULL_DOWN", None), None: None}[b["pull"]]
    pin = _pin(board, pins, "button.pin", b["pin"], Pin.IN, pull=pull)
    active = b["active"]
    return lambda: pin.value() == active


def setup_led(board, pins):
    """The LED's Pin, switched off, or None."""
    led = board.p["led"]
    if led is None:
        return None
    Pin = board.machine.Pin
    return _pin(board, pins, "led.pin", led["pin"], Pin.OUT, value=1 - led["on"])


# -- clock -----------------------------------------------------------------------------------


def set_clock(board):
    """Set the wall clock over NTP before any TLS handshake; retried until it works.

    A clock that is already set (a soft reset keeps the RTC) gets one try and is kept."""
    ntp = board.ntptime
    if ntp is None:
        return
    server = (board.wifi or {}).get("ntp_server") or DEFAULT_NTP
    was_set = board.clock.unix_time() is not None
    pause = 2
    while True:
        board.raw.clock(server)
        try:
            ntp.host = server
            ntp.settime()
            problem = "its time is before 2023"
            if board.clock.unix_time() is not None:
                board.out("Clock: set from %s" % server)
                return
        except (OSError, OverflowError, IndexError, ValueError) as e:
            problem = clip(e, 80) or type(e).__name__
        if was_set:
            board.out("Clock: NTP server %s failed (%s); keeping the clock" % (server, problem))
            return
        msg = "certificate checks need the time, but NTP server %s failed (%s); " % (
            server,
            problem,
        )
        msg += "retrying in %d s (set wifi.ntp_server if this network blocks it)" % pause
        board.problem(ClockError(msg), "Certificate checks need the time\nRetry in %d s" % pause)
        board.sleep(pause * 1000)
        pause = min(MAX_NTP_PAUSE, pause * 2)
