"""`devauth doctor --port PORT`: what the board has, in one look.

Runs a small script on the board (`mpremote connect PORT run`): the MicroPython version, free
heap, the `tls` features devauth uses, whether the clock is set, the Wi-Fi state, the files a
deploy puts there, and the display: with /board.json's pins (Vext and reset first) it scans the
I2C bus for the OLED. Every line reads `doctor: <what>: <finding>`; `--dry-run` prints the
command. The same script runs on the unix port (`devauth doctor --port unix`), which has no
Wi-Fi or I2C, and says so.
"""

import os
import shlex
import subprocess
import sys
import tempfile

from devauth_tools import runner
from devauth_tools.deploy import mpremote

SCRIPT = r"""
import gc, os, sys, time

def say(what, finding):
    print("doctor: %s: %s" % (what, finding))

v = sys.implementation
say("micropython", "%d.%d.%d on %s" % (v.version[0], v.version[1], v.version[2],
    getattr(v, "_machine", sys.platform)))
gc.collect()
say("heap_free", "%d bytes" % gc.mem_free())
try:
    import tls
    feats = [f for f in ("SSLContext", "CERT_REQUIRED", "PROTOCOL_TLS_CLIENT", "MBEDTLS_VERSION")
             if hasattr(tls, f)]
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    if hasattr(ctx, "load_cert_chain"):
        feats.append("client certificates")
    version = getattr(tls, "MBEDTLS_VERSION", "")
    say("tls", ", ".join(feats) + ("; " + version if version else ""))
except ImportError:
    say("tls", "MISSING: this firmware has no tls module (MicroPython >= 1.23 needed)")
t = time.gmtime()
stamp = "%04d-%02d-%02d %02d:%02d UTC" % t[:5]
say("time", ("set, " if t[0] >= 2023 else "NOT SET (certificate checks need it), ") + stamp)
try:
    import network
    w = network.WLAN(network.STA_IF)
    if not w.active():
        say("wifi", "inactive")
    elif w.isconnected():
        say("wifi", "connected, address %s" % w.ifconfig()[0])
    else:
        say("wifi", "not connected (status %s)" % w.status())
except ImportError:
    say("wifi", "no network module on this port")
files = []
for name in ("main.py", "board.json", "devauth.json", "devauth", "certs", "state"):
    try:
        os.stat(name)
        files.append(name)
    except OSError:
        files.append(name + " (missing)")
say("files", ", ".join(files))
try:
    import json
    import machine
    if not hasattr(machine, "I2C"):
        raise ImportError("no I2C")
    try:
        with open("board.json") as f:
            b = json.load(f)
    except OSError:
        raise KeyError("no /board.json: run devauth deploy first")
    d = b["display"]
    say("board", "%s (%s)" % (b.get("name"), b.get("chip")))
    vext = b.get("vext")
    if vext:
        machine.Pin(vext["pin"], machine.Pin.OUT, value=vext.get("on", 0))
        time.sleep_ms(vext.get("settle_ms", 100))
    rst = b.get("reset")
    if rst:
        p = machine.Pin(rst["pin"], machine.Pin.OUT, value=1)
        p.value(0)
        time.sleep_ms(10)
        p.value(1)
    if d.get("bus", "i2c") == "i2c":
        sda, scl = machine.Pin(d["sda"]), machine.Pin(d["scl"])
        if d.get("i2c_id", 0) < 0:
            bus = machine.SoftI2C(scl=scl, sda=sda)
        else:
            bus = machine.I2C(d.get("i2c_id", 0), scl=scl, sda=sda)
        found = bus.scan()
        addr = d.get("address", 0x3C)
        say("display", ("found at 0x%02x" % addr if addr in found else
            "NOT FOUND at 0x%02x on SDA %s / SCL %s (bus has %s)" % (addr, d["sda"], d["scl"],
            ", ".join("0x%02x" % a for a in found) or "nothing")))
    else:
        say("display", "SPI: not probed")
except ImportError:
    say("display", "no machine.I2C on this port")
except (OSError, KeyError, ValueError) as e:
    say("display", "not checked (%s)" % e)
"""


def write_script(directory=None):
    fd, path = tempfile.mkstemp(prefix="devauth-doctor-", suffix=".py", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(SCRIPT)
    return path


def command(port, script):
    if port == "unix":
        return [runner.micropython(), script]
    return [mpremote(), "connect", port, "run", script]


def main(args):
    script = write_script()
    try:
        cmd = command(args.port, script)
        print(("would run: " if args.dry_run else "$ ") + " ".join(shlex.quote(a) for a in cmd))
        if args.dry_run:
            return 0
        sys.stdout.flush()
        return subprocess.call(cmd)
    finally:
        os.remove(script)


def add_parser(sub):
    d = sub.add_parser("doctor", help="version, heap, tls, clock, Wi-Fi, display of a board")
    d.add_argument("--port", required=True, help="serial port, or `unix` for the unix port")
    d.add_argument("--dry-run", action="store_true", help="print the mpremote command only")
    d.set_defaults(fn=main)
