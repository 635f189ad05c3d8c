"""The dual logic tests, run again on the real MicroPython VM (the unix port in .venv)."""

import os
import subprocess

import pytest
from mp_suite import MODULES

HERE = os.path.dirname(os.path.abspath(__file__))
MICROPYTHON = os.path.join(os.path.dirname(HERE), ".venv", "bin", "micropython")


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_on_micropython(module):
    proc = subprocess.run(
        [MICROPYTHON, os.path.join(HERE, "mp_suite.py"), module],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed, 0 failed" in proc.stdout
    assert not proc.stdout.startswith("0 passed")
