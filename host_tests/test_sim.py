"""`make sim` as the first thing a person sees: one line on what runs, the OLED mirrored to fit
the terminal, then the next step. The real `devauth sim` (dev-as, the firmware on the unix port)
as a process, at 80 columns. CPython only."""

import os
import subprocess
import sys

from devauth_tools import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sim(columns):
    env = dict(os.environ, COLUMNS=str(columns), PYTHONPATH=os.path.join(ROOT, "tools"))
    return subprocess.run(
        [sys.executable, "-m", "devauth_tools.cli", "sim"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_sim_says_what_runs_mirrors_within_80_columns_and_names_the_next_step():
    proc = sim(80)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    first = lines[0]
    assert first.startswith("devauth sim: a local authorization server (https://localhost:")
    assert "the firmware on MicroPython" in first and "approves the code in 4 s." in first
    frame = [line.replace("\x1b[1B", "") for line in lines if line[:1] in "+|"]
    assert frame and max(len(line) for line in frame) == 66  # half size: 64 cells + 2 edges
    assert any(ch in line for line in frame for ch in "\u2596\u2597\u2598\u259d\u259a\u259e")
    assert "To sign in, visit https://localhost:" in proc.stdout and "Signed in." in proc.stdout
    assert lines[-1].startswith("Next: your own server: devauth init --issuer ")
    assert "devauth check --config devauth.json" in lines[-1]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_launcher_passes_the_terminal_width_to_the_unix_port(monkeypatch):
    monkeypatch.setenv("COLUMNS", "97")
    cmd = runner.firmware_command("c.json", mirror=True)
    assert cmd[cmd.index("--columns") + 1] == "97"
    assert "--columns" not in runner.firmware_command("c.json", mirror=False)
    cmd = runner.firmware_command("c.json", mirror=True, columns=140)
    assert cmd[cmd.index("--columns") + 1] == "140"
