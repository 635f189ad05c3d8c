"""`devauth flash`: MicroPython on a blank board, before `devauth deploy`.

    devauth flash --port /dev/ttyUSB0 --board heltec-wifi-kit-32
    devauth flash --port /dev/ttyUSB0 --board heltec-wifi-kit-32 --image build/frozen.bin
    devauth flash --port /media/$USER/RPI-RP2 --board pico-w-ssd1306
    devauth flash ... --dry-run      # print every step, run none

The stock image is MicroPython v1.28.0 for the board's chip, pinned by file name and SHA-256,
downloaded from micropython.org into build/firmware/ (or found there) and verified before
anything is written: a file whose checksum differs is deleted and nothing is flashed. `--image
FILE` writes your own build instead (the frozen image built with firmware's manifest); give
`--sha256` to have it verified too.

ESP32 family: esptool erases the flash, then writes the image at the chip's offset (0x1000 on
the ESP32, 0x0 on the ESP32-S3 and -C3). Pico W: the UF2 file is copied to the RPI-RP2 drive
(hold BOOTSEL while plugging it in; `--port` is where the drive is mounted).

Where the pins come from: micropython.org's firmware file names, and SHA-256 sums as listed by
public projects that use these images (the Pico W's by two that agree); this machine has no
network, so the sums were not recomputed here from micropython.org's files. A mismatch stops
the flash, so a wrong pin fails safe.
"""

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import urllib.request

from devauth_tools import runner

VERSION = "v1.28.0"
BASE_URL = "https://micropython.org/resources/firmware/"
CACHE = os.path.join(runner.REPO, "build", "firmware")


class Image:
    """A stock image: its file name at micropython.org, SHA-256 and flash offset (None: UF2)."""

    def __init__(self, name, sha256, offset):
        self.name = name
        self.sha256 = sha256
        self.offset = offset

    @property
    def url(self):
        return BASE_URL + self.name


IMAGES = {
    "esp32": Image(
        "ESP32_GENERIC-20260406-v1.28.0.bin",
        "cd7820d02c35d34dd403b44263129c6a511b350aea8446c229890753fe240784",
        0x1000,
    ),
    "esp32s3": Image(
        "ESP32_GENERIC_S3-20260406-v1.28.0.bin",
        "8c6039d40024cae3c6b04bb434f77901548f5487df9789af15548c54f9e11d7f",
        0x0,
    ),
    "esp32c3": Image(
        "ESP32_GENERIC_C3-20260406-v1.28.0.bin",
        "c749c22b6fe00cb8211a3b227ed6c0ce9babb518fd8f5a661f7496eb878fa895",
        0x0,
    ),
    # The rp2040 profile here is the Pico W: its build has the wireless driver.
    "rp2040": Image(
        "RPI_PICO_W-20260406-v1.28.0.uf2",
        "a0210c9c8a085391cb66f530c298a5a4fb804a9d072289254c24df5fdf210f7a",
        None,
    ),
}
BAUD = 460800


