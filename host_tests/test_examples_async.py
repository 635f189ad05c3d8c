"""examples/async_readings.py, the asyncio application, as `make sim APP=...` runs it: against the
dev server over TLS, on the 32-bit MicroPython VM (precompiled firmware, via devauth_tools.sim's
own command) and on CPython. Its LED and sensor task keeps running while the code is on the
screen; then the readings reach the API with the token. CPython only."""

import argparse
import os
import re
import subprocess
import sys

import pytest
from devauth_tools import runner, sim
from devauth_tools.dev_as import DevAS
from e2e import ROOT, write_config

EXAMPLE = os.path.join(ROOT, "examples", "async_readings.py")
COUNT = 3
# "while signing in (2093 ms): 21 LED toggles, 21 readings, longest gap 124 ms"
SUMMARY = re.compile(r"while signing in \((\d+) ms\): (\d+) LED toggles, (\d+) readings")


def _command(runtime, cfg, url):
    if runtime == "micropython":  # exactly what `devauth sim --app` launches
        args = argparse.Namespace(app=EXAMPLE, count=COUNT, period=0)
        vm = runner.vm_name()
        return sim.app_command(args, cfg, url, runner.default_heap(vm, mirror=True), vm)
    code = (
        "import sys; sys.path[:0] = %r; import async_readings as a; sys.exit(a.run(%r, %r, %d, 0))"
    )
    paths = [
        os.path.join(ROOT, "tools", "devauth_tools", "shims"),
        os.path.join(ROOT, "firmware"),
        os.path.dirname(EXAMPLE),
    ]
    return [sys.executable, "-c", code % (paths, cfg, url, COUNT)]


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_the_led_blinks_through_the_sign_in_then_the_readings_are_posted(tmp_path, runtime):
    # The server approves 1.5 s after the code is issued; polls come every second.
    with DevAS(str(tmp_path / "as"), port=0, auto_approve=1.5, interval=1, quiet=True) as srv:
        cfg = write_config(tmp_path, srv.base_url, srv.pki, "none")
        url = srv.base_url + "/api/readings"
        proc = subprocess.run(
            _command(runtime, cfg, url), capture_output=True, text=True, timeout=120
        )
        calls = list(srv.store.api.calls)
        readings = list(srv.store.api.readings)
        stats = srv.stats()
    out = proc.stdout
    assert proc.returncode == 0 and "Traceback" not in out + proc.stderr, out + proc.stderr
    assert "To sign in, visit " in out and "Signed in." in out
    elapsed, toggles, reads = (int(g) for g in SUMMARY.search(out).groups())
    # A 100 ms task over a sign-in of at least 1.5 s: the blocking path would let it run once.
    assert toggles >= 3 and reads == toggles, out
    assert elapsed >= 1000, out
    for n in range(1, COUNT + 1):
        assert "reading %d posted: HTTP 201" % n in out, out
    assert calls == [("localhost", "POST", "/api/readings", True, True)] * COUNT
    assert [r["n"] for r in readings] == list(range(1, COUNT + 1))
    assert readings[0]["unit"] == "°C" and readings[0]["samples"] >= toggles
    assert 21.0 <= readings[0]["t"] <= 22.0
    assert stats["device_authorizations"] == 1


def test_make_sim_runs_the_asyncio_example():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"))
    proc = subprocess.run(
        [sys.executable, "-m", "devauth_tools.cli", "sim", "--app", EXAMPLE, "--count", "2"]
        + ["--period", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reading 2 posted: HTTP 201" in proc.stdout
    assert int(SUMMARY.search(proc.stdout).group(2)) >= 3  # toggles while the code was shown
    assert "devauth sim: firmware exited 0" in proc.stdout


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_on_a_board_the_example_is_an_application_with_async_main(runtime):
    """Copied as /application.py, the board glue runs its `main(auth)` on asyncio (and the
    blocking path's hooks are absent, so nothing else calls it)."""
    code = (
        "import sys; sys.path[:0] = %r; import async_readings as a; "
        "from devauth.board.glue import async_main; "
        "print(async_main(a) is a.main, hasattr(a, 'on_signed_in'), async_main(a.Led) is None)"
    )
    paths = [os.path.join(ROOT, "firmware"), os.path.dirname(EXAMPLE)]
    vm = runner.vm_name()
    vm = "32" if vm == "frozen" else vm  # the source tree, as `devauth sim --app` loads it
    exe = runner.micropython(vm) if runtime == "micropython" else sys.executable
    proc = subprocess.run([exe, "-c", code % paths], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["True", "False", "True"], proc.stdout + proc.stderr
