"""`make sim`: dev authorization server + firmware on the unix port + the OLED in the terminal.

It says first what runs (one line), then mirrors the OLED sized to the terminal ($COLUMNS or the
terminal's width: half size below 130 columns), and ends with the next step (`devauth init`).

Unattended (`--approve auto`) the server approves the code a few seconds after it is shown and the
run exits 0 once signed in. With `--approve browser` you approve at the printed link.
"""

import json
import os
import tempfile

from devauth_tools import runner
from devauth_tools.dev_as.constants import USER_AUTHZ_PATH
from devauth_tools.devconfig import write_config

AUTO_APPROVE_AFTER = 4.0
NEXT_STEP = (
    "Next: your own server: devauth init --issuer https://YOUR-SERVER --client-id YOUR-CLIENT "
    "(writes devauth.json), then devauth check --config devauth.json"
)


def main(args):
    work = tempfile.mkdtemp(prefix="devauth-sim-")
    auto = AUTO_APPROVE_AFTER if args.approve == "auto" else None
    from devauth_tools.dev_as import DevAS  # Flask, Authlib: when serving

    with DevAS(os.path.join(work, "as"), port=0, auto_approve=auto, interval=2, quiet=True) as srv:
        cfg = write_config(work, srv.base_url, srv.pki, args.method)
        if auto:
            approval = "it approves the code in %g s" % auto
        else:
            approval = (
                "approve the code in your browser at %s (accept the warning: your browser does "
                "not know the dev CA)" % (srv.base_url + USER_AUTHZ_PATH)
            )
        print(
            "devauth sim: a local authorization server (%s, client auth %s) and the firmware on "
            "MicroPython, this terminal as its OLED; %s." % (srv.base_url, args.method, approval),
            flush=True,
        )
        vm = runner.vm_name(args.vm)
        heap = args.heap or runner.default_heap(vm, mirror=True)
        cmd = runner.firmware_command(
            cfg,
            once=True,
            heap=heap,
            mirror=True,
            board=os.path.join(runner.REPO, "boards", "unix.json"),
            firmware=runner.firmware_tree(vm),
            vm=vm,
        )
        if args.app:  # the application signs in, then calls the dev server's protected API
            cmd = app_command(args, cfg, srv.base_url + "/api/readings", heap, vm)
        try:
            code = runner.launch(cmd)
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
    print(NEXT_STEP)
    return code


def app_command(args, cfg, api_url, heap, vm):
    """An application script on the unix port, with the precompiled firmware on its path: its
    `run(config, url, count, period)` -> exit code (examples/async_readings.py, whose `main` is
    the board's `async def main(auth)`), else its `main(...)` (examples/post_readings.py)."""
    folder, name = os.path.split(os.path.abspath(args.app))
    code = (
        "import sys; sys.path[:0] = [%r, %r]; import %s as a; "
        "sys.exit(getattr(a, 'run', a.main)(%r, %r, %s, %d))"
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
    vm = "32" if vm == "frozen" else vm  # the app loads the precompiled tree, not a frozen one
    return [runner.micropython(vm), "-X", "heapsize=%s" % heap, "-c", code]


def add_parser(sub):
    """The `sim` subcommand for devauth_tools.cli."""
    s = sub.add_parser("sim", help="dev server + firmware + mirrored OLED: a whole sign-in")
    s.add_argument("--approve", choices=("auto", "browser"), default="auto")
    s.add_argument("--method", default="none", help="client authentication method to use")
    s.add_argument("--heap", help="MicroPython GC heap (default: as `devauth run --mirror`)")
    s.add_argument("--vm", choices=runner.VMS, help=runner.VM_HELP)
    s.add_argument(
        "--app",
        help="an application script to run instead (examples/post_readings.py, async_readings.py)",
    )
    s.add_argument("--count", type=int, default=3, help="--app: readings to post (default 3)")
    s.add_argument("--period", type=int, default=60, help="--app: seconds between readings")
    s.set_defaults(fn=main)
    return s