class FlashError(Exception):
    """One line for the user; `code` is the exit status (2: wrong input, 1: refused/failed)."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, want, say):
    """Refuse `path` unless its SHA-256 is `want`; a stock file that fails is deleted."""
    got = sha256_of(path)
    if got != want.lower():
        raise FlashError(
            "%s has SHA-256 %s, not the pinned %s: not written to the board"
            % (path, got, want.lower()),
            1,
        )
    say("devauth flash: %s: SHA-256 %s verified" % (os.path.basename(path), got))


def download(image, path, say):
    """Fetch the stock image to `path` (through a .part file: never a half file in the cache)."""
    say("devauth flash: downloading %s" % image.url)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    part = path + ".part"
    try:
        with urllib.request.urlopen(image.url, timeout=60) as resp, open(part, "wb") as f:
            shutil.copyfileobj(resp, f)
    except OSError as e:
        if os.path.exists(part):
            os.remove(part)
        raise FlashError(
            "cannot download %s (%s): fetch it yourself into %s"
            % (image.url, getattr(e, "reason", e), os.path.dirname(path)),
            1,
        ) from None
    os.replace(part, path)


def esptool():
    """The esptool command (the module beside this Python), or None when it is not installed."""
    try:
        import esptool as _  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "esptool"]


def plan(args, say=print):
    """-> (chip, [steps]); a step is ("run", argv) or ("copy", source, directory)."""
    from devauth_tools import deploy

    try:
        _, profile = deploy.load_board(args.board)
    except deploy.DeployError as e:
        raise FlashError(str(e)) from None
    chip = profile["chip"]
    if chip not in IMAGES:
        raise FlashError(
            "board %s (%s) runs on this computer: nothing to flash" % (args.board, chip)
        )
    stock = IMAGES[chip]
    if args.image:
        if not os.path.isfile(args.image):
            raise FlashError("--image %s: no such file" % args.image)
        if stock.offset is None and not args.image.endswith(".uf2"):
            raise FlashError("--image %s: the Pico W takes a .uf2 file" % args.image)
        image = os.path.abspath(args.image)
        if args.sha256:
            verify(image, args.sha256, say)
        else:
            say("devauth flash: %s: SHA-256 %s (your image)" % (image, sha256_of(image)))
    else:
        image = os.path.join(args.cache or CACHE, stock.name)
        say("devauth flash: MicroPython %s for %s: %s" % (VERSION, chip, stock.name))
        if not os.path.exists(image):
            if args.dry_run:
                say("would download: %s -> %s" % (stock.url, image))
                say("would verify: SHA-256 %s" % stock.sha256)
            else:
                download(stock, image, say)
        if os.path.exists(image):
            try:
                verify(image, stock.sha256, say)
            except FlashError:
                os.remove(image)  # a later run downloads it again
                raise
    if stock.offset is None:
        return chip, [("copy", image, args.port)]
    tool = esptool() or [sys.executable, "-m", "esptool"]
    base = tool + ["--chip", chip, "--port", args.port]
    return chip, [
        ("run", base + ["erase_flash"]),
        ("run", base + ["--baud", str(BAUD), "write_flash", "-z", hex(stock.offset), image]),
    ]


def run_steps(steps, port, dry_run, say):
    if not dry_run and esptool() is None and any(step[0] == "run" for step in steps):
        raise FlashError("esptool is not installed: pip install esptool")
    for step in steps:
        if step[0] == "copy":
            _, source, drive = step
            say("%scopy %s to %s" % ("would " if dry_run else "$ ", source, drive))
            if dry_run:
                continue
            if not os.path.isfile(os.path.join(drive, "INFO_UF2.TXT")):
                raise FlashError(
                    "%s is not a Pico in BOOTSEL mode (no INFO_UF2.TXT): hold BOOTSEL while "
                    "plugging it in, then give the RPI-RP2 drive as --port" % drive
                )
            shutil.copy(source, drive)
            continue
        argv = step[1]
        say(("would run: " if dry_run else "$ ") + " ".join(shlex.quote(a) for a in argv))
        if dry_run:
            continue
        if subprocess.run(argv).returncode != 0:
            raise FlashError("esptool failed: is the board on %s (hold BOOT if need be)?" % port, 1)


def main(args, say=print):
    try:
        _, steps = plan(args, say)
        run_steps(steps, args.port, args.dry_run, say)
    except FlashError as e:
        print("devauth flash: %s" % e, file=sys.stderr)
        return e.code
    if not args.dry_run:
        say("devauth flash: done. Next: devauth deploy --port PORT --board %s" % args.board)
    return 0


def add_parser(sub):
    p = sub.add_parser("flash", help="put MicroPython (stock v1.28.0 or your image) on a board")
    p.add_argument("--port", required=True, help="serial port (ESP32), or the RPI-RP2 drive")
    p.add_argument("--board", required=True, help="a profile in boards/ (or a path to one)")
    p.add_argument("--image", help="write this image instead (e.g. a frozen build)")
    p.add_argument("--sha256", help="... and check it has this SHA-256 first")
    p.add_argument("--cache", help="where stock images are kept (default build/firmware)")
    p.add_argument("--dry-run", action="store_true", help="print every step, run none")
    p.set_defaults(fn=main)
    return p
