"""Board profiles (`/board.json` on a board, `boards/NAME.json` in the repository), validated.

`load(path)` / `check(data, where)` return the profile as a dict with every default filled in
(without "description" and "sources", which only people read), or raise `BoardError`: one line
naming the file, the key and what is wrong with it. The same code checks a profile on the host
before `devauth deploy` copies it, and on the board at boot. It is needed only at start-up:
devauth.entry unloads it before the sign-in's modules come in.

    {"name": "heltec-wifi-kit-32", "chip": "esp32",
     "display": {"driver": "ssd1306", "bus": "i2c", "sda": 4, "scl": 15, ...},
     "reset": {"pin": 16},                 # OLED reset, pulsed low before the display starts
     "vext": {"pin": 21, "on": 0},         # OLED power switch and the level that turns it on
     "button": {"pin": 0, "active": 0},    # BOOT/PRG button: level while pressed
     "led": {"pin": 25, "on": 1},          # status LED and the level that lights it
     "watchdog_ms": 60000,
     "sources": {"display.sda": "where that pin number comes from", ...}}
"""

import json

from devauth.errors import ConfigError
from devauth.oled import display as _spec  # the display object's rules: check() and DRIVERS

try:
    from typing import NoReturn  # noqa: F401 (type checkers; MicroPython ignores annotations)
except ImportError:
    pass

CHIPS = ("esp32", "esp32s3", "esp32c3", "rp2040", "unix")
# mpy-cross -march for each chip (None: plain bytecode, the unix port's own architecture).
MARCH = {"esp32": "xtensawin", "esp32s3": "xtensawin", "esp32c3": "rv32imc", "rp2040": "armv6m"}

_KEYS = ("name", "description", "chip", "display", "reset", "vext", "button", "led")
_KEYS += ("watchdog_ms", "sources")
_DISPLAY_KEYS = ("driver", "bus", "i2c_id", "sda", "scl", "freq", "address", "width", "height")
_DISPLAY_KEYS += ("x_offset", "external_vcc", "flip", "spi_id", "sck", "mosi", "cs", "dc", "res")
_DISPLAY_PINS = ("sda", "scl", "sck", "mosi", "cs", "dc", "res")

# GPIOs a profile may name, per chip, as (first, last) ranges; the rest are missing, wired to
# the flash/PSRAM, or carry the serial console (ESP32 datasheet §2.2, ESP32-S3 datasheet §2.3,
# ESP32-C3 datasheet §2.3, RP2040/Pico W datasheets: GP23-25 and GP29 drive the wireless chip).
_GPIO = {
    "esp32": ((0, 0), (2, 2), (4, 5), (12, 19), (21, 23), (25, 27), (32, 39)),
    "esp32s3": ((0, 21), (33, 42), (45, 48)),
    "esp32c3": ((0, 11), (18, 21)),
    "rp2040": ((0, 22), (26, 28)),
    "unix": (),
}
_INPUT_ONLY = {"esp32": (34, 39)}  # no output driver and no internal pull resistors
_NAMED = {"rp2040": ("LED",)}  # Pico W: the LED hangs off the wireless chip
_BOOTSEL = "bootsel"  # the RP2040 BOOTSEL button, read with rp2.bootsel_button()


class BoardError(ConfigError):
    """The board profile is wrong: fix boards/NAME.json (or /board.json) and deploy again."""

    short = "Board error"


