"""`make sim` as the first thing a person sees: one line on what runs, the OLED mirrored to fit
the terminal, then the next step. The real `devauth sim` (dev-as, the firmware on the unix port)
as a process, at 80 columns. CPython only."""

import os
import subprocess
import sys

import pytest
from devauth_tools import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sim(columns, lines):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools"))
    env.update(COLUMNS=str(columns), LINES=str(lines))
    return subprocess.run(
        [sys.executable, "-m", "devauth_tools.cli", "sim"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


# 40 lines: quadrant blocks (2x2 pixels a character, 32 lines); 24 lines: Braille (2x4, 16 lines)
@pytest.mark.parametrize(
    "height, frame_lines, lo, hi", [(40, 34, 0x2596, 0x259F), (24, 18, 0x2801, 0x28FF)]
)
def test_sim_says_what_runs_mirrors_within_80_columns_and_names_the_next_step(
    height, frame_lines, lo, hi
):
    proc = sim(80, height)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("devauth sim: a local authorization server (https://localhost:")
    assert "the firmware on MicroPython" in lines[0] and "approves the code in 4 s." in lines[0]
    start = next(i for i, line in enumerate(lines) if line.startswith("+-"))
    frame = [line.replace("\x1b[1B", "") for line in lines[start : start + frame_lines]]
    assert frame[-1].startswith("+-") and frame[1].startswith("|")  # one whole frame
    assert max(len(line) for line in frame) == 66  # half size: 64 cells + 2 edges
    assert any(lo <= ord(ch) <= hi for line in frame for ch in line)
    assert "To sign in, visit https://localhost:" in proc.stdout and "Signed in." in proc.stdout
    assert lines[-1].startswith("Next: your own server: devauth init --issuer ")
    assert "devauth check --config devauth.json" in lines[-1]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_launcher_passes_the_terminal_size_to_the_unix_port(monkeypatch):
    monkeypatch.setenv("COLUMNS", "97")
    monkeypatch.setenv("LINES", "31")
    cmd = runner.firmware_command("c.json", mirror=True)
    assert cmd[cmd.index("--columns") + 1] == "97" and cmd[cmd.index("--lines") + 1] == "31"
    assert "--columns" not in runner.firmware_command("c.json", mirror=False)
    cmd = runner.firmware_command("c.json", mirror=True, columns=140, lines=50)
    assert cmd[cmd.index("--columns") + 1] == "140" and cmd[cmd.index("--lines") + 1] == "50"
