"""Every file in firmware/ compiles with mpy-cross, as plain bytecode and for each board
architecture, and a tree compiled for the ESP32 signs in on the unix port.

The firmware has no @micropython.native/viper code, so the architecture flag changes no byte of
the .mpy files: the tree a board gets is the tree the end-to-end tests run (e2e.run_firmware
runs the precompiled tree by default, see e2e.compiled_firmware)."""

import filecmp
import os

import pytest
from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from e2e import compiled_firmware, run_firmware, write_config

ARCHS = [None, "xtensawin", "rv32imc", "armv6m"]


def sources():
    fw = runner.firmware_dir()
    out = []
    for d, _, files in os.walk(fw):
        out += [os.path.relpath(os.path.join(d, f), fw) for f in files if f.endswith(".py")]
    return sorted(out)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = {}
    for march in ARCHS:
        d = str(tmp_path_factory.mktemp("mpy-%s" % (march or "bytecode")))
        runner.compile_firmware(d, march=march)  # CalledProcessError (with stderr) on a failure
        out[march] = d
    return out


@pytest.mark.parametrize("march", ARCHS)
def test_every_firmware_file_compiles(trees, march):
    tree = trees[march]
    for rel in sources():
        if rel == "main.py":  # the board runs main.py from source: it stays source
            assert os.path.exists(os.path.join(tree, rel))
            continue
        mpy = os.path.join(tree, rel[:-3] + ".mpy")
        assert os.path.getsize(mpy) > 0, rel
        with open(mpy, "rb") as f:
            assert f.read(2) == b"M\x06", rel


def test_the_architectures_get_the_same_bytecode(trees):
    plain = trees[None]
    for march in ARCHS[1:]:
        for rel in sources():
            name = rel if rel == "main.py" else rel[:-3] + ".mpy"
            a, b = os.path.join(plain, name), os.path.join(trees[march], name)
            assert filecmp.cmp(a, b, shallow=False), (march, name)


def test_the_e2e_tests_run_the_precompiled_tree():
    tree = compiled_firmware()
    assert not os.path.exists(os.path.join(tree, "devauth", "oauth", "flow.py"))
    assert os.path.exists(os.path.join(tree, "devauth", "oauth", "flow.mpy"))


def test_the_esp32_tree_signs_in_on_the_unix_port(trees, tmp_path):
    with DevAS(str(tmp_path / "pki"), port=0, auto_approve=0.3, interval=1) as srv:
        run = run_firmware(
            write_config(tmp_path, srv.base_url, srv.pki, "tls_client_auth"),
            firmware=trees["xtensawin"],
        )
    assert run.code == 0, run
    assert "Signed in." in run.lines
