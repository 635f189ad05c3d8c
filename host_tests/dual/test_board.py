"""devauth.board.glue and devauth.board.profile: the boot sequence on fake hardware (dual test).

Fake `machine`/`network`/`ntptime` (boardfakes) and a fake clock drive the real board glue and the
real RFC 8628 flow (devauth.oauth.flow over a scripted transport), asserting each screen shown:
Wi-Fi failing then joining, the link dropping while the code is polled, NTP failing, button presses,
the watchdog fed, the LED, the demo application.
"""

import json
import os
import sys

from boardfakes import (
    FakeCYW43Network,
    FakeMachine,
    FakeNetwork,
    FakeNTP,
    WallClock,
)
from devauth.board import glue as board
from devauth.board import profile
from devauth.errors import DevauthError
from devauth.oauth import tokens
from devauth.oauth.flow import DeviceFlow
from devauth.oled.ui import UI
from fakes import Config, FakeTransport
from mptest import raises


def _boards():
    """boards/ beside host_tests/ (a clone), or in /hil/boards (`devauth hil` on a board)."""
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    for d in [here + "/../../boards"] + [p + "/boards" for p in sys.path if isinstance(p, str)]:
        try:
            os.stat(d + "/unix.json")
            return d
        except OSError:
            pass
    raise OSError("boards/ not found")


BOARDS = _boards()
_getenv = getattr(os, "getenv", None)  # not on the ESP32 port
DIR = ((_getenv and _getenv("TMPDIR")) or "/tmp") + "/devauth-test-board"
SSID = "HomeNet"
PASSWORD = "hunter2-wifi-secret"
NTP = "ntp.example.net"

PING = {
    "user_code": "YYD6-CD4T",
    "device_code": "4EHsIngavzIPvvqMlFgQlseTCsH7EpU75f9yGvj60T",
    "interval": 5,
    "verification_uri": "https://as.example.com/as/user_authz.oauth2",
    "expires_in": 600,
}
TOKEN = {"access_token": "at-SECRET", "token_type": "Bearer", "expires_in": 3600}
PENDING = (400, {"error": "authorization_pending"})


def _config(**over):
    tokens.makedirs(DIR)
    cfg = {
        "board": "heltec-wifi-kit-32",
        "client_id": "df_client",
        "device_authorization_endpoint": "http://as.example.com/as/device_authz.oauth2",
        "token_endpoint": "http://as.example.com/as/token.oauth2",
        "allow_insecure_http": True,
        "state_dir": DIR + "/state",
        "wifi": {"ssid": SSID, "password": PASSWORD, "ntp_server": NTP},
    }
    cfg.update(over)
    for k in [k for k in cfg if cfg[k] is None]:
        cfg.pop(k)
    path = DIR + "/devauth.json"
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


class FakeSession:
    def __init__(self, clock, lifetime):
        self.clock = clock
        self.expires_at = clock.unix_time() + lifetime
        self.signed_out = 0

    def seconds_left(self, rec):
        return rec["expires_at"] - self.clock.unix_time()

    def sign_out(self):
        self.signed_out += 1


