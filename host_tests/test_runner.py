"""runner: the precompiled tree `devauth run` and `make sim` use (build/mpy) is the firmware they
were given, never a stale one, and DEVAUTH_VM picks the VM."""

import os
import subprocess
import sys
import time

import pytest
from devauth_tools import runner


def tree(root, files):
    """A small firmware tree: {relative path: source}."""
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return str(root)


def compiled(out):
    return sorted(
        os.path.relpath(os.path.join(d, f), out)
        for d, _, files in os.walk(out)
        for f in files
        if f != ".built"
    )


def age(root, seconds=3600):
    """Make every file of `root` an hour old (as a copied or checked-out tree can be)."""
    then = time.time() - seconds
    for d, _, files in os.walk(root):
        for f in files:
            os.utime(os.path.join(d, f), (then, then))


@pytest.fixture
def build(tmp_path, monkeypatch):
    out = str(tmp_path / "mpy")

    def run(src):
        monkeypatch.setenv("DEVAUTH_FIRMWARE", src)
        return runner.ensure_compiled(out)

    return run


FILES = {"main.py": "import devauth.a\n", "devauth/__init__.py": "", "devauth/a.py": "X = 1\n"}


def test_another_firmware_tree_is_compiled_even_when_older(tmp_path, build):
    a = tree(tmp_path / "a", FILES)
    b = tree(tmp_path / "b", dict(FILES, **{"devauth/b.py": "Y = 2\n"}))
    age(b)
    build(a)
    assert "devauth/b.mpy" in compiled(build(b))


def test_a_deleted_module_leaves_the_compiled_tree(tmp_path, build):
    a = tree(tmp_path / "a", dict(FILES, **{"devauth/gone.py": "Z = 3\n"}))
    out = build(a)
    assert "devauth/gone.mpy" in compiled(out)
    os.remove(os.path.join(a, "devauth", "gone.py"))
    assert "devauth/gone.mpy" not in compiled(build(a))


def test_a_renamed_module_is_compiled_under_its_new_name(tmp_path, build):
    a = tree(tmp_path / "a", FILES)
    build(a)
    os.rename(os.path.join(a, "devauth", "a.py"), os.path.join(a, "devauth", "ä_b.py"))
    assert compiled(build(a)) == ["devauth/__init__.mpy", "devauth/ä_b.mpy", "main.py"]


def test_a_change_keeping_the_old_time_is_compiled(tmp_path, build):
    a = tree(tmp_path / "a", FILES)
    out = build(a)
    before = open(os.path.join(out, "devauth", "a.mpy"), "rb").read()
    tree(a, {"devauth/a.py": "X = 'client_id:a+b'\n"})
    age(a)
    assert open(os.path.join(build(a), "devauth", "a.mpy"), "rb").read() != before


def test_the_same_source_is_not_compiled_again(tmp_path, build):
    a = tree(tmp_path / "a", FILES)
    out = build(a)
    marker = os.path.join(out, "devauth", "kept")
    open(marker, "w").close()
    build(a)
    assert os.path.exists(marker)


def test_an_unknown_vm_is_one_line(tmp_path):
    code = "from devauth_tools import runner; runner.micropython()"
    env = dict(os.environ, DEVAUTH_VM="128", PYTHONPATH=os.path.join(runner.REPO, "tools"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr == "devauth: unknown VM '128' (DEVAUTH_VM / --vm: 32, frozen or 64)\n"


def test_the_frozen_vm_refuses_firmware_it_does_not_hold(tmp_path, monkeypatch):
    if not runner.vm_built("frozen"):
        pytest.skip("no 32-bit MicroPython here (make mp32 says why)")
    monkeypatch.setenv("DEVAUTH_FIRMWARE", tree(tmp_path / "a", FILES))
    with pytest.raises(SystemExit, match="the frozen VM holds other firmware than"):
        runner.micropython("frozen")


def test_without_a_32_bit_build_the_64_bit_vm_runs_and_says_so_once(monkeypatch, capsys):
    monkeypatch.delenv("DEVAUTH_VM", raising=False)
    monkeypatch.setattr(runner, "MP32", "/nonexistent/micropython")
    monkeypatch.setattr(runner, "_said", [])
    assert runner.vm_name() == runner.vm_name() == "64"
    err = capsys.readouterr().err
    assert err == "devauth: no 32-bit MicroPython (make mp32): on the PyPI 64-bit VM\n"
    assert runner.default_heap(mirror=True) == runner.default_heap() == runner.SIM_HEAP == "224K"


def test_make_mp32_rebuilds_the_frozen_vm_when_firmware_differs(tmp_path, monkeypatch):
    if not runner.vm_built("frozen"):
        pytest.skip("no 32-bit MicroPython here (make mp32 says why)")
    assert runner.frozen_current()  # make mp32 (make test runs it) just built it
    tree(tmp_path / "firmware", FILES)  # the same repository with other firmware
    monkeypatch.setattr(runner, "REPO", str(tmp_path))
    assert not runner.frozen_current()
