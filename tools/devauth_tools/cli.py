"""`devauth`: host tools (run the firmware, the dev authorization server, the simulator, bench)."""

import argparse
import sys

from devauth_tools import bench, deploy, dev_as, doctor, hil, provision, runner, screens, sim

# Each registers its subcommand with `add_parser(sub)`, which sets `fn` to what it runs.
SUBCOMMANDS = (
    runner,  # run: the firmware on the MicroPython unix port
    dev_as,  # dev-as: the local authorization server
    sim,  # sim: dev server + firmware + mirrored OLED
    bench,  # bench: heap, handshakes, code size
    screens,  # screens --out DIR: a PNG of every OLED screen
    deploy,  # boards: deploy, certificates, checks, tests
    provision,
    doctor,
    hil,
)


def build_parser():
    p = argparse.ArgumentParser(prog="devauth", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for tool in SUBCOMMANDS:
        tool.add_parser(sub)
    return p


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
