"""The OLED from a board profile's "display" object: a framebuf-like object with show().

    d = open_display({"driver": "ssd1306", "bus": "i2c", "sda": 21, "scl": 22}, machine)
    d.fill(0); d.fill_rect(0, 0, 8, 8, 1); d.show()

Drivers: "ssd1306" is micropython-lib's driver (`mip install ssd1306`), over I2C or SPI;
"adafruit_ssd1306" is Adafruit's CircuitPython driver, given `machine.I2C` through a small
busio-style adapter; "terminal" is the OLED mirrored in a terminal (devauth.oled.termdisplay).
Power (Vext) and reset pulses are the board glue's, before `open_display`. Both SSD1306
drivers get the column offset of narrow panels (`x_offset`: where the panel's column 0 sits in
the controller's 128 columns; by default (128 - width) // 2, which is 28 on most 72x40 boards)
and a 180 degree `flip`.

`check(spec)` holds the rules of a "display" object, the one place they are written: the
board profile (devauth.board.profile) checks them with it too. A bad spec raises ValueError
naming the key; a panel that does not answer raises OSError.
"""

DRIVERS = ("ssd1306", "adafruit_ssd1306", "terminal")
BUSES = ("i2c", "spi")
# key: (default, lowest, highest) of the whole numbers; freq is the bus clock in Hz.
_I2C = {"i2c_id": (0, -1, 9), "freq": (400000, 10000, 3400000), "address": (0x3C, 0x08, 0x77)}
_SPI = {"spi_id": (1, 0, 9), "freq": (10000000, 100000, 80000000)}

_SET_COL_ADDR = 0x21
_SET_PAGE_ADDR = 0x22
_SET_SEG_REMAP = 0xA0
_SET_COM_OUT_DIR = 0xC0


