"""`devauth`: host tools (run the firmware, the dev authorization server, the simulator, bench)."""

import argparse
import os
import sys

from devauth_tools import runner

SIM_HEAP = "128K"


def cmd_run(args):
    mirror = sys.stdout.isatty() if args.mirror is None else args.mirror
    cmd = runner.firmware_command(
        args.config,
        once=args.once,
        heap=args.heap or (SIM_HEAP if mirror else runner.DEFAULT_HEAP),
        mirror=mirror,
        stats=args.stats,
        board=args.board or os.path.join(runner.REPO, "boards", "unix.json"),
        firmware=runner.firmware_dir() if args.source else runner.ensure_compiled(),
    )
    try:
        return runner.launch(cmd)
    except KeyboardInterrupt:
        return 130


def cmd_dev_as(argv):
    from devauth_tools import dev_as

    return dev_as.main(argv)


def cmd_sim(args):
    from devauth_tools import sim

    return sim.main(args)


def cmd_bench(args):
    from devauth_tools import bench

    return bench.main(args)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dev-as"]:  # its own parser: every switch documented there
        return cmd_dev_as(argv[1:])
    p = argparse.ArgumentParser(prog="devauth", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

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

    sub.add_parser("dev-as", help="local authorization server (see devauth dev-as --help)")

    s = sub.add_parser("sim", help="dev server + firmware + mirrored OLED: a whole sign-in")
    s.add_argument("--approve", choices=("auto", "browser"), default="auto")
    s.add_argument("--method", default="none", help="client authentication method to use")
    # The mirrored OLED with its QR code needs ~98 KB of this 64-bit port's heap (objects are
    # larger than on the 32-bit ESP32): the demo runs with headroom.
    s.add_argument("--heap", default=SIM_HEAP, help="MicroPython GC heap (default %s)" % SIM_HEAP)
    s.set_defaults(fn=cmd_sim)

    b = sub.add_parser("bench", help="heap, handshakes, code size vs the naive requests baseline")
    b.set_defaults(fn=cmd_bench)

    from devauth_tools import screens

    screens.add_parser(sub)  # devauth screens --out DIR: a PNG of every OLED screen

    from devauth_tools import deploy, doctor, hil, provision

    for tool in (deploy, provision, doctor, hil):  # boards: deploy, certificates, checks, tests
        tool.add_parser(sub)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
