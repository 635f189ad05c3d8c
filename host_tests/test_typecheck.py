"""firmware/ type-checks against micropython-esp32-stubs (basedpyright, "standard" mode).

The stubs replace CPython's typeshed (`typeshedPath`), so `time.ticks_ms`, `machine.Pin`,
`network.WLAN`, `tls.SSLContext` are checked as the ESP32 port has them. They live outside the
project's environment, in .venv/mpy-typings (a `requests/` stub package there would shadow the
real one): `pip install --target .venv/mpy-typings` puts them there, and this test does that
when they are missing. The checker is basedpyright (a pip package: pyright bundled with Node).

Per-file rule overrides, each narrow and explained in KNOWN, cover code written for two
interpreters (CPython fallbacks the ESP32 stubs do not know) and Optional narrowing that the
module owners have yet to spell out; remove an entry once its file checks clean.
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
STUBS = os.environ.get("DEVAUTH_MPY_STUBS") or os.path.join(ROOT, ".venv", "mpy-typings")
STUB_PACKAGES = ["micropython-esp32-stubs==1.29.0.post1", "micropython-stdlib-stubs==1.29.0.post2"]
CHECKER = "basedpyright==1.40.2"

# file: (rules turned off for that file only, why)
KNOWN = {
    "devauth/clock.py": (
        ("reportAssignmentType", "reportAttributeAccessIssue"),
        "the CPython stand-ins for time.ticks_ms & co. (time.monotonic is CPython's)",
    ),
    "devauth/net/http.py": (
        ("reportAssignmentType", "reportAttributeAccessIssue", "reportOptionalMemberAccess")
        + ("reportCallIssue", "reportOperatorIssue"),
        "const() fallback; SSLContext.verify_mode and readline(limit) missing from the stubs; "
        "the connection's stream is Optional between requests",
    ),
    "devauth/oled/qr.py": (("reportAssignmentType",), "the const() fallback for CPython"),
    "devauth/config.py": (
        ("reportAttributeAccessIssue",),
        "Config fields start as None/str and are set from Optional validators",
    ),
    "devauth/oled/display.py": (
        ("reportMissingImports",),
        "the ssd1306 drivers are installed on the board with mip",
    ),
    "devauth/jose/ecdsa.py": (
        ("reportArgumentType", "reportOptionalSubscript"),
        "the point at infinity is None in the curve arithmetic",
    ),
    "devauth/jose/jwt.py": (("reportAttributeAccessIssue",), "ECKey.bits set outside its class"),
    "devauth/oauth/session.py": (
        ("reportOptionalSubscript",),
        "the stored token record is Optional",
    ),
    "devauth/oled/termdisplay.py": (
        ("reportGeneralTypeIssues",),
        "framebuf or the plain-Python Canvas as the base class (CPython has no framebuf)",
    ),
}


def _pip(*args):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)


def stubs():
    if not os.path.exists(os.path.join(STUBS, "machine.pyi")):
        _pip("--no-deps", "--target", STUBS, *STUB_PACKAGES)
    return STUBS


def checker():
    """The basedpyright command (installed beside this Python, or into .venv/typecheck)."""
    here = os.path.join(os.path.dirname(sys.executable), "basedpyright")
    if os.path.exists(here):
        return [here], None
    if shutil.which("basedpyright"):
        return [shutil.which("basedpyright")], None
    target = os.path.join(ROOT, ".venv", "typecheck")
    if not os.path.isdir(os.path.join(target, "basedpyright")):
        _pip("--target", target, CHECKER)
    return [sys.executable, "-m", "basedpyright"], target


def config(directory):
    envs = []
    for rel, (rules, _why) in sorted(KNOWN.items()):
        env = {"root": os.path.join(FIRMWARE, rel), "extraPaths": [FIRMWARE]}
        env.update({rule: "none" for rule in rules})
        envs.append(env)
    envs.append({"root": FIRMWARE, "extraPaths": [FIRMWARE]})
    cfg = {
        "include": [FIRMWARE],
        "typeshedPath": stubs(),
        "stubPath": stubs(),
        "extraPaths": [FIRMWARE],
        "typeCheckingMode": "standard",
        "reportMissingModuleSource": "none",  # stubs without sources are the point
        "executionEnvironments": envs,
    }
    path = os.path.join(str(directory), "pyrightconfig.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def test_firmware_type_checks_against_the_esp32_stubs(tmp_path):
    cmd, pythonpath = checker()
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        cmd + ["-p", config(tmp_path), "--outputjson"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    errors = [
        "%s:%d %s (%s)"
        % (
            os.path.relpath(d["file"], FIRMWARE),
            d["range"]["start"]["line"] + 1,
            d["message"].splitlines()[0],
            d.get("rule"),
        )
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert report["summary"]["filesAnalyzed"] >= 20
    assert errors == [], "\n".join(errors)


def test_the_board_glue_needs_no_overrides():
    mine = ("main.py", "devauth/entry.py", "devauth/board/profile.py")
    for rel in mine + ("devauth/board.py", "devauth/boardinit.py"):
        assert rel not in KNOWN
