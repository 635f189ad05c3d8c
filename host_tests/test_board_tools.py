"""`devauth doctor` and `devauth hil`: the mpremote commands they would run, and their scripts run
for real on the MicroPython unix port (`--port unix`)."""

import json
import os
import subprocess

from devauth_tools import cli, deploy, doctor, hil, runner

ROOT = runner.REPO


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_doctor_dry_run_prints_the_mpremote_command(capsys):
    code, lines, _ = run_cli(capsys, "doctor", "--port", "/dev/ttyACM0", "--dry-run")
    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith("would run: %s connect /dev/ttyACM0 run " % deploy.mpremote())


def test_doctor_script_reports_on_the_unix_port():
    script = doctor.write_script()
    try:
        proc = subprocess.run(
            [runner.micropython(), script], capture_output=True, text=True, timeout=60
        )
    finally:
        os.remove(script)
    found = dict(line[8:].split(": ", 1) for line in proc.stdout.splitlines())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert found["micropython"].startswith("1.")
    assert int(found["heap_free"].split()[0]) > 0
    assert "SSLContext" in found["tls"] and "client certificates" in found["tls"]
    assert found["time"].startswith("set, ")
    assert found["wifi"] == "no network module on this port"
    assert found["display"] == "no machine.I2C on this port"


def test_doctor_probes_the_oled_with_the_profiles_pins(tmp_path):
    """The script on fake hardware: Vext and reset first, then an I2C scan on the OLED's pins."""
    profile = json.load(open(os.path.join(ROOT, "boards", "heltec-wifi-kit-32.json")))
    (tmp_path / "board.json").write_text(json.dumps(profile))
    script = doctor.write_script(str(tmp_path))
    run = (
        "import sys; sys.path.insert(0, %r); import boardfakes;"
        "m = boardfakes.FakeMachine(boardfakes.now_of(None)); boardfakes.install(m);"
        "exec(open(%r).read()); print('pins', [e[1] for e in m.log if e[0] in ('pin', 'i2c')])"
    ) % (os.path.join(ROOT, "host_tests", "dual"), script)
    proc = subprocess.run(
        [runner.micropython(), "-c", run],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert "doctor: board: heltec-wifi-kit-32 (esp32)" in proc.stdout, proc.stdout + proc.stderr
    assert "doctor: display: found at 0x3c" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "pins [21, 16, 4, 15, 1]"


def test_hil_dry_run_prints_the_mpremote_commands(capsys):
    code, lines, _ = run_cli(
        capsys, "hil", "--port", "/dev/ttyUSB0", "--board", "esp32c3-oled-042", "--dry-run"
    )
    assert code == 0
    mp = "would run: %s connect /dev/ttyUSB0 " % deploy.mpremote()
    stage = hil.STAGE
    assert lines == [
        mp + "rm -r :hil",
        mp + "cp -r %s/hil :" % stage,
        mp + "run %s/hil_run.py" % stage,
    ]
    names = os.listdir(os.path.join(stage, "hil"))
    for module in hil.modules() + ["mp_suite", "mptest", "fakes", "boardfakes"]:
        assert module + ".mpy" in names  # precompiled: a board could not compile test_jwt.py
    assert "boards" in names and "devauth" in names


def test_hil_bundle_passes_on_the_unix_port(capsys):
    code, lines, _ = run_cli(capsys, "hil", "--port", "unix", "test_board", "test_flow")
    assert code == 0, "\n".join(lines)
    assert lines[-1] == "hil: ok"
    assert lines[-2].endswith(" passed, 0 failed")
