"""`devauth hil --port PORT`: the MicroPython-side tests on an attached board.

The dual test modules (every test_* in host_tests/dual/), their helpers and the firmware are
precompiled with mpy-cross for the board (`--board NAME` picks the architecture; plain bytecode
by default) into build/hil/hil/, copied to the board's /hil, and run there with mp_suite; the
closing `N passed, N failed` line decides the exit status. The board's own /devauth library is
not used: /hil comes first on sys.path. `--port unix` runs the same bundle on the unix port, and
`--dry-run` prints the mpremote commands.
"""

import os
import shlex
import shutil
import subprocess
import sys

from devauth_tools import runner
from devauth_tools.deploy import DeployError, load_board, mpremote

TESTS = os.path.join(runner.REPO, "host_tests", "dual")
STAGE = os.path.join(runner.REPO, "build", "hil")
HELPERS = ("mp_suite", "mptest", "fakes", "boardfakes")

RUN = """import sys
root = "/hil"
if sys.argv and "/" in sys.argv[0]:
    root = sys.argv[0].rsplit("/", 1)[0] + "/hil"
sys.path.insert(0, root)
import mp_suite
failed = mp_suite.run(%r)
print("hil: %%s" %% ("ok" if not failed else "FAILED"))
"""


def modules():
    sys.path.insert(0, TESTS)
    try:
        import mp_suite

        return mp_suite.discover(TESTS)
    finally:
        sys.path.remove(TESTS)


def _compile(src, out, march):
    cmd = [runner.mpy_cross(), "-o", out, "-s", os.path.basename(src)]
    if march:
        cmd.append("-march=" + march)
    subprocess.run(cmd + [src], check=True, capture_output=True, text=True)


def stage(march=None, names=None, root=STAGE):
    """Build root/hil (firmware + tests as .mpy, boards/) and root/hil_run.py -> root."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    hil = os.path.join(root, "hil")
    os.makedirs(hil)
    runner.compile_firmware(hil, march=march)
    os.remove(os.path.join(hil, "main.py"))
    names = names or modules()
    for name in list(HELPERS) + names:
        _compile(os.path.join(TESTS, name + ".py"), os.path.join(hil, name + ".mpy"), march)
    shutil.copytree(os.path.join(runner.REPO, "boards"), os.path.join(hil, "boards"))
    with open(os.path.join(root, "hil_run.py"), "w") as f:
        f.write(RUN % (names,))
    return root


def commands(port, root):
    run = os.path.join(root, "hil_run.py")
    if port == "unix":
        return [[runner.micropython(), "-X", "heapsize=4M", run]]
    mp = [mpremote(), "connect", port]
    return [
        mp + ["rm", "-r", ":hil"],
        mp + ["cp", "-r", os.path.join(root, "hil"), ":"],
        mp + ["run", run],
    ]


def main(args):
    march = None
    if args.board:
        try:
            march = load_board(args.board)[1]["march"]
        except DeployError as e:
            print("devauth hil: %s" % e, file=sys.stderr)
            return 2
    root = stage(march, args.modules or None)
    last = None
    for step in commands(args.port, root):
        line = " ".join(shlex.quote(a) for a in step)
        print(("would run: " if args.dry_run else "$ ") + line, flush=True)
        if args.dry_run:
            continue
        if step[3:5] == ["rm", "-r"]:
            subprocess.run(step, capture_output=True)  # absent on a first run
            continue
        proc = subprocess.Popen(step, stdout=subprocess.PIPE, text=True)
        for out in proc.stdout:
            sys.stdout.write(out)
            if " passed, " in out and out.rstrip().endswith(" failed"):
                last = out.split()
        if proc.wait() != 0 and last is None:
            print("devauth hil: step failed: %s" % line)
            return 1
    if args.dry_run:
        return 0
    return 0 if last is not None and last[2] == "0" else 1


def add_parser(sub):
    h = sub.add_parser("hil", help="run the MicroPython-side tests on an attached board")
    h.add_argument("--port", required=True, help="serial port, or `unix` for the unix port")
    h.add_argument("--board", help="profile whose architecture to compile for")
    h.add_argument("--dry-run", action="store_true", help="print the mpremote commands only")
    h.add_argument("modules", nargs="*", help="test modules (default: all of host_tests/dual)")
    h.set_defaults(fn=main)
