"""`devauth flash`: the steps for each chip (dry run), the pinned images, and the refusal to write
an image whose SHA-256 is not the pinned one. No board and no download here. CPython only."""

import hashlib
import os

import pytest
from devauth_tools import cli, flash


def run(capsys, *argv):
    code = cli.main(["flash", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


@pytest.mark.parametrize(
    "board, chip, offset",
    [
        ("heltec-wifi-kit-32", "esp32", "0x1000"),
        ("heltec-wifi-kit-32-v3", "esp32s3", "0x0"),
        ("esp32c3-oled-042", "esp32c3", "0x0"),
    ],
)
def test_dry_run_erases_then_writes_the_pinned_image_at_the_chip_offset(
    capsys, tmp_path, board, chip, offset
):
    code, lines, err = run(
        capsys, "--port", "/dev/ttyUSB0", "--board", board, "--dry-run", "--cache", str(tmp_path)
    )
    assert code == 0, err
    image = flash.IMAGES[chip]
    assert image.name.endswith("-v1.28.0.bin") and len(image.sha256) == 64
    local = os.path.join(str(tmp_path), image.name)
    assert lines[1] == "would download: %s -> %s" % (image.url, local)
    assert image.url.startswith("https://micropython.org/resources/firmware/")
    assert lines[2] == "would verify: SHA-256 %s" % image.sha256
    erase, write = lines[3], lines[4]
    assert erase.startswith("would run: ") and erase.endswith(
        "-m esptool --chip %s --port /dev/ttyUSB0 erase_flash" % chip
    )
    assert write.endswith("write_flash -z %s %s" % (offset, local))
    assert not os.listdir(str(tmp_path))  # a dry run downloads nothing


def test_pico_w_gets_the_uf2_copied_to_its_drive(capsys, tmp_path):
    code, lines, _ = run(
        capsys,
        "--port",
        "/media/u/RPI-RP2",
        "--board",
        "pico-w-ssd1306",
        "--dry-run",
        "--cache",
        str(tmp_path),
    )
    assert code == 0
    uf2 = os.path.join(str(tmp_path), "RPI_PICO_W-20260406-v1.28.0.uf2")
    assert lines[-1] == "would copy %s to /media/u/RPI-RP2" % uf2
    assert not any("esptool" in line for line in lines)


def test_a_cached_image_with_another_checksum_is_refused_and_deleted(capsys, tmp_path):
    bad = tmp_path / flash.IMAGES["esp32"].name
    bad.write_bytes(b"\xe9 not MicroPython")
    code, lines, err = run(
        capsys,
        "--port",
        "/dev/ttyUSB0",
        "--board",
        "lolin32-oled",
        "--dry-run",
        "--cache",
        str(tmp_path),
    )
    assert code == 1
    assert "not the pinned %s: not written to the board" % flash.IMAGES["esp32"].sha256 in err
    assert hashlib.sha256(b"\xe9 not MicroPython").hexdigest() in err
    assert len(err.splitlines()) == 1 and not any("esptool" in line for line in lines)
    assert not bad.exists()  # the next run downloads it again


def test_your_own_image_is_verified_when_you_give_its_checksum(capsys, tmp_path):
    image = tmp_path / "frozen.bin"
    image.write_bytes(b"firmware \x00\xff")
    good = hashlib.sha256(image.read_bytes()).hexdigest()
    base = ["--port", "COM3", "--board", "ttgo-lora32-v1", "--image", str(image), "--dry-run"]
    code, lines, _ = run(capsys, *base, "--sha256", good.upper())
    assert code == 0 and "SHA-256 %s verified" % good in lines[0]
    assert lines[-1].endswith("write_flash -z 0x1000 %s" % image)
    code, lines, err = run(capsys, *base, "--sha256", "0" * 64)
    assert code == 1 and "not written to the board" in err and not lines
    assert image.exists()  # your own file is never deleted
    code, lines, _ = run(capsys, *base)  # without a checksum: it is shown
    assert code == 0 and lines[0].endswith("SHA-256 %s (your image)" % good)


def test_wrong_inputs_are_one_line(capsys, tmp_path):
    cases = [
        (["--board", "unix"], "nothing to flash"),
        (["--board", "no-such-board"], "no board profile no-such-board"),
        (["--board", "pico-w-ssd1306", "--image", __file__], "the Pico W takes a .uf2 file"),
        (["--board", "lolin32-oled", "--image", str(tmp_path / "x.bin")], "no such file"),
    ]
    for extra, message in cases:
        code, _, err = run(capsys, "--port", "p", "--dry-run", *extra)
        assert code == 2 and message in err and len(err.splitlines()) == 1, (extra, err)


def test_without_esptool_nothing_runs_and_it_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(flash, "esptool", lambda: None)
    image = tmp_path / "frozen.bin"
    image.write_bytes(b"x")
    code, lines, err = run(
        capsys, "--port", "/dev/ttyUSB0", "--board", "lolin32-oled", "--image", str(image)
    )
    assert code == 2 and "esptool is not installed: pip install esptool" in err
    assert not any(line.startswith("$ ") for line in lines)
