"""devauth.oled.display: board profiles to SSD1306 drivers, proved on the wire (dual test).

A fake `machine` records every I2C transaction and SPI write; a small SSD1306 model decodes
them (commands, column/page windows, GDDRAM writes) back into the bitmap the panel would show,
so what is checked is what goes over the bus. adafruit_ssd1306 is Adafruit's real driver (on
MicroPython it comes from the venv's site-packages); micropython-lib's `ssd1306` is used when
installed, else a stand-in with its API (constructor, write_cmd/write_data, show) below.
"""

import sys

from devauth.oled.display import BusioI2C, open_display
from devauth.oled.termdisplay import TermDisplay
from devauth.oled.ui import UI
from framebuf import FrameBuffer  # CPython: the shim (tools/devauth_tools/shims)
from mptest import raises
from test_screen import Code, Panel

# -- a fake machine module -------------------------------------------------------------------


class Pin:
    OUT = 1

    def __init__(self, n):
        self.n = n
        self.v = 0

    def init(self, mode=None, value=None):
        if value is not None:
            self.v = value

    def __call__(self, v=None):
        if v is None:
            return self.v
        self.v = v


class I2C:
    def __init__(self, i2c_id=0, scl=None, sda=None, freq=400000, answer=True):
        self.args = (i2c_id, scl.n if scl else None, sda.n if sda else None, freq)
        self.writes = []  # (address, bytes)
        self.answer = answer

    def writeto(self, addr, buf, stop=True):
        if not self.answer:
            raise OSError(19)  # ENODEV: no ACK
        self.writes.append((addr, bytes(buf)))

    def writevto(self, addr, bufs, stop=True):
        self.writeto(addr, b"".join(bytes(b) for b in bufs))

    def readfrom_into(self, addr, buf, stop=True):
        if not self.answer:
            raise OSError(19)
        for i in range(len(buf)):
            buf[i] = 0

    def scan(self):
        return [0x3C]


class SPI:
    def __init__(self, spi_id=1, baudrate=0, sck=None, mosi=None):
        self.args = (spi_id, sck.n if sck else None, mosi.n if mosi else None)
        self.writes = []  # (dc level, bytes)
        self.dc = None

    def init(self, **kw):
        pass

    def write(self, buf):
        self.writes.append((self.dc(), bytes(buf)))


class Machine:
    """Stands in for the `machine` module; keeps the buses it made."""

    def __init__(self, answer=True, dc=None):
        self.answer = answer
        self.buses = []
        self.pins = {}
        self.dc = dc  # the SPI data/command pin number: the fake SPI records its level

    def Pin(self, n):
        self.pins[n] = self.pins.get(n) or Pin(n)
        return self.pins[n]

    def I2C(self, *args, **kw):
        bus = I2C(*args, answer=self.answer, **kw)
        self.buses.append(bus)
        return bus

    def SoftI2C(self, **kw):
        return self.I2C(-1, **kw)

    def SPI(self, *args, **kw):
        bus = SPI(*args, **kw)
        bus.dc = lambda: self.Pin(self.dc).v
        self.buses.append(bus)
        return bus


# -- an SSD1306, as far as the bytes on the wire go ------------------------------------------

ARGS = {0x20: 1, 0x21: 2, 0x22: 2, 0x81: 1, 0xA8: 1, 0xD3: 1, 0xDA: 1, 0xD5: 1, 0xD9: 1}
ARGS.update({0xDB: 1, 0x8D: 1, 0xAD: 1})


