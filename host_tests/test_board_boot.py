"""main.py's boot on fake hardware against the dev authorization server over real TLS: the same
firmware/main.py a board runs, on the MicroPython unix port (the precompiled .mpy tree) and on
CPython, with fake `machine`/`network`/`ntptime`/`ssd1306` (host_tests/board_launch.py)."""

import json
import os
import subprocess
import sys

import pytest
from devauth_tools.dev_as import DevAS
from e2e import ROOT, compiled_firmware, write_config

HERE = os.path.dirname(os.path.abspath(__file__))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
HELTEC = os.path.join(ROOT, "boards", "heltec-wifi-kit-32.json")
WIFI = {"ssid": "HomeNet", "password": "hunter2-wifi-secret", "ntp_server": "ntp.example.net"}


def launch(interpreter, config, wifi, ntp, drop_ms=None, board=HELTEC, timeout=120):
    if interpreter == "micropython":
        cmd = [MICROPYTHON, "-X", "heapsize=200K"]
        firmware = compiled_firmware()
    else:
        cmd = [sys.executable]
        firmware = os.path.join(ROOT, "firmware")
    cmd += [os.path.join(HERE, "board_launch.py"), firmware, wifi, ntp]
    if drop_ms is not None:
        cmd.append(str(drop_ms))
    cmd += ["--", "--config", config, "--board", board, "--once"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc, lines


def launched(lines):
    last = lines[-1]
    assert last.startswith("launch: "), lines
    return dict(kv.split("=", 1) for kv in last[8:].split())


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("pki")


def board_config(tmp_path, srv, **over):
    return write_config(tmp_path, srv.base_url, srv.pki, wifi=WIFI, **over)


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_main_py_brings_a_heltec_board_up_then_signs_in(pki_dir, tmp_path, interpreter):
    with DevAS(str(pki_dir), port=0, auto_approve=0.3, interval=1) as srv:
        cfg = board_config(tmp_path, srv, board="heltec-wifi-kit-32")
        proc, lines = launch(interpreter, cfg, "wrong_password,ok", "fail")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = "\n".join(lines)
    expected = [
        "Wrong Wi-Fi password: Wi-Fi HomeNet refused the password: check wifi.password in "
        "devauth.json; retrying in 2 s",
        "Wi-Fi: connected to HomeNet",
        "Clock: NTP server ntp.example.net failed",  # the host's clock is set: it is kept
        "To sign in, visit https://localhost:%d/as/user_authz.oauth2 and enter code " % srv.port,
        "Signed in.",
    ]
    at = [next(i for i, line in enumerate(lines) if line.startswith(e)) for e in expected]
    assert at == sorted(at), lines
    hw = launched(lines)
    assert hw["code"] == "0" and hw["connects"] == "2"
    assert hw["wdt_timeout"] == "60000" and int(hw["feeds"]) > 10
    assert hw["ntp"] == "ntp.example.net:fail"
    # Vext (21) and reset (16) before the I2C bus of the OLED on SDA 4 / SCL 15 (bus 1).
    assert hw["display"].startswith("21,16,4,15,1"), hw
    assert WIFI["password"] not in out
    saved = json.load(open(os.path.join(str(tmp_path), "state", "token.json")))
    assert saved["access_token"] not in out


def test_wifi_drop_while_polling_is_rejoined_on_the_unix_port(pki_dir, tmp_path):
    with DevAS(str(pki_dir), port=0, auto_approve=6, interval=1) as srv:
        cfg = board_config(tmp_path, srv, board="heltec-wifi-kit-32")
        proc, lines = launch("micropython", cfg, "ok,ok", "ok", drop_ms=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lost = lines.index("Wi-Fi: lost the connection to HomeNet; reconnecting")
    assert "Wi-Fi: connected to HomeNet" in lines[lost + 1 : lost + 3], lines
    assert lines.index("Signed in.") > lost
    assert sum(1 for line in lines if line.startswith("To sign in, visit")) == 1
    assert launched(lines)["connects"] == "2"


@pytest.mark.parametrize("interpreter", ["micropython", "cpython"])
def test_a_wrong_pin_in_the_profile_stops_the_boot_with_one_line(tmp_path, interpreter):
    profile = json.load(open(HELTEC))
    profile["display"]["sda"] = 6
    bad = os.path.join(str(tmp_path), "board.json")
    json.dump(profile, open(bad, "w"))
    cfg = os.path.join(str(tmp_path), "devauth.json")
    json.dump({"client_id": "x"}, open(cfg, "w"))
    proc, lines = launch(interpreter, cfg, "ok", "ok", board=bad)
    assert proc.returncode == 2
    assert lines[:-1] == [
        "Board error: board.json: display.sda GPIO 6 cannot be used on esp32 "
        "(missing, flash or console)"
    ]
    assert launched(lines)["wdt_timeout"] == "0"
