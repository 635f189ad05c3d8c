"""`devauth screens --out DIR`: a PNG of every OLED screen at every panel size.

The firmware's own UI and screen code runs on the MicroPython unix port (`.venv/bin/micropython`)
and draws into the port's real `framebuf`, so the pixels are the board's. Each frame buffer
(MONO_VLSB, as the SSD1306 holds it) comes back as hex and is written as a scaled-up PNG in OLED
colours, `<W>x<H>-<screen>.png`; `--golden` writes 1:1 black-and-white PNGs instead (the
reference frames in host_tests/golden/). `measure()` gives the figures for `make bench`.

PNG files are written and read with zlib alone (no imaging library needed).
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import zlib

from devauth_tools import runner, shims

SIZES = ((128, 64), (128, 32), (72, 40))
LIT = (0xDC, 0xEE, 0xFF)  # a lit SSD1306 pixel (white panel, slightly blue)
DARK = (0x08, 0x0A, 0x10)  # an unlit one
SCALE = 4

# The start of every MicroPython script below (argv[1]: the firmware directory): a panel that
# is the port's real framebuf (the Canvas when run by CPython) and a device code.
_PRELUDE = """
import sys
sys.path.insert(0, sys.argv[1])
sys.path.append(@SHIMS@)  # CPython: the framebuf shim; MicroPython's built-in one wins
from framebuf import FrameBuffer

URI = "https://pf.example.com/as/user_authz.oauth2"


