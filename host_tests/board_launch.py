"""Run firmware/main.py the way a board does, on fake hardware, under either interpreter.

    (micro)python board_launch.py FIRMWARE_DIR WIFI NTP [DROP_MS] -- main.py arguments...

WIFI and NTP are comma-separated outcomes for boardfakes (e.g. `wrong_password,ok` and
`fail,ok`); DROP_MS, if given, drops the Wi-Fi link that long after start. The fakes go into
sys.modules as `machine`, `network`, `ntptime` and `ssd1306`, then main.main(arguments) runs
and a closing `launch:` line reports what the fake hardware saw.
"""

import sys

here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
args = sys.argv[1:]
split = args.index("--")
opts, main_args = args[:split], args[split + 1 :]
firmware, wifi, ntp = opts[0], opts[1], opts[2]
sys.path.insert(0, firmware)
sys.path.insert(0, here)
sys.path.insert(0, here + "/dual")  # boardfakes
if sys.implementation.name != "micropython":
    sys.path.insert(0, here + "/../tools/devauth_tools/shims")  # tls, framebuf for CPython

import boardfakes  # noqa: E402

now = boardfakes.now_of(None)
start = now()
drops = [start + int(opts[3])] if len(opts) > 3 else []
machine = boardfakes.FakeMachine(now)
network = boardfakes.FakeNetwork(now, wifi.split(","), drops)
ntptime = boardfakes.FakeNTP(ntp.split(","))
boardfakes.install(machine, network, ntptime)

import main  # noqa: E402  (firmware/main.py: its __name__ is not __main__, so it waits for us)

code = main.main(main_args)
wdt = machine.wdts[0] if machine.wdts else None
print(
    "launch: code=%d wdt_timeout=%d feeds=%d longest_ms=%d connects=%d ntp=%s display=%s"
    % (
        code,
        wdt.timeout if wdt else 0,
        wdt.feeds if wdt else 0,
        wdt.longest if wdt else 0,
        len(network.wlan.connects),
        ",".join(h + ":" + o for h, o in ntptime.calls),
        ",".join(str(e[1]) for e in machine.log if e[0] in ("pin", "i2c")),
    )
)
sys.exit(code)
