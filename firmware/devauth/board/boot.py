"""The board's start-up (steps 2-5 of devauth.board.glue's boot sequence), in a module of its own:
Board.boot imports it, calls start(), and unloads it before the sign-in, so that its code is
not on the heap while the TLS handshakes need the room.

Display first, so that every later step is visible; then the watchdog, the button and the LED;
then Wi-Fi and the clock (NTP) before any TLS handshake.
"""

import json

from devauth.board.glue import DEFAULT_NTP, MAX_NTP_PAUSE, BoardUI, ClockError, _clip
from devauth.errors import ConfigError


class BoardPinError(ConfigError):
    short = "Board error"


def start(board, opts, display=None, ui_factory=None):
    """Bring the board up -> (display, width, height), or an exit code when it cannot."""
    p = board.p
    try:
        power_display(board)
        if display is None:
            opener = getattr(board, "open_display", None)  # tests watch the order through it
            display = opener() if opener is not None else open_display(board)
        start_watchdog(board)
        setup_button(board)
        setup_led(board)
    except BoardPinError as e:
        print("%s: %s" % (e.short, e))
        return 2
    w, h = p["display"]["width"], p["display"]["height"]
    if ui_factory is None:
        from devauth.oled.ui import UI

        raw = UI(display, w, h)
    else:
        raw = ui_factory(display, w, h)
    board.raw = raw
    board.ui = BoardUI(raw, board)
    raw.status("devauth", "Starting...")
    check_settings(board, read_settings(opts["config"]))
    if board.network is not None:
        if not board.wifi and not board._connected():
            err = ConfigError("wifi is missing in %s (ssid and password)" % opts["config"])
            board.problem(err, "wifi is missing in devauth.json")
            return err.exit_code
        board.connect_wifi()
    set_clock(board)
    return display, w, h


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
            "Note: the watchdog (%d s) is shorter than the network timeout (%d s): "
            "each request is cut at %d ms" % (wd // 1000, t, wd * 3 // 4)
        )


# -- hardware --------------------------------------------------------------------------------


def _pin(board, key, pin, mode, **kw):
    try:
        obj = board.machine.Pin(pin, mode, **kw)
    except (ValueError, OSError, TypeError) as e:
        raise BoardPinError("board.json: %s %s: %s" % (key, pin, _clip(e))) from None
    board._pins.append(obj)
    return obj


def power_display(board):
    """Vext on (boards that switch the OLED's supply), then the reset pulse (RES# low)."""
    Pin, sleep = board.machine.Pin, board.clock.sleep_ms
    v = board.p["vext"]
    if v is not None:
        _pin(board, "vext.pin", v["pin"], Pin.OUT, value=v["on"])
        sleep(v["settle_ms"])
    r = board.p["reset"]
    if r is not None:
        pin = _pin(board, "reset.pin", r["pin"], Pin.OUT, value=1 - r["active"])
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
        board.out("Display: %s; run `mpremote mip install ssd1306`" % _clip(e))
    except (OSError, ValueError) as e:
        where = "SDA %s / SCL %s, address 0x%02x" % (
            spec.get("sda"),
            spec.get("scl"),
            spec.get("address", 0x3C),
        )
        if spec.get("bus") == "spi":
            where = "SPI, CS %s / DC %s" % (spec.get("cs"), spec.get("dc"))
        board.out("Display: no OLED found (%s: %s); continuing without it" % (where, _clip(e)))
    return None


def start_watchdog(board):
    ms = board.p["watchdog_ms"]
    if ms and hasattr(board.machine, "WDT"):
        board.wdt = board.machine.WDT(timeout=ms)


def setup_button(board):
    b = board.p["button"]
    if b is None:
        return
    if b["pin"] == "bootsel":
        import rp2  # pyright: ignore[reportMissingImports] (the rp2 port's module)

        board._button = lambda: rp2.bootsel_button() == 1
        return
    Pin = board.machine.Pin
    pull = {"up": Pin.PULL_UP, "down": getattr(Pin, "PULL_DOWN", None), None: None}[b["pull"]]
    pin = _pin(board, "button.pin", b["pin"], Pin.IN, pull=pull)
    active = b["active"]
    board._button = lambda: pin.value() == active


def setup_led(board):
    led = board.p["led"]
    if led is not None:
        Pin = board.machine.Pin
        board._led_pin = _pin(board, "led.pin", led["pin"], Pin.OUT, value=1 - led["on"])
        board._led_lit = False


# -- clock -----------------------------------------------------------------------------------


def set_clock(board):
    """Set the wall clock over NTP before any TLS handshake; retried until it works.

    A clock that is already set (a soft reset keeps the RTC) gets one try and is kept."""
    ntp = board.ntptime
    if ntp is None:
        return
    server = (board.wifi or {}).get("ntp_server") or DEFAULT_NTP
    was_set = board._unix_time() is not None
    pause = 2
    while True:
        board._screen("clock", (), "Clock", "Getting the time from %s..." % server)
        try:
            ntp.host = server
            ntp.settime()
            problem = "its time is before 2023"
            if board._unix_time() is not None:
                board.out("Clock: set from %s" % server)
                return
        except (OSError, OverflowError, IndexError, ValueError) as e:
            problem = _clip(e) or type(e).__name__
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