class FakeApp:
    """Stands in for devauth.app.run: the real DeviceFlow over one scripted transport per run,
    then (signed in) `after_ms` more of the main loop, as app.stay_signed_in sleeps."""

    def __init__(self, wall, scripts, after_ms=0, lifetime=3600):
        self.wall = wall
        self.scripts = list(scripts)
        self.after_ms = after_ms
        self.lifetime = lifetime
        self.runs = 0
        self.clock_at_start = []
        self.transports = []
        self.sessions = []

    def run(self, path, display=None, once=False, clock=None, width=128, height=64, ui=None,
            on_signed_in=None):  # fmt: skip
        self.runs += 1
        self.clock_at_start.append(clock.unix_time())
        ui.status("devauth", "Starting...")
        transport = FakeTransport(self.scripts.pop(0), self.wall)
        self.transports.append(transport)
        flow = DeviceFlow(Config(), transport, clock, ui)
        try:
            ui.requesting()
            code = flow.request_code()
            ui.show_code(code)
            token = flow.poll(code)
        except DevauthError as e:
            ui.failed(e)
            return e.exit_code
        ui.signed_in(token)
        session = FakeSession(self.wall, self.lifetime)
        self.sessions.append(session)
        on_signed_in(session, {"expires_at": session.expires_at})
        for _ in range(self.after_ms // 1000):
            clock.sleep_ms(1000)
        return 0


class ScreenRecorder(UI):
    """The real UI without a display (so the console lines are the UI's own: change one and the
    board tests that expect it fail), recording every screen as a tuple.

    screens: ("status", title, body) ("requesting",) ("code", user_code) ("signed_in",)
    ("failed", short, message) ("toggle",).
    """

    def __init__(self):
        self.screens = []
        self.lines = []
        self.ticks = []
        super().__init__(None, out=self.lines.append)

    def status(self, title, body=""):
        self.screens.append(("status", title, body))
        super().status(title, body)

    def requesting(self):
        self.screens.append(("requesting",))

    def show_code(self, code):
        super().show_code(code)
        self.screens.append(("code", code.user_code))

    def tick(self, seconds_left):
        self.ticks.append(seconds_left)
        super().tick(seconds_left)

    def signed_in(self, token):
        super().signed_in(token)
        self.screens.append(("signed_in",))

    def failed(self, err):
        super().failed(err)
        self.screens.append(("failed", err.short, str(err)))

    def toggle(self):
        self.screens.append(("toggle",))
        super().toggle()

    def kinds(self):
        return [s[0] if s[0] != "status" else "status:" + s[1] for s in self.screens]


class Rig:
    """A board on fakes: profile, machine, network, NTP, clock, recorder UI, fake app."""

    def __init__(self, name="heltec-wifi-kit-32", wifi=("ok",), ntp=("ok",), drops=(),
                 scripts=None, after_ms=0, net=FakeNetwork, unix=None,
                 application=None, config=None, **machine_kw):  # fmt: skip
        self.wall = WallClock(1000, unix)
        now = self.wall.ticks_ms
        self.machine = FakeMachine(now, **machine_kw)
        self.net = net(now, wifi, drops)
        self.ntp = FakeNTP(ntp, self.wall)
        self.profile = profile.load(BOARDS + "/" + name + ".json")
        self.lines = []
        self.board = board.Board(
            self.profile, self.machine, self.net, self.ntp, self.wall, out=self.lines.append
        )
        self.ui = ScreenRecorder()
        self.ui.lines = self.lines
        self.ui.out = self.lines.append
        if scripts is None:
            scripts = [[(200, PING), PENDING, (200, TOKEN)]]
        self.app = FakeApp(self.wall, scripts, after_ms)
        self.application = application
        self.config = config or _config()

    def boot(self, once=True):
        opts = {"config": self.config, "once": once}
        return self.board.boot(
            opts,
            display=object(),
            run=self.app.run,
            ui_factory=lambda d, w, h: self.ui,
            application=self.application,
        )

    @property
    def wlan(self):
        return self.net.wlan

    def screens_after(self, kind):
        s = self.ui.screens
        for i in range(len(s) - 1, -1, -1):
            if s[i][0] == kind:
                return s[i + 1 :]
        return []


def _no_secret(rig):
    everything = repr(rig.ui.screens) + repr(rig.lines)
    assert PASSWORD not in everything
    assert "at-SECRET" not in everything and PING["device_code"] not in everything


# -- profiles ----------------------------------------------------------------------------------


def test_every_board_profile_loads_and_cites_a_source_for_each_pin():
    names = [n for n in os.listdir(BOARDS) if n.endswith(".json")]
    assert len(names) >= 10
    for name in names:
        p = profile.load(BOARDS + "/" + name)
        assert p["name"] + ".json" == name, name
        with open(BOARDS + "/" + name) as f:
            sources = json.load(f).get("sources", {})
        for key, _pin in profile.pins(p):
            cited = sources.get(key) or sources.get(key.split(".")[0])
            assert cited, "%s: %s has no source" % (name, key)


def test_profiles_give_the_mpy_cross_architecture():
    arch = {}
    for name in ("esp32-devkitc", "heltec-wifi-lora-32-v3", "esp32c3-oled-042", "pico-w-ssd1306"):
        arch[name] = profile.load(BOARDS + "/" + name + ".json")["march"]
    assert arch == {
        "esp32-devkitc": "xtensawin",
        "heltec-wifi-lora-32-v3": "xtensawin",
        "esp32c3-oled-042": "rv32imc",
        "pico-w-ssd1306": "armv6m",
    }


def _heltec(**changes):
    with open(BOARDS + "/heltec-wifi-kit-32.json") as f:
        d = json.load(f)
    for k in changes:
        d[k] = changes[k]
    return d


def _error(data):
    e = raises(profile.BoardError, profile.check, data, "board.json")
    assert "\n" not in str(e)
    assert e.short == "Board error" and e.exit_code == 2
    return str(e)


def test_a_mistyped_key_names_the_key():
    d = _heltec()
    d["dispaly"] = d.pop("display")
    assert _error(d).startswith("board.json: dispaly is not a board profile key")
    d = _heltec()
    d["display"]["sdaa"] = 4
    assert _error(d).startswith("board.json: display.sdaa is not a display key")
    assert _error(_heltec(vext={"pin": 21, "level": 0})).startswith(
        "board.json: vext.level is not a key of vext"
    )


def test_a_wrong_pin_names_the_key_and_the_reason():
    d = _heltec()
    d["display"]["sda"] = 6
    assert _error(d) == (
        "board.json: display.sda GPIO 6 cannot be used on esp32 (missing, flash or console)"
    )
    assert "GPIO 34 is input-only" in _error(_heltec(vext={"pin": 34, "on": 0}))
    assert "vext.pin GPIO 16 is already used by reset.pin" in _error(_heltec(vext={"pin": 16}))
    assert "led.pin must be a GPIO number" in _error(_heltec(led={"pin": "25"}))
    assert "button.pull GPIO 36 has no internal pull" in _error(_heltec(button={"pin": 36}))
    assert "vext.on must be 0 or 1" in _error(_heltec(vext={"pin": 21, "on": "low"}))


def test_chip_driver_and_sizes_are_checked():
    assert "chip 'esp8266' is not one of" in _error(_heltec(chip="esp8266"))
    d = _heltec()
    d["display"]["height"] = 60
    assert _error(d) == "board.json: display.height 60 is not a multiple of 8"
    d = _heltec()
    d["display"]["address"] = 0x78  # the same rules as devauth.oled.display.check
    assert _error(d) == "board.json: display.address 120 is outside 8..119"
    d["display"]["address"] = 0x3C
    d["display"]["freq"] = 5000000
    assert _error(d) == "board.json: display.freq 5000000 is outside 10000..3400000"
    del d["display"]["driver"]
    assert _error(d).startswith("board.json: display.driver is missing (ssd1306, ")
    d = _heltec()
    d["display"]["driver"] = "terminal"
    assert "display.driver terminal is the unix board's" in _error(d)
    assert "watchdog_ms 9000 is over the RP2040" in _error(
        dict(_heltec(chip="rp2040", watchdog_ms=9000), reset=None, vext=None, led=None)
    )


def test_a_profile_file_that_does_not_parse_says_so():
    path = DIR + "/bad.json"
    _config()
    with open(path, "w") as f:
        f.write("{")
    assert str(raises(profile.BoardError, profile.load, path)) == path + " is not valid JSON"
    e = raises(profile.BoardError, profile.load, DIR + "/none.json")
    assert str(e) == "cannot read board profile %s/none.json" % DIR


# -- the boot sequence -------------------------------------------------------------------------


def test_boot_powers_the_oled_first_then_watchdog_then_wifi_then_clock_then_sign_in():
    rig = Rig()
    shown = []
    rig.board.open_display = lambda: shown.append(len(rig.machine.log)) or object()
    opts = {"config": rig.config, "once": True}
    code = rig.board.boot(opts, run=rig.app.run, ui_factory=lambda d, w, h: rig.ui)
    assert code == 0
    log = rig.machine.log
    # Vext (GPIO21) on, low-active; RES# (GPIO16) held high, pulsed low, released: then the OLED.
    assert log[:4] == [("pin", 21, 1, 0), ("pin", 16, 1, 1), ("set", 16, 0), ("set", 16, 1)]
    assert shown == [4]
    assert log[4] == ("wdt", 60000)
    assert rig.wlan.connects[0][0] >= rig.machine.wdts[0].started
    assert rig.ntp.calls == [(NTP, "ok")]
    assert rig.app.clock_at_start[0] is not None  # the time was set before any TLS
    assert rig.ui.kinds()[:4] == [
        "status:devauth",
        "status:Wi-Fi",
        "status:Clock",
        "status:devauth",
    ]
    # the console contract, in the real UI's words (a change there fails here)
    assert rig.lines[-3:] == [
        "Clock: set from " + NTP,
        "To sign in, visit %s and enter code %s" % (PING["verification_uri"], PING["user_code"]),
        "Signed in.",
    ]


def test_wifi_failures_are_shown_and_retried_with_back_off_then_sign_in_proceeds():
    rig = Rig(wifi=("wrong_password", "no_ap", "timeout", "ok"))
    assert rig.boot() == 0
    failed = [s for s in rig.ui.screens if s[0] == "status" and s[1] != "Wi-Fi"][1:4]
    assert failed == [
        ("status", "Wrong Wi-Fi password", "Check wifi.password\nRetry in 2 s"),
        ("status", "Wi-Fi not found", "HomeNet is not in range\nRetry in 4 s"),
        ("status", "Wi-Fi error", "No connection to HomeNet\nRetry in 8 s"),
    ]
    assert [line for line in rig.lines if not line.startswith("Connecting")][:3] == [
        "Wrong Wi-Fi password: Wi-Fi HomeNet refused the password: check wifi.password in "
        "devauth.json; retrying in 2 s",
        "Wi-Fi not found: Wi-Fi: no network named HomeNet in range: check wifi.ssid in "
        "devauth.json; retrying in 4 s",
        "Wi-Fi error: Wi-Fi: no connection to HomeNet after 20 s; retrying in 8 s",
    ]
    starts = [t for t, _, _ in rig.wlan.connects]
    gaps = [starts[i + 1] - starts[i] for i in range(len(starts) - 1)]
    # the failure takes 1 s to show (20 s for the timeout), then the pause: 2, 4, 8 s
    assert gaps == [1000 + 2000, 1000 + 4000, 20000 + 8000], gaps
    assert rig.wlan.connects[0][1:] == (SSID, PASSWORD)
    assert rig.wlan.configured.get("reconnects") == 3
    assert rig.ui.kinds()[-3:] == ["code", "signed_in", "status:Signed in"]
    _no_secret(rig)


def test_joining_wifi_and_setting_the_clock_are_on_screen_and_console():
    rig = Rig()
    assert rig.boot() == 0
    assert rig.ui.screens[:3] == [
        ("status", "devauth", "Starting..."),
        ("status", "Wi-Fi", "Joining " + SSID),
        ("status", "Clock", "Setting the time..."),
    ]
    assert rig.lines[:4] == [
        "Connecting to Wi-Fi " + SSID,
        "Wi-Fi: connected to " + SSID,
        "Setting the clock",
        "Clock: set from " + NTP,
    ]


def test_pico_w_wrong_password_code_is_recognised():
    assert board.status_error(FakeCYW43Network, -3, "x").short == "Wrong Wi-Fi password"
    assert board.status_error(FakeCYW43Network, -2, "x").short == "Wi-Fi not found"
    assert board.status_error(FakeCYW43Network, 2, "x") is None  # joined, waiting for DHCP
    assert board.status_error(FakeNetwork, 15, "x").short == "Wrong Wi-Fi password"
    assert "status 203" in str(board.status_error(FakeNetwork, 203, "x"))
    assert board.status_error(FakeNetwork, FakeNetwork.STAT_CONNECTING, "x") is None


def test_ntp_failure_says_certificate_checks_need_the_time_and_retries():
    rig = Rig(ntp=("fail", "fail", "ok"))
    assert rig.boot() == 0
    clock_failures = [s for s in rig.ui.screens if s[1:2] == ("Clock not set",)]
    assert clock_failures == [
        ("status", "Clock not set", "Certificate checks need the time\nRetry in 2 s"),
        ("status", "Clock not set", "Certificate checks need the time\nRetry in 4 s"),
    ]
    line = [line for line in rig.lines if line.startswith("Clock not set: ")]
    assert line[0].startswith(
        "Clock not set: certificate checks need the time, but NTP server %s failed" % NTP
    )
    assert line[0].endswith("retrying in 2 s (set wifi.ntp_server if this network blocks it)")
    assert line[1].endswith("retrying in 4 s (set wifi.ntp_server if this network blocks it)")
    assert [c[0] for c in rig.ntp.calls] == [NTP, NTP, NTP]
    assert rig.app.clock_at_start == [rig.app.clock_at_start[0]] and rig.app.clock_at_start[0]


def test_a_clock_that_is_already_set_is_kept_when_ntp_fails():
    rig = Rig(ntp=("fail",), unix=1767225600)
    assert rig.boot() == 0
    assert len(rig.ntp.calls) == 1
    assert any(line.startswith("Clock: NTP server %s failed" % NTP) for line in rig.lines)
    assert not [s for s in rig.ui.screens if s[1:2] == ("Clock not set",)]


def test_the_default_ntp_server_is_the_pool():
    rig = Rig(config=_config(wifi={"ssid": SSID, "password": PASSWORD}))
    assert rig.boot() == 0
    assert rig.ntp.calls == [("pool.ntp.org", "ok")]


def test_without_wifi_settings_the_board_says_which_key_is_missing():
    rig = Rig(config=_config(wifi=None))
    assert rig.boot() == 2
    assert rig.ui.screens[-1] == ("status", "Config error", "wifi is missing in devauth.json")
    assert rig.lines[-1].startswith("Config error: wifi is missing in ")
    assert rig.app.runs == 0


def test_a_pin_the_port_refuses_stops_the_boot_before_the_watchdog():
    rig = Rig(bad_pins=(21,))
    assert rig.boot() == 2
    assert rig.machine.wdts == [] and rig.app.runs == 0


def test_watchdog_is_fed_throughout_wifi_clock_and_polling():
    rig = Rig(
        wifi=("timeout", "ok"),
        ntp=("fail", "ok"),
        scripts=[[(200, PING)] + [PENDING] * 6 + [(200, TOKEN)]],
    )
    assert rig.boot() == 0
    wdt = rig.machine.wdts[0]
    assert wdt.timeout == 60000
    assert wdt.feeds > 1000
    assert wdt.longest <= board.SLICE_MS, wdt.longest


# -- Wi-Fi drops while the code is polled ----------------------------------------------------


def test_wifi_drop_during_polling_reconnects_and_shows_the_code_again():
    script = [(200, PING)] + [PENDING] * 8 + [(200, TOKEN)]
    rig = Rig(wifi=("ok", "timeout", "ok"), drops=(13000,), scripts=[script])
    assert rig.boot() == 0
    after = rig.screens_after("code")  # the last time the code was drawn: after the outage
    assert after == [("signed_in",), ("status", "Signed in", "Token valid for 60 min")]
    kinds = rig.ui.kinds()
    first = kinds.index("code")
    assert kinds[first + 1 : first + 5] == [
        "status:Wi-Fi",
        "status:Wi-Fi error",
        "status:Wi-Fi",
        "code",
    ]
    assert sum(1 for line in rig.lines if line.startswith("To sign in, visit")) == 1
    assert "Wi-Fi: lost the connection to HomeNet; reconnecting" in rig.lines
    # No poll went out while the link was down; the outage used up part of the 600 s.
    sent = [t for _, _, _, t in rig.app.transports[0].sent]
    lost, back = rig.wlan.connects[1][0], rig.wlan.connects[2][0] + 500
    assert not [t for t in sent if lost <= t < back], (sent, lost, back)
    start = sent[0]
    resumed = rig.ui.ticks[-1]
    assert resumed <= 600 - (rig.wall.now - start) // 1000 + 1
    _no_secret(rig)


def test_the_poll_deadline_keeps_counting_while_wifi_is_down():
    code = dict(PING, expires_in=30)
    script = [(200, code)] + [PENDING] * 10
    rig = Rig(wifi=("ok", "timeout", "timeout", "ok"), drops=(8000,), scripts=[script])
    assert rig.boot() == 4
    assert rig.ui.screens[-1][1] == "Code expired"
    # The outage (two 20 s join timeouts) ran past the 30 s: the code expired as soon as the
    # link was back, and devauth.oauth.flow sent no poll for the dead code.
    sent = [t for _, _, _, t in rig.app.transports[0].sent]
    back = rig.wlan.connects[-1][0] + 500
    assert back - sent[0] > 30000
    assert [t for t in sent if t > sent[0] + 30000] == []
    assert rig.wall.now - back < 1000


# -- the button --------------------------------------------------------------------------------


def test_short_press_toggles_the_sign_in_and_qr_screens():
    script = [(200, PING)] + [PENDING] * 3 + [(200, TOKEN)]
    rig = Rig(scripts=[script])
    rig.machine.presses = [(8000, 8300), (9000, 9020)]  # a press, then a 20 ms bounce
    assert rig.boot() == 0
    assert rig.ui.screens.count(("toggle",)) == 1


def test_long_press_while_polling_starts_a_new_sign_in():
    cfg = _config()
    tokens.write(DIR + "/state", tokens.PENDING, {"device_code": "x", "expires_at": 1})
    first = [(200, PING)] + [PENDING] * 10
    second = [(200, dict(PING, user_code="NEWC-ODE1")), (200, TOKEN)]
    rig = Rig(scripts=[first, second], config=cfg)
    rig.machine.presses = [(9000, 13000)]
    assert rig.boot() == 0
    assert rig.app.runs == 2
    assert "Button: held, starting a new sign-in." in rig.lines
    assert tokens.read(DIR + "/state", tokens.PENDING) is None
    codes = [s[1] for s in rig.ui.screens if s[0] == "code"]
    assert codes == ["YYD6-CD4T", "NEWC-ODE1"]
    assert ("status", "New sign-in", "Forgetting the old one...") in rig.ui.screens
    # the first flow stopped polling at the press: 2 s after it started
    assert rig.app.transports[0].sent[-1][3] < 11000


def test_long_press_after_sign_in_signs_out_then_signs_in_again():
    scripts = [[(200, PING), (200, TOKEN)], [(200, PING), (200, TOKEN)]]
    rig = Rig(scripts=scripts, after_ms=20000)
    rig.machine.presses = [(14000, 17000)]
    assert rig.boot() == 0
    assert rig.app.runs == 2
    assert rig.app.sessions[0].signed_out == 1


def test_a_button_held_during_wifi_setup_does_not_restart_anything():
    rig = Rig(wifi=("timeout", "ok"))
    rig.machine.presses = [(3000, 6000)]
    assert rig.boot() == 0
    assert rig.app.runs == 1
    assert "Button: held, but there is no sign-in to restart yet" in rig.lines


# -- signed in: demo, application hook, LED ---------------------------------------------------


def test_demo_shows_signed_in_and_the_remaining_lifetime():
    rig = Rig(after_ms=150000)
    assert rig.boot() == 0
    demo = [s[2] for s in rig.ui.screens if s[:2] == ("status", "Signed in")]
    assert demo[0] == "Token valid for 60 min"
    assert demo[-1] == "Token valid for 57 min"
    assert board.lifetime(None) == "unknown"
    assert board.lifetime(42) == "42 s"
    assert board.lifetime(3 * 3600 + 300) == "3 h 5 min"


class Application:
    def __init__(self):
        self.calls = []

    def on_signed_in(self, session, record):
        self.calls.append(("signed_in", record["expires_at"]))

    def tick(self, session):
        self.calls.append(("tick",))
        if len(self.calls) == 3:
            raise RuntimeError("application bug")


def test_application_hook_gets_the_session_and_its_errors_do_not_stop_the_board():
    app = Application()
    rig = Rig(after_ms=5000, application=app)
    assert rig.boot() == 0
    assert app.calls[0][0] == "signed_in" and app.calls.count(("tick",)) >= 4
    assert "Application error: RuntimeError application bug" in rig.lines
    assert not [s for s in rig.ui.screens if s[:2] == ("status", "Signed in")]


def test_led_blinks_while_the_code_waits_and_stays_on_when_signed_in():
    rig = Rig(after_ms=3000, scripts=[[(200, PING), PENDING, PENDING, (200, TOKEN)]])
    assert rig.boot(once=True) == 0
    rig.board.stop()
    sets = [e[2] for e in rig.machine.log if e[:2] == ("set", 25)]
    assert sets[:4] == [1, 0, 1, 0]  # blinking at 1 Hz while polling
    assert sets[-2:] == [1, 0]  # on once signed in, off when the firmware stops


# -- leaving the firmware ------------------------------------------------------------------------


def test_stop_stretches_the_esp32_watchdog_so_the_repl_stays_usable():
    rig = Rig()
    assert rig.boot() == 0
    rig.board.stop()  # what board.main does on the way out
    assert rig.machine.wdts[-1].timeout == board.IDLE_WATCHDOG_MS


def test_stop_disables_the_rp2040_watchdog():
    class RP2:
        @staticmethod
        def bootsel_button():
            return 0

    sys.modules["rp2"] = RP2
    try:
        rig = Rig(
            name="pico-w-ssd1306", net=FakeCYW43Network, config=_config(board="pico-w-ssd1306")
        )
        assert rig.boot() == 0
        assert rig.machine.wdts[0].timeout == 8388
        rig.board.stop()
    finally:
        sys.modules.pop("rp2", None)
    assert rig.machine.mem32[0x40058000] & (1 << 30) == 0
    assert rig.machine.level("LED") == 0
