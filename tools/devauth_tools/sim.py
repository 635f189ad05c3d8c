"""`make sim`: dev authorization server + firmware on the unix port + the OLED in the terminal.

Unattended (`--approve auto`) the server approves the code a few seconds after it is shown and the
run exits 0 once signed in. With `--approve browser` you approve at the printed link.
"""

import json
import os
import subprocess
import tempfile

from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from devauth_tools.devconfig import write_config

AUTO_APPROVE_AFTER = 4.0


def main(args):
    work = tempfile.mkdtemp(prefix="devauth-sim-")
    auto = AUTO_APPROVE_AFTER if args.approve == "auto" else None
    with DevAS(os.path.join(work, "as"), port=0, auto_approve=auto, interval=2, quiet=True) as srv:
        cfg = write_config(work, srv.base_url, srv.pki, args.method)
        print(
            "devauth sim: dev authorization server at %s (client auth: %s)"
            % (srv.base_url, args.method)
        )
        if auto:
            print("devauth sim: the server approves the code after %g s" % auto)
        else:
            print(
                "devauth sim: open the link below and approve; your browser does not know the "
                "dev CA (%s): accept the warning" % srv.pki["ca_pem"]
            )
        cmd = runner.firmware_command(
            cfg,
            once=True,
            heap=args.heap,
            mirror=True,
            board=os.path.join(runner.REPO, "boards", "unix.json"),
            firmware=runner.ensure_compiled(),
        )
        if args.app:  # the application signs in, then calls the dev server's protected API
            cmd = app_command(args, cfg, srv.base_url + "/api/readings")
        try:
            code = subprocess.call(cmd)
        except KeyboardInterrupt:
            code = 130
    print("devauth sim: firmware exited %d" % code)
    token = os.path.join(work, "state", "token.json")
    if code == 0 and os.path.exists(token):
        with open(token) as f:
            rec = json.load(f)
        # The token itself is a secret: say what it is and where, never what it says.
        print(
            "devauth sim: %s token for scope %r saved in %s (refresh token: %s)"
            % (
                rec["token_type"],
                rec.get("scope"),
                token,
                "yes" if rec.get("refresh_token") else "no",
            )
        )
    return code


def app_command(args, cfg, api_url):
    """An application script (e.g. examples/post_readings.py: `main(config, url, count,
    period)`) on the unix port, with the precompiled firmware on its path."""
    folder, name = os.path.split(os.path.abspath(args.app))
    code = (
        "import sys; sys.path[:0] = [%r, %r]; import %s as a; sys.exit(a.main(%r, %r, %s, %d))"
        % (
            runner.ensure_compiled(),
            folder,
            name.rsplit(".", 1)[0],
            os.path.abspath(cfg),
            api_url,
            args.count,
            args.period,
        )
    )
    return [runner.micropython(), "-X", "heapsize=%s" % args.heap, "-c", code]


def add_parser(sub):
    """The `sim` subcommand for devauth_tools.cli."""
    s = sub.add_parser("sim", help="dev server + firmware + mirrored OLED: a whole sign-in")
    s.add_argument("--approve", choices=("auto", "browser"), default="auto")
    s.add_argument("--method", default="none", help="client authentication method to use")
    # The mirrored OLED with its QR code needs ~98 KB of this 64-bit port's heap (objects are
    # larger than on the 32-bit ESP32): the demo runs with headroom.
    s.add_argument(
        "--heap", default=runner.SIM_HEAP, help="MicroPython GC heap (default %s)" % runner.SIM_HEAP
    )
    s.add_argument("--app", help="an application script to run instead (examples/post_readings.py)")
    s.add_argument("--count", type=int, default=3, help="--app: readings to post (default 3)")
    s.add_argument("--period", type=int, default=60, help="--app: seconds between readings")
    s.set_defaults(fn=main)
    return s
