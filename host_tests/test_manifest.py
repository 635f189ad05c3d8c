"""firmware/manifest.py, MicroPython's freeze manifest, read by MicroPython v1.28.0's own manifest
tool (tools/manifestfile.py in the source `make mp32` unpacks) as an ESP32, an rp2 (Pico W) and
the unix build would read it: the devauth package, micropython-lib's ssd1306 driver found in the
tree's lib/micropython-lib, and the port's own modules first."""

import json
import os
import subprocess
import sys

import pytest
from devauth_tools import runner

SRC = os.path.join(runner.REPO, "build", "micropython-1.28.0")
FW = os.path.join(runner.REPO, "firmware")
READ = """
import json, sys
sys.path.insert(0, sys.argv[1] + "/tools")
import manifestfile as mf
src, port, manifest = sys.argv[1:4]
m = mf.ManifestFile(mf.MODE_FREEZE, {
    "MPY_DIR": src, "MPY_LIB_DIR": src + "/lib/micropython-lib",
    "PORT_DIR": src + "/ports/" + port, "BOARD_DIR": None,
})
m.execute(manifest)
print(json.dumps([[r.target_path, r.full_path] for r in m.files()]))
"""


def frozen(port, manifest):
    if not os.path.isdir(os.path.join(SRC, "tools")):
        pytest.skip("no MicroPython source here (make mp32 unpacks it)")
    proc = subprocess.run(
        [sys.executable, "-c", READ, SRC, port, manifest], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def library(terminal):
    return sorted(
        os.path.relpath(os.path.join(d, n), FW)
        for d, _, files in os.walk(os.path.join(FW, "devauth"))
        for n in files
        if n.endswith(".py") and (terminal or n != "termdisplay.py")
    )


@pytest.mark.parametrize("port", ["esp32", "rp2"])
def test_a_board_image_freezes_devauth_the_driver_and_the_port_modules(port):
    files = frozen(port, os.path.join(FW, "manifest.py"))
    ours = sorted(t for t in files if t.startswith("devauth/"))
    assert ours == library(terminal=False)  # termdisplay is a host tool: not on boards
    assert all(os.path.samefile(files[t], os.path.join(FW, t)) for t in ours)
    assert files["ssd1306.py"].endswith("micropython/drivers/display/ssd1306/ssd1306.py")
    assert "_boot.py" in files or port == "rp2"  # the ESP32's filesystem mount stays
    assert "asyncio/core.py" in files


def test_a_board_image_freezes_what_mip_installs():
    pkg = json.load(open(os.path.join(runner.REPO, "package.json")))
    files = frozen("esp32", os.path.join(FW, "manifest.py"))
    assert sorted(t for t in files if t.startswith("devauth/")) == [d for d, _ in pkg["urls"]]


def test_the_unix_build_freezes_the_same_manifest_with_the_terminal_mirror():
    files = frozen("unix", os.path.join(runner.REPO, "tools", "unix_manifest.py"))
    assert sorted(t for t in files if t.startswith("devauth/")) == library(terminal=True)
    assert "ssd1306.py" in files and "requests/__init__.py" in files  # the naive baseline's