def load(path):
    """Read and validate the profile at `path` -> dict."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError:
        raise BoardError("cannot read board profile %s" % path) from None
    except ValueError:
        raise BoardError("%s is not valid JSON" % path) from None
    name = path.rsplit("/", 1)[-1]
    return check(data, name)


def check(data, where="board.json"):
    """Validate a parsed profile; `where` names it in error messages -> dict with defaults."""
    if not isinstance(data, dict):
        _fail(where, "", "must hold a JSON object")
    for key in data:
        if key not in _KEYS and not key.startswith("_"):
            _fail(where, key, "is not a board profile key (%s)" % ", ".join(_KEYS))
    p = {}
    p["name"] = _text(where, data, "name", True)
    _text(where, data, "description", False)  # checked, not kept: no use on the heap
    chip = data.get("chip")
    if chip not in CHIPS:
        _fail(where, "chip", "%s is not one of %s" % (_show(chip), ", ".join(CHIPS)))
    p["chip"] = chip
    p["march"] = MARCH.get(str(chip))
    p["display"] = _display(where, data.get("display"), chip)
    p["reset"] = _part(where, data, "reset", chip, ("pin", "active", "pulse_ms"), 0, 10)
    p["vext"] = _part(where, data, "vext", chip, ("pin", "on", "settle_ms"), 0, 100)
    p["button"] = _button(where, data, chip)
    p["led"] = _part(where, data, "led", chip, ("pin", "on"), 1, 0)
    wd = data.get("watchdog_ms", 0 if chip == "unix" else 60000)
    if not _int(wd) or not (wd == 0 or 1000 <= wd <= 3600000):
        _fail(where, "watchdog_ms", "must be 0 (off) or 1000..3600000 milliseconds")
    if chip == "rp2040" and wd > 8388:
        _fail(where, "watchdog_ms", "%d is over the RP2040 watchdog's 8388 ms" % wd)
    p["watchdog_ms"] = wd
    if not isinstance(data.get("sources", {}), dict):
        _fail(where, "sources", 'must be {"key": "where the value comes from"}')
    _no_pin_twice(where, p)
    return p


def pins(p):
    """[(key, pin)] for every pin the profile claims, e.g. ("display.sda", 4)."""
    out = []
    d = p["display"]
    for k in _DISPLAY_PINS:
        if d.get(k) is not None:
            out.append(("display." + k, d[k]))
    for part in ("reset", "vext", "button", "led"):
        if p[part] is not None and p[part]["pin"] != _BOOTSEL:
            out.append((part + ".pin", p[part]["pin"]))
    return out


# -- parts -----------------------------------------------------------------------------------


def _display(where, d, chip):
    """The display object: its keys, a driver named, then devauth.oled.display.check's rules,
    then what depends on the chip (the terminal is the unix board's; the bus pins' GPIOs)."""
    if not isinstance(d, dict):
        _fail(where, "display", 'must be an object, e.g. {"driver": "ssd1306", "sda": 21, ...}')
    for key in d:
        if key not in _DISPLAY_KEYS:
            _fail(where, "display." + key, "is not a display key (%s)" % ", ".join(_DISPLAY_KEYS))
    if d.get("driver") is None:
        _fail(where, "display.driver", "is missing (%s)" % ", ".join(_spec.DRIVERS))
    try:
        s = _spec.check(d)
    except ValueError as e:
        _fail(where, "", str(e))
    if (s["driver"] == "terminal") != (chip == "unix"):
        _fail(where, "display.driver", "terminal is the unix board's display, and only its")
    out = dict(d)
    out["width"], out["height"] = s["width"], s["height"]
    if s["driver"] == "terminal":
        return out
    bus = out["bus"] = s["bus"]
    need = ("sda", "scl") if bus == "i2c" else ("sck", "mosi", "dc")
    for key in _DISPLAY_PINS:
        if key in need or d.get(key) is not None:
            _pin(where, "display." + key, d.get(key), chip, output=True)
    if bus == "i2c":
        out["address"] = s["address"]
    return out


def _part(where, data, key, chip, keys, level, ms):
    """reset / vext / led: {"pin": P, level key: 0|1, delay key: ms} or absent/null."""
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        _fail(where, key, 'must be an object such as {"pin": 16}')
    for k in v:
        if k not in keys:
            _fail(where, key + "." + k, "is not a key of %s (%s)" % (key, ", ".join(keys)))
    out = {"pin": _pin(where, key + ".pin", v.get("pin"), chip, output=True)}
    out[keys[1]] = _level(where, key + "." + keys[1], v.get(keys[1], level))
    if len(keys) > 2:
        t = v.get(keys[2], ms)
        if not _int(t) or not 0 <= t <= 1000:
            _fail(where, key + "." + keys[2], "must be 0..1000 milliseconds")
        out[keys[2]] = t
    return out


def _button(where, data, chip):
    v = data.get("button")
    if v is None:
        return None
    keys = ("pin", "active", "pull", "long_press_ms")
    if not isinstance(v, dict):
        _fail(where, "button", 'must be an object such as {"pin": 0, "active": 0}')
    for k in v:
        if k not in keys:
            _fail(where, "button." + k, "is not a key of button (%s)" % ", ".join(keys))
    pin = v.get("pin")
    if pin == _BOOTSEL:
        if chip != "rp2040":
            _fail(where, "button.pin", "bootsel is the RP2040's button only")
    else:
        _pin(where, "button.pin", pin, chip, output=False)
    active = _level(where, "button.active", v.get("active", 0))
    pull = v.get("pull", "up" if active == 0 else None)
    if pull not in ("up", "down", None):
        _fail(where, "button.pull", "must be up, down or null")
    lo = _INPUT_ONLY.get(chip)
    if pull and lo and isinstance(pin, int) and lo[0] <= pin <= lo[1]:
        _fail(where, "button.pull", "GPIO %d has no internal pull resistor; use null" % pin)
    lp = v.get("long_press_ms", 2000)
    if not _int(lp) or not 500 <= lp <= 10000:
        _fail(where, "button.long_press_ms", "must be 500..10000 milliseconds")
    return {"pin": pin, "active": active, "pull": pull, "long_press_ms": lp}


def _pin(where, key, v, chip, output):
    if isinstance(v, str) and v in _NAMED.get(chip, ()):
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(where, key, "must be a GPIO number")
    for lo, hi in _GPIO[chip]:
        if lo <= v <= hi:
            break
    else:
        _fail(where, key, "GPIO %d cannot be used on %s (missing, flash or console)" % (v, chip))
    lo_hi = _INPUT_ONLY.get(chip)
    if output and lo_hi and lo_hi[0] <= v <= lo_hi[1]:
        _fail(where, key, "GPIO %d is input-only on %s" % (v, chip))
    return v


def _no_pin_twice(where, p):
    seen = {}
    for key, pin in pins(p):
        if pin in seen:
            _fail(where, key, "GPIO %s is already used by %s" % (pin, seen[pin]))
        seen[pin] = key


# -- helpers ---------------------------------------------------------------------------------


def _level(where, key, v):
    if v not in (0, 1) or isinstance(v, bool):
        _fail(where, key, "must be 0 or 1 (the pin level)")
    return v


def _text(where, data, key, required):
    v = data.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v:
        _fail(where, key, "must be a non-empty string")
    return v


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _show(v):
    return repr(str(v)[:40])


def _fail(where, key, problem) -> "NoReturn":
    raise BoardError(("%s: %s %s" % (where, key, problem)).replace(":  ", ": "))
