"""A heap too small for the firmware ends in one clear line, `Out of memory: ...`, and exit 1 on
every VM (runner.VMS): while the library is imported and in the middle of a sign-in, headless and
with the mirrored screen. Never a traceback."""

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from e2e import run_firmware, write_config

# Heaps well below each VM's smallest sign-in (make bench): the first fails while importing the
# library, the second once the sign-in is under way (after the config is read).
TOO_SMALL = {"32": ("8K", "32K"), "frozen": ("4K", "12K"), "64": ("12K", "48K")}


def built(vm):
    if not runner.vm_built(vm):
        pytest.skip("no 32-bit MicroPython here (make mp32 says why)")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with DevAS(str(tmp_path_factory.mktemp("as")), port=0, auto_approve=0.3, interval=1) as s:
        yield s


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("stage", [0, 1])
@pytest.mark.parametrize("vm", runner.VMS)
def test_a_heap_too_small_is_one_out_of_memory_line(srv, tmp_path, vm, stage, mirror):
    built(vm)
    cfg = write_config(tmp_path, srv.base_url, srv.pki, "none")
    run = run_firmware(cfg, heap=TOO_SMALL[vm][stage], vm=vm, mirror=mirror)  # no Traceback
    console = [line for line in run.lines if not line.startswith(("|", "+", "stats: "))]
    assert run.code == 1, run
    assert console[-1].startswith("Out of memory: "), run
    assert sum(line.startswith("Out of memory") for line in console) == 1, run
    assert run.err == "", run
