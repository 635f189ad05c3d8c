"""The dual logic tests, run again on the real MicroPython VM (the unix port in .venv)."""

import os
import subprocess

import pytest
from mp_suite import discover

HERE = os.path.dirname(os.path.abspath(__file__))
DUAL = os.path.join(HERE, "dual")
MICROPYTHON = os.path.join(os.path.dirname(HERE), ".venv", "bin", "micropython")


@pytest.mark.parametrize("module", discover(DUAL))
def test_module_passes_on_micropython(module):
    proc = subprocess.run(
        [MICROPYTHON, os.path.join(DUAL, "mp_suite.py"), module],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed, 0 failed" in proc.stdout
    assert not proc.stdout.startswith("0 passed")