class SSD1306Model:
    def __init__(self):
        self.ram = [bytearray(128) for _ in range(8)]
        self.commands = []
        self._cmd = None
        self._need = 0
        self.cols = (0, 127)
        self.pages = (0, 7)
        self.col = self.page = 0
        self.on = False

    def command(self, b):
        if self._need:
            self._cmd.append(b)
            self._need -= 1
        else:
            self._cmd = [b]
            self._need = ARGS.get(b, 0)
        if not self._need:
            self._apply(self._cmd)

    def _apply(self, c):
        self.commands.append(tuple(c))
        if c[0] == 0x21:
            self.cols = (c[1], c[2])
            self.col = c[1]
        elif c[0] == 0x22:
            self.pages = (c[1], c[2])
            self.page = c[1]
        elif c[0] in (0xAE, 0xAF):
            self.on = c[0] == 0xAF

    def data(self, data):
        for b in data:  # horizontal addressing mode
            self.ram[self.page][self.col] = b
            self.col += 1
            if self.col > self.cols[1]:
                self.col = self.cols[0]
                self.page = self.page + 1 if self.page < self.pages[1] else self.pages[0]

    def i2c(self, writes, address=0x3C):
        for addr, buf in writes:
            if addr != address or not buf:
                continue
            if buf[0] == 0x80:  # Co=1 D/C#=0: one command byte
                self.command(buf[1])
            elif buf[0] == 0x00:  # a stream of command bytes
                for b in buf[1:]:
                    self.command(b)
            elif buf[0] == 0x40:  # GDDRAM data
                self.data(buf[1:])
        return self

    def spi(self, writes):
        for dc, buf in writes:
            if dc:
                self.data(buf)
            else:
                for b in buf:
                    self.command(b)
        return self

    def panel(self, w, h, x_offset):
        """The MONO_VLSB frame of a w x h panel wired at column `x_offset`."""
        out = bytearray(w * h // 8)
        for page in range(h // 8):
            out[page * w : page * w + w] = self.ram[page][x_offset : x_offset + w]
        return bytes(out)


# -- micropython-lib's ssd1306, or a stand-in with its API ------------------------------------


class _StandIn(FrameBuffer):
    def __init__(self, width, height, external_vcc):
        self.width = width
        self.height = height
        self.external_vcc = external_vcc
        self.pages = height // 8
        self.buffer = bytearray(self.pages * width)
        super().__init__(self.buffer, width, height, 0)
        self.init_display()

    def init_display(self):
        for cmd in (0xAE, 0x20, 0x00, 0x40, 0xA1, 0xA8, self.height - 1, 0xC8, 0xD3, 0x00):
            self.write_cmd(cmd)
        for cmd in (0xDA, 0x02 if self.width > 2 * self.height else 0x12, 0xD5, 0x80, 0xD9):
            self.write_cmd(cmd)
        for cmd in (0x22 if self.external_vcc else 0xF1, 0xDB, 0x30, 0x81, 0xFF, 0xA4, 0xA6):
            self.write_cmd(cmd)
        for cmd in (0x8D, 0x10 if self.external_vcc else 0x14, 0xAF):
            self.write_cmd(cmd)
        self.fill(0)
        self.show()

    def poweroff(self):
        self.write_cmd(0xAE)

    def poweron(self):
        self.write_cmd(0xAF)

    def show(self):
        x0 = (128 - self.width) // 2 if self.width != 128 else 0
        for cmd in (0x21, x0, x0 + self.width - 1, 0x22, 0, self.pages - 1):
            self.write_cmd(cmd)
        self.write_data(self.buffer)


class _StandInI2C(_StandIn):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        self.i2c = i2c
        self.addr = addr
        self.temp = bytearray(2)
        self.write_list = [b"\x40", None]
        super().__init__(width, height, external_vcc)

    def write_cmd(self, cmd):
        self.temp[0] = 0x80
        self.temp[1] = cmd
        self.i2c.writeto(self.addr, self.temp)

    def write_data(self, buf):
        self.write_list[1] = buf
        self.i2c.writevto(self.addr, self.write_list)


class _StandInSPI(_StandIn):
    def __init__(self, width, height, spi, dc, res, cs, external_vcc=False):
        dc.init(dc.OUT, value=0)
        res.init(res.OUT, value=0)
        cs.init(cs.OUT, value=1)
        self.spi = spi
        self.dc = dc
        self.cs = cs
        res(1)
        super().__init__(width, height, external_vcc)

    def write_cmd(self, cmd):
        self.cs(1)
        self.dc(0)
        self.cs(0)
        self.spi.write(bytearray([cmd]))
        self.cs(1)

    def write_data(self, buf):
        self.cs(1)
        self.dc(1)
        self.cs(0)
        self.spi.write(buf)
        self.cs(1)


class _Module:
    SSD1306_I2C = _StandInI2C
    SSD1306_SPI = _StandInSPI


def _ssd1306():
    """The real micropython-lib module when installed, else the stand-in (kept installed)."""
    try:
        import ssd1306

        return ssd1306
    except ImportError:
        sys.modules["ssd1306"] = _Module
        return _Module


def _adafruit():
    """Adafruit's driver: on CPython from the venv; on MicroPython from the venv too."""
    try:
        import adafruit_ssd1306

        return adafruit_ssd1306
    except ImportError:
        pass
    import os

    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    lib = here + "/../../.venv/lib"
    for d in os.listdir(lib):
        if d.startswith("python3"):
            sys.path.append(lib + "/" + d + "/site-packages")
    import adafruit_ssd1306

    return adafruit_ssd1306


def reference(w, h, steps):
    """The frame the UI draws on a plain panel for the same steps."""
    p = Panel(w, h)
    ui = UI(p, w, h, out=lambda line: None)
    steps(ui)
    return bytes(p.buffer)


def sign_in(ui):
    ui.show_code(Code())
    ui.tick(451)


# -- spec validation ---------------------------------------------------------------------------


def test_bad_specs_name_the_key():
    m = Machine()
    cases = (
        (
            {"driver": "foo"},
            "display.driver 'foo' is not one of ssd1306, adafruit_ssd1306, terminal",
        ),
        ({"width": 200}, "display.width 200 is outside 8..128"),
        ({"height": 30}, "display.height 30 is not a multiple of 8"),
        ({"width": "128"}, "display.width must be a whole number"),
        ({"bus": "usb"}, "display.bus 'usb' is not one of i2c, spi"),
        ({"flip": "yes"}, "display.flip must be true or false"),
        ({"width": 72, "x_offset": 60}, "display.x_offset 60 is outside 0..56"),
        ({"address": 300}, "display.address 300 is outside 8..119"),
        ({"address": 0x07}, "display.address 7 is outside 8..119"),  # reserved I2C addresses
        ({"freq": 5000000}, "display.freq 5000000 is outside 10000..3400000"),  # I2C
        ({"bus": "spi", "freq": 5000}, "display.freq 5000 is outside 100000..80000000"),
        ({"sda": 21}, "display.sda and display.scl go together"),
        ({"bus": "spi"}, "display.dc (a pin number) is missing"),
        ({"driver": "adafruit_ssd1306", "bus": "spi"}, "display.bus spi: use driver ssd1306"),
    )
    _ssd1306()
    for spec, message in cases:
        e = raises(ValueError, open_display, spec, m)
        assert str(e).startswith(message), (spec, str(e))
    assert str(raises(ValueError, open_display, [1], m)).startswith("display must be an object")


def test_terminal_driver_is_the_mirror():
    d = open_display({"driver": "terminal", "width": 72, "height": 40})
    assert isinstance(d, TermDisplay) and (d.width, d.height) == (72, 40)


def test_missing_micropython_lib_driver_says_how_to_get_it():
    saved = sys.modules.pop("ssd1306", None)
    try:
        try:
            import ssd1306  # noqa: F401  (installed for real: nothing to prove here)

            return
        except ImportError:
            pass
        e = raises(ImportError, open_display, {"driver": "ssd1306"}, Machine())
        assert "mip install ssd1306" in str(e)
    finally:
        if saved is not None:
            sys.modules["ssd1306"] = saved


# -- micropython-lib ssd1306 ------------------------------------------------------------------


def test_ssd1306_i2c_frames_reach_the_panel():
    _ssd1306()
    m = Machine()
    spec = {"driver": "ssd1306", "i2c_id": 1, "sda": 21, "scl": 22, "freq": 400000}
    d = open_display(spec, m)
    bus = m.buses[0]
    assert bus.args == (1, 22, 21, 400000)
    sign_in(UI(d, 128, 64, out=lambda line: None))
    model = SSD1306Model().i2c(bus.writes)
    assert model.on and (0x21, 0, 127) in model.commands
    assert model.panel(128, 64, 0) == reference(128, 64, sign_in)


def test_narrow_panels_get_their_column_offset():
    _ssd1306()
    for spec, offset in (({}, 28), ({"x_offset": 30}, 30), ({"x_offset": 0}, 0)):
        m = Machine()
        spec.update({"driver": "ssd1306", "width": 72, "height": 40})
        d = open_display(spec, m)
        sign_in(UI(d, 72, 40, out=lambda line: None))
        model = SSD1306Model().i2c(m.buses[0].writes)
        assert model.commands[-2:] == [(0x21, offset, offset + 71), (0x22, 0, 4)]
        assert model.panel(72, 40, offset) == reference(72, 40, sign_in)


def test_flip_turns_the_picture_180_degrees():
    _ssd1306()
    m = Machine()
    open_display({"driver": "ssd1306", "flip": True, "address": 0x3D}, m)
    model = SSD1306Model().i2c(m.buses[0].writes, 0x3D)
    assert model.commands[-2:] == [(0xA0,), (0xC0,)]


def test_ssd1306_spi():
    _ssd1306()
    m = Machine(dc=16)
    spec = {"driver": "ssd1306", "bus": "spi", "spi_id": 2, "sck": 18, "mosi": 23, "dc": 16}
    d = open_display(dict(spec, res=17, cs=5, height=32), m)
    assert m.buses[0].args == (2, 18, 23)
    sign_in(UI(d, 128, 32, out=lambda line: None))
    model = SSD1306Model().spi(m.buses[0].writes)
    assert model.panel(128, 32, 0) == reference(128, 32, sign_in)
    d = open_display(spec, Machine(dc=16))  # CS tied low and no reset line: still works
    assert d.height == 64


def test_a_panel_that_does_not_answer_is_an_oserror():
    _ssd1306()
    e = raises(OSError, open_display, {"driver": "ssd1306"}, Machine(answer=False))
    assert str(e).startswith("display: the SSD1306 on I2C address 0x3c does not answer")
    _adafruit()
    e = raises(OSError, open_display, {"driver": "adafruit_ssd1306"}, Machine(answer=False))
    assert "does not answer" in str(e)


# -- Adafruit's driver -------------------------------------------------------------------------


def test_adafruit_driver_draws_the_same_frames_over_i2c():
    _adafruit()
    for w, h, offset in ((128, 64, 0), (128, 32, 0), (72, 40, 28)):
        m = Machine()
        d = open_display({"driver": "adafruit_ssd1306", "width": w, "height": h}, m)
        sign_in(UI(d, w, h, out=lambda line: None))
        model = SSD1306Model().i2c(m.buses[0].writes)
        assert model.on and model.commands[-2:] == [
            (0x21, offset, offset + w - 1),
            (0x22, 0, h // 8 - 1),
        ]
        assert model.panel(w, h, offset) == reference(w, h, sign_in), (w, h)


def test_busio_adapter_slices_without_losing_bytes():
    m = Machine()
    bus = BusioI2C(m.I2C(0))
    assert bus.try_lock() and bus.scan() == [0x3C]
    bus.writeto(0x3C, b"\x00\x01\x02\x03", start=1, end=3)
    bus.writeto(0x3C, bytearray(b"\x40\xff"))
    buf = bytearray(b"\x09\x09\x09")
    bus.readfrom_into(0x3C, buf, start=1)
    bus.unlock()
    assert m.buses[0].writes == [(0x3C, b"\x01\x02"), (0x3C, b"\x40\xff")]
    assert buf == bytearray(b"\x09\x00\x00")
