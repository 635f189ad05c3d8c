"""The screens as pictures: drawn by the firmware on the MicroPython unix port's real framebuf,
compared with the golden images, and every QR on them read back by a real decoder (zbarimg from
Debian's zbar-tools). CPython only."""

import json
import os
import random
import shutil
import subprocess
import sys

import pytest
from devauth.oled.qr import capacity
from devauth_tools import cli, runner, screens

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
URI = "https://pf.example.com/as/user_authz.oauth2"
REGENERATE = ".venv/bin/devauth screens --golden --out host_tests/golden"


@pytest.fixture(scope="module")
def frames():
    return screens.render()


def zbar(path):
    exe = shutil.which("zbarimg")
    assert exe, "zbarimg is missing: apt-get install zbar-tools"
    proc = subprocess.run([exe, "-q", "--raw", path], capture_output=True, text=True)
    return proc.stdout[:-1] if proc.stdout.endswith("\n") else proc.stdout


def test_every_screen_matches_its_golden_image(frames):
    names = set()
    changed = []
    for name, w, h, frame in frames:
        path = os.path.join(GOLDEN, screens.file_name(name, w, h))
        names.add(os.path.basename(path))
        if not os.path.exists(path):
            changed.append("%s (new)" % os.path.basename(path))
        elif screens.read_png(path) != screens.pixels(w, h, frame):
            changed.append(os.path.basename(path))
    stale = sorted(set(os.listdir(GOLDEN)) - names)
    assert not changed and not stale, (
        "screens changed: %s; no longer drawn: %s. If that is intended: %s"
        % (", ".join(changed), ", ".join(stale), REGENERATE)
    )


def test_every_state_has_a_screen_on_every_size(frames):
    want = ("starting", "wifi", "clock", "requesting", "waiting", "poll-retry", "signed-in")
    want += ("denied", "expired", "error")
    for w, h in screens.SIZES:
        names = {f[0] for f in frames if (f[1], f[2]) == (w, h)}
        assert set(want) <= names, (w, h, names)
        assert any(n.startswith("sign-in-") and "code" in n for n in names), names
        assert any(n.endswith("-qr") for n in names), names


def test_cpython_draws_the_pixels_of_the_unix_port(frames):
    assert screens.render(python=sys.executable) == frames


def test_every_qr_screen_scans_to_exactly_its_uri(frames, tmp_path):
    want = {"sign-in": URI + "?user_code=YYD6-CD4T", "short-uri": "https://id.example/d"}
    qr = [f for f in frames if f[0].endswith("-qr")]
    assert len(qr) == 5
    for path, f in zip(screens.write_screens(str(tmp_path), qr), qr):
        assert zbar(path) == want["sign-in" if f[0].startswith("sign-in") else "short-uri"], path


# Draws the first QR view for each case. argv: firmware dir, a JSON file of [w, h, code, uri, full]
# (a file: the unix port cannot take an argument of 256 bytes or more).
MP_QR = """
import sys, json
sys.path.insert(0, sys.argv[1])
import framebuf
from devauth.oled.screen import Screen


class Panel(framebuf.FrameBuffer):
    def __init__(self, w, h):
        self.buffer = bytearray(w * h // 8)
        super().__init__(self.buffer, w, h, framebuf.MONO_VLSB)

    def show(self):
        pass


with open(sys.argv[2]) as f:
    cases = json.load(f)
for w, h, code, uri, full in cases:
    p = Panel(w, h)
    s = Screen(p, w, h)
    n = s.sign_in(code, uri, full, 600)
    q = [i for i in range(n) if s.views[i].kind == "q"]
    if q:
        s.view(q[0], 300)
    print(bytes(p.buffer).hex() if q else "-")
"""


def side(data):
    """The smallest QR side in pixels for `data` (level L, 2-module quiet zone, 1 px)."""
    ver = 1
    while capacity(ver, "L") < len(data):
        ver += 1
    return 17 + 4 * ver + 4


def test_qr_screens_scan_for_many_uris_on_every_size(tmp_path):
    rnd = random.Random(8628)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._~"
    cases = []
    for n in (12, 20, 32, 44, 60, 78, 100, 120):
        host = "".join(rnd.choice(alphabet[:36]) for _ in range(8))
        uri = ("https://%s.example/%s" % (host, "".join(rnd.choice(alphabet) for _ in range(n))))[
            :n
        ]
        uri = uri if len(uri) > 12 else "https://a.io/"
        full = uri + "?user_code=" + "".join(rnd.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        for w, h in screens.SIZES:
            cases.append([w, h, "WDJB-MJHT", uri, full])
    with open(os.path.join(str(tmp_path), "qr.py"), "w") as f:
        f.write(MP_QR)
    with open(os.path.join(str(tmp_path), "cases.json"), "w") as f:
        json.dump(cases, f)
    proc = subprocess.run(
        [runner.micropython(), os.path.join(str(tmp_path), "qr.py"), runner.firmware_dir()]
        + [os.path.join(str(tmp_path), "cases.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    shown = 0
    for (w, h, _, uri, full), line in zip(cases, proc.stdout.split()):
        fits = [d for d in (full, uri) if side(d) <= min(w, h)]
        if not fits:
            assert line == "-", (w, h, uri)
            continue
        frame = bytes.fromhex(line)
        path = screens.write_screens(str(tmp_path), [("case%d" % shown, w, h, frame)])[0]
        assert zbar(path) == fits[0], (w, h, fits[0])
        shown += 1
    assert shown >= 12


def test_devauth_screens_writes_a_png_per_screen_per_size(tmp_path, capsys):
    out = os.path.join(str(tmp_path), "shots")
    assert cli.main(["screens", "--out", out, "--size", "72x40", "--scale", "2"]) == 0
    names = sorted(os.listdir(out))
    assert "72x40-sign-in-3-code.png" in names and all(n.startswith("72x40-") for n in names)
    rows = screens.read_png(os.path.join(out, "72x40-sign-in-3-code.png"))
    assert (len(rows[0]), len(rows)) == (72 * 2 + 2 * 4, 40 * 2 + 2 * 4)  # scaled, with a margin
    assert "PNG files" in capsys.readouterr().out


def test_measure_reports_the_bench_figures():
    m = screens.measure(runs=3)
    for key in ("qr_encode_ms", "qr_encode_peak_bytes", "redraw_qr_view_ms", "countdown_ms"):
        assert m[key] > 0, key
    assert m["qr_encode_peak_bytes"] < 6 * 1024  # the target for an 80-byte URL
    assert set(m["mpy_bytes"]) >= {"ui", "screen", "font", "display", "qr"}