class Panel(FrameBuffer):
    def __init__(self, w=128, h=64):
        self.width = w
        self.height = h
        self.buffer = bytearray(w * h // 8)
        super().__init__(self.buffer, w, h, 0)  # MONO_VLSB

    def show(self):
        pass


class Code:
    def __init__(self, user_code="YYD6-CD4T", uri=URI, complete=URI + "?user_code=YYD6-CD4T"):
        self.user_code = user_code
        self.verification_uri = uri
        self.verification_uri_complete = complete
        self.expires_in = 600
"""
_PRELUDE = _PRELUDE.replace("@SHIMS@", repr(shims.PATH))

# Runs on MicroPython (and on CPython, with the Canvas for framebuf). argv: firmware dir, then
# WxH sizes. Prints `<name> <W>x<H> <hex>` a frame.
MP_RENDER = (
    _PRELUDE
    + """
from devauth.oled.ui import UI
from devauth.errors import AccessDenied, ExpiredToken, TLSError

NAMES = {"q": "qr", "c": "code"}


def frames(w, h):
    d = Panel(w, h)
    ui = UI(d, w, h, out=lambda line: None)

    def shot(name):
        print("%s %dx%d %s" % (name, w, h, bytes(d.buffer).hex()))

    ui.status("devauth", "Starting...")
    shot("starting")
    ui.wifi("devauth-lab")
    shot("wifi")
    ui.clock()
    shot("clock")
    ui.requesting()
    shot("requesting")
    ui.retrying("Server busy: device authorization: server busy (HTTP 503)", 8)
    shot("waiting")
    for prefix, code in (
        ("sign-in", Code()),
        ("short-uri", Code("WDJB-MJHT", "https://id.example/d", None)),
    ):
        ui.show_code(code)
        seen = {}
        for i in range(ui._views):
            v = ui.screen.views[i]
            name = NAMES.get(v.kind) or ("uri-code" if v.code else "uri")
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += "-%d" % seen[name]
            ui.screen.view(i, 451)  # 7:31 of 10:00 left
            shot("%s-%d-%s" % (prefix, i + 1, name))
    ui.show_code(Code())
    ui.tick(312)
    ui.retrying("Network error: connect to pf.example.com timed out", 16)
    shot("poll-retry")
    ui.signed_in(None)
    shot("signed-in")
    ui.failed(AccessDenied("access_denied"))
    shot("denied")
    ui.failed(ExpiredToken("expired_token", message="the code expired before it was approved"))
    shot("expired")
    ui.failed(TLSError("server certificate for pf.example.com rejected"))
    shot("error")


for size in sys.argv[2:]:
    w, h = size.split("x")
    frames(int(w), int(h))
"""
)


def _mp(args, heap=None, timeout=120, python=None):
    if python:
        cmd = [python] + args
    else:
        cmd = [runner.micropython()] + (["-X", "heapsize=%s" % heap] if heap else []) + args
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError("micropython failed:\n" + proc.stdout[-2000:] + proc.stderr)
    return proc.stdout


def _run_script(source, args, heap=None, python=None):
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "script.py")
        with open(script, "w") as f:
            f.write(source)
        return _mp([script] + list(args), heap=heap, python=python)


def render(sizes=SIZES, firmware=None, python=None):
    """Every screen at every size, drawn on the unix port (or by `python`, e.g. CPython)
    -> [(name, w, h, frame bytes)]."""
    args = [firmware or runner.firmware_dir()] + ["%dx%d" % s for s in sizes]
    out = _run_script(MP_RENDER, args, python=python)
    frames = []
    for line in out.splitlines():
        name, size, hexdata = line.split()
        w, h = (int(v) for v in size.split("x"))
        frames.append((name, w, h, bytes.fromhex(hexdata)))
    return frames


def pixels(w, h, frame):
    """A MONO_VLSB frame as rows of 0/1."""
    return [[(frame[(y >> 3) * w + x] >> (y & 7)) & 1 for x in range(w)] for y in range(h)]


def file_name(name, w, h):
    return "%dx%d-%s.png" % (w, h, name)


# -- PNG, 1-bit indexed ------------------------------------------------------------------------


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, rows, scale=1, palette=((0, 0, 0), (255, 255, 255)), margin=0):
    """Rows of 0/1 -> a 1-bit palette PNG, each pixel `scale` x `scale`, `margin` pixels of
    colour 0 around."""
    w = len(rows[0]) * scale + 2 * margin
    h = len(rows) * scale + 2 * margin
    blank = [0] * w
    raw = bytearray()
    lines = [blank] * margin
    for row in rows:
        line = [0] * margin
        for v in row:
            line.extend([v] * scale)
        line.extend([0] * margin)
        lines.extend([line] * scale)
    lines.extend([blank] * margin)
    for line in lines:
        raw.append(0)  # filter: none
        for i in range(0, w, 8):
            b = 0
            for k, v in enumerate(line[i : i + 8]):
                b |= v << (7 - k)
            raw.append(b)
    plte = b"".join(bytes(c) for c in palette)
    png = b"\x89PNG\r\n\x1a\n"
    png += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 3, 0, 0, 0))
    png += _chunk(b"PLTE", plte)
    png += _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    png += _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def read_png(path):
    """A 1-bit grey or palette PNG (as write_png makes) -> rows of 0/1 (palette index / bit)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos = 8
    idat = b""
    w = h = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 1 or ctype not in (0, 3) or interlace:
                raise ValueError("%s: not a 1-bit PNG" % path)
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = (w + 7) // 8
    rows = []
    prev = bytearray(stride)
    for y in range(h):
        o = y * (stride + 1)
        ftype = raw[o]
        line = bytearray(raw[o + 1 : o + 1 + stride])
        for i in range(stride):  # PNG filters, 1 byte per "pixel" at this depth
            a = line[i - 1] if i else 0
            b = prev[i]
            c = prev[i - 1] if i else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append([(line[x >> 3] >> (7 - (x & 7))) & 1 for x in range(w)])
        prev = line
    return rows


def write_screens(out_dir, frames, golden=False, scale=SCALE):
    """PNG files for `frames` in `out_dir` -> their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, w, h, frame in frames:
        path = os.path.join(out_dir, file_name(name, w, h))
        if golden:
            write_png(path, pixels(w, h, frame))
        else:
            write_png(path, pixels(w, h, frame), scale, (DARK, LIT), margin=2 * scale)
        paths.append(path)
    return paths


# -- make bench ------------------------------------------------------------------------------

# argv: module dir, runs. Prints `key value` lines.
MP_MEASURE = (
    _PRELUDE
    + """
import gc, time, micropython
runs = int(sys.argv[2])


def mem():
    gc.collect()
    return gc.mem_alloc()


base = mem()
import devauth
from devauth import errors
base = mem()
from devauth.oled import ui as _ui
print("heap_ui_module", mem() - base)
base = mem()
from devauth.oled import screen, font
print("heap_screen_font_modules", mem() - base)
base = mem()
from devauth.oled import layout
print("heap_layout_module", mem() - base)
layout = None
devauth.unload("devauth.oled.layout")
base = mem()
from devauth.oled import qr
print("heap_qr_module", mem() - base)
URL = ("https://pf.example.com/as/user_authz.oauth2?user_code=YYD6-CD4T&client_id=devauth-"
       + "0123456789" * 4)[:80]
t = time.ticks_us()
for _ in range(runs):
    q = qr.encode(URL, ecc="M")
print("qr_encode_ms", time.ticks_diff(time.ticks_us(), t) / runs / 1000)
print("qr_version", q.version)
gc.collect()
while micropython.mem_current() < micropython.mem_peak():
    bytearray(256)
gc.collect()
base = micropython.mem_current()
qr.encode(URL, ecc="M")
print("qr_encode_peak_bytes", micropython.mem_peak() - base)
q = None


d = Panel(128, 64)
qr = None
devauth.unload("devauth.oled.qr")  # as on a board: loaded by show_code() and dropped after
gc.collect()
while micropython.mem_current() < micropython.mem_peak():
    bytearray(256)
base = mem()
peak0 = micropython.mem_current()
u = _ui.UI(d, 128, 64, out=lambda line: None)
t = time.ticks_us()
u.show_code(Code())
print("sign_in_first_frame_ms", time.ticks_diff(time.ticks_us(), t) / 1000)
print("sign_in_peak_bytes", micropython.mem_peak() - peak0)
print("heap_sign_in_state", mem() - base)
s = u.screen
for i, v in enumerate(s.views):
    t = time.ticks_us()
    for _ in range(runs):
        s.view(i, 451)
    print("redraw_%s_ms" % {"q": "qr_view", "t": "uri_view", "c": "code_view"}[v.kind],
          time.ticks_diff(time.ticks_us(), t) / runs / 1000)
t = time.ticks_us()
for k in range(runs):
    s.countdown(400 - k)
print("countdown_ms", time.ticks_diff(time.ticks_us(), t) / runs / 1000)
"""
)


# argv: module dir, "qr" or "text". Prints "ok" when a 128x64 sign-in screen (with its QR code,
# or with a URI too long for one) could be shown.
MP_MIN = (
    _PRELUDE
    + """
from devauth.oled.ui import UI

qr = sys.argv[2] == "qr"
code = Code() if qr else Code(uri=URI + "/" + "x" * 300, complete=None)
u = UI(Panel(), 128, 64, out=lambda line: None)
u.show_code(code)
u.tick(599)
print("ok" if (u.screen.views[0].kind == "q") == qr else "?")
"""
)


def _min_heap(script, args, lo=1024, hi=1 << 18):
    """Smallest -X heapsize (to 256 bytes) in which `script` prints ok."""
    while hi - lo > 256:
        mid = (lo + hi) // 2
        try:
            ok = _run_script(script, args, heap=mid).strip() == "ok"
        except RuntimeError:
            ok = False
        if ok:
            hi = mid
        else:
            lo = mid
    return hi


def _compile(modules, out):
    """mpy-cross the firmware into `out` -> {module of devauth.oled: .mpy bytes}."""
    runner.compile_firmware(out)
    oled = os.path.join(out, "devauth", "oled")
    return {m: os.path.getsize(os.path.join(oled, m + ".mpy")) for m in modules}


def measure(runs=20):
    """Figures for `make bench` (unix port, precompiled modules) -> dict.

    qr_encode_ms / qr_encode_peak_bytes: one encode of an 80-byte URL at level M (peak:
    `micropython.mem_peak()` over the encode, an upper bound of its live heap).
    redraw_*_ms: one whole sign-in view drawn (fill, glyphs, QR, countdown; `show()` not
    counted: on a board that is the I2C transfer, about 25 ms for 1 KB at 400 kHz).
    countdown_ms: what tick() redraws each second.
    sign_in_*: show_code() (plan, QR encode, first frame): its time, the heap it allocates
    (layout and qr loaded for it, then unloaded; garbage included) and the heap it keeps.
    heap_*: bytes the loaded modules take (ui always; screen and font with a display; layout
    only while it plans or draws a status screen).
    min_heap_sign_in_screen_bytes: the smallest GC heap in which the UI, a 128x64 panel and
    show_code() with its QR code fit, nothing else loaded (_no_qr: a URI too long for a QR;
    min_heap_interpreter_and_panel_bytes: the same without devauth, to subtract).
    mpy_bytes: .mpy sizes. The unix port is 64-bit: an ESP32 needs less heap."""
    mods = ("ui", "screen", "font", "layout", "display", "termdisplay", "qr")
    with tempfile.TemporaryDirectory() as tmp:
        sizes = _compile(mods, tmp)
        out = _run_script(MP_MEASURE, [tmp, str(runs)])
        min_heap = _min_heap(MP_MIN, [tmp, "qr"])
        min_heap_text = _min_heap(MP_MIN, [tmp, "text"])
        min_heap_none = _min_heap(_PRELUDE + "p = Panel()\nprint('ok')\n", [tmp])
    figures = {}
    for line in out.splitlines():
        key, value = line.split()
        figures[key] = float(value) if "." in value else int(value)
    figures["min_heap_sign_in_screen_bytes"] = min_heap
    figures["min_heap_sign_in_screen_no_qr_bytes"] = min_heap_text
    figures["min_heap_interpreter_and_panel_bytes"] = min_heap_none
    figures["mpy_bytes"] = sizes
    return figures


def main(args):
    frames = render(args.sizes or SIZES)
    paths = write_screens(args.out, frames, golden=args.golden, scale=args.scale)
    print("devauth screens: %d PNG files in %s" % (len(paths), args.out))
    return 0


def _size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("sizes look like 128x64") from None
    return w, h


def add_parser(sub):
    """The `screens` subcommand for devauth_tools.cli."""
    s = sub.add_parser("screens", help="PNG of every OLED screen at every size (unix port)")
    s.add_argument("--out", required=True, help="directory for the PNG files")
    s.add_argument("--scale", type=int, default=SCALE, help="pixels per OLED pixel (default 4)")
    s.add_argument(
        "--size", dest="sizes", action="append", type=_size, help="WxH (default: all three)"
    )
    s.add_argument(
        "--golden", action="store_true", help="1:1 black-and-white PNGs (host_tests/golden)"
    )
    s.set_defaults(fn=main)
    return s


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="devauth screens")
    add_parser(p.add_subparsers(dest="command", required=True))
    a = p.parse_args(["screens"] + sys.argv[1:])
    sys.exit(a.fn(a))