def check(spec):
    """The display object's rules -> a dict with every default filled in; ValueError names the
    key that is wrong. (Pins are whole numbers here; which GPIOs a chip has is the profile's.)"""
    if not isinstance(spec, dict):
        raise ValueError("display must be an object with a driver")
    s = {}
    driver = s["driver"] = spec.get("driver", "ssd1306")
    if driver not in DRIVERS:
        raise ValueError("display.driver %r is not one of %s" % (driver, ", ".join(DRIVERS)))
    width = s["width"] = _int(spec, "width", 128, 8, 128)
    height = s["height"] = _int(spec, "height", 64, 8, 64)
    if height % 8:
        raise ValueError("display.height %d is not a multiple of 8" % height)
    s["x_offset"] = _int(spec, "x_offset", (128 - width) // 2, 0, 128 - width)
    for key in ("flip", "external_vcc"):
        v = s[key] = spec.get(key, False)
        if not isinstance(v, bool):
            raise ValueError("display.%s must be true or false" % key)
    if driver == "terminal":
        return s
    bus = s["bus"] = spec.get("bus", "i2c")
    if bus not in BUSES:
        raise ValueError("display.bus %r is not one of %s" % (bus, ", ".join(BUSES)))
    if driver == "adafruit_ssd1306" and bus == "spi":
        raise ValueError("display.bus spi: use driver ssd1306 (adafruit_ssd1306 is I2C only here)")
    rules = _I2C if bus == "i2c" else _SPI
    for key in rules:
        s[key] = _int(spec, key, *rules[key])
    return s


def open_display(spec, machine=None):
    """A framebuf-like display (`fill`, `pixel`, `fill_rect`, `text`, ..., `show`) for `spec`."""
    s = check(spec)
    width, height = s["width"], s["height"]
    if s["driver"] == "terminal":
        from devauth.oled.termdisplay import TermDisplay

        return TermDisplay(width, height)
    if machine is None:
        import machine
    adafruit = s["driver"] == "adafruit_ssd1306"
    ext_vcc = s["external_vcc"]
    if s["bus"] == "i2c":
        i2c = _i2c(spec, s, machine)
        args = (BusioI2C(i2c) if adafruit else i2c,)
        kw = {"addr": s["address"], "external_vcc": ext_vcc}
        where = "I2C address 0x%02x" % s["address"]
    else:
        args = _spi(spec, s, machine)  # spi, dc, res, cs
        kw = {"external_vcc": ext_vcc}
        where = "SPI"
    base = _driver(adafruit, s["bus"])
    try:
        d = _panel(base, s["x_offset"], adafruit)(width, height, *args, **kw)
    except (OSError, ValueError) as e:  # adafruit's bus device says ValueError for no answer
        raise OSError("display: the SSD1306 on %s does not answer (%s)" % (where, e)) from None
    if s["flip"]:  # rotate 180 degrees: mirror columns and rows (the drivers' default is 0xA1 0xC8)
        d.write_cmd(_SET_SEG_REMAP)
        d.write_cmd(_SET_COM_OUT_DIR)
    return d


def _driver(adafruit, bus):
    """The driver class, imported only now (neither module is part of MicroPython)."""
    try:
        if adafruit:
            import adafruit_ssd1306

            return adafruit_ssd1306.SSD1306_I2C
        import ssd1306

        return ssd1306.SSD1306_I2C if bus == "i2c" else ssd1306.SSD1306_SPI
    except ImportError as e:
        if adafruit:
            raise ImportError("display.driver adafruit_ssd1306 needs its library: %s" % e) from None
        raise ImportError(
            "display.driver ssd1306 needs micropython-lib's: mip install ssd1306"
        ) from None


def _panel(base, x_offset, adafruit):
    """`base` with a show() that writes the panel's columns at `x_offset` in GDDRAM."""

    class Panel(base):
        def show(self):
            cmd = self.write_cmd
            cmd(_SET_COL_ADDR)
            cmd(x_offset)
            cmd(x_offset + self.width - 1)
            cmd(_SET_PAGE_ADDR)
            cmd(0)
            cmd(self.height // 8 - 1)
            if adafruit:
                self.write_framebuf()
            else:
                self.write_data(self.buffer)

    return Panel


def _int(spec, key, default, lo, hi):
    v = spec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("display.%s must be a whole number" % key)
    if not lo <= v <= hi:
        raise ValueError("display.%s %d is outside %d..%d" % (key, v, lo, hi))
    return v


def _pin(spec, key, machine, required=False):
    if spec.get(key) is None:
        if required:
            raise ValueError("display.%s (a pin number) is missing" % key)
        return None
    return machine.Pin(_int(spec, key, 0, 0, 99))


def _i2c(spec, s, machine):
    """machine.I2C (i2c_id -1: SoftI2C) on the profile's pins, or the port's default pins."""
    i2c_id, freq = s["i2c_id"], s["freq"]
    sda = _pin(spec, "sda", machine)
    scl = _pin(spec, "scl", machine)
    if (sda is None) != (scl is None):
        raise ValueError("display.sda and display.scl go together")
    if i2c_id < 0:
        return machine.SoftI2C(scl=scl, sda=sda, freq=freq)
    if sda is None:
        return machine.I2C(i2c_id, freq=freq)
    return machine.I2C(i2c_id, scl=scl, sda=sda, freq=freq)


def _spi(spec, s, machine):
    spi_id, baud = s["spi_id"], s["freq"]
    sck = _pin(spec, "sck", machine)
    mosi = _pin(spec, "mosi", machine)
    if sck is None or mosi is None:
        spi = machine.SPI(spi_id, baudrate=baud)
    else:
        spi = machine.SPI(spi_id, baudrate=baud, sck=sck, mosi=mosi)
    dc = _pin(spec, "dc", machine, required=True)
    res = _pin(spec, "res", machine) or NoPin()
    cs = _pin(spec, "cs", machine) or NoPin()
    return spi, dc, res, cs


class NoPin:
    """A pin the panel does not wire (CS tied low, reset done by the board glue)."""

    OUT = 1

    def init(self, *args, **kw):
        pass

    def __call__(self, value=None):
        return 0


class BusioI2C:
    """`machine.I2C` as the busio.I2C that adafruit_bus_device expects (single owner: the lock
    always succeeds). `start`/`end` slice through a memoryview, without copying."""

    def __init__(self, i2c):
        self.i2c = i2c

    def try_lock(self):
        return True

    def unlock(self):
        pass

    def scan(self):
        return self.i2c.scan()

    def writeto(self, address, buffer, start=0, end=None):
        self.i2c.writeto(address, memoryview(buffer)[start:end])

    def readfrom_into(self, address, buffer, start=0, end=None):
        self.i2c.readfrom_into(address, memoryview(buffer)[start:end])

    def writeto_then_readfrom(
        self, address, out_buffer, in_buffer, out_start=0, out_end=None, in_start=0, in_end=None
    ):
        self.i2c.writeto(address, memoryview(out_buffer)[out_start:out_end], False)
        self.i2c.readfrom_into(address, memoryview(in_buffer)[in_start:in_end])
