"""`make bench`, the API call: what `session.request` costs after a sign-in, beside urequests.

Against the dev server's protected API (devauth_tools.dev_as.api), on one VM (runner.VMS: the
32-bit port with the firmware from .mpy or frozen in, or the 64-bit port), smallest GC heaps found
by bisection (bench._bisect):

- the heap a device sign-in followed by one API call needs, minus the heap of the sign-in alone
  (examples/post_readings.py with COUNT 1 and 0): what one call adds to the smallest heap;
- 10 POSTs with a stored token: the smallest heap and the TLS handshakes, with devauth and with
  the `requests` module frozen into the unix port (what `mip install urequests` gives), sending
  the same Bearer header the naive way;
- the heap the API code takes when imported (devauth.oauth.api and devauth.net.stream: their
  bytecode from .mpy; frozen, only what the import creates).
"""

import json
import os
import subprocess

from devauth_tools import runner
from devauth_tools.devconfig import write_config

CALLS = 10
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(runner.REPO, "examples", "post_readings.py")

SIGNIN_THEN_CALLS = (
    "import sys; sys.path[:0] = %r; import post_readings as a; sys.exit(a.main(%r, %r, %d, 0))"
)

OURS = """
import sys
sys.path[:0] = %(path)r
from devauth import app, clock
from devauth.oauth.session import Session
from devauth.oled.ui import UI
cfg = app.load_config(%(config)r)
ui = UI()
t = app.make_transport(cfg, ui)
s = Session(cfg, t, clock, ui)
for i in range(%(calls)d):
    r = s.request("POST", %(url)r, json={"n": i, "t": 21.5})
    if r.status != 201:
        sys.exit(1)
print("handshakes=%%d" %% t.handshakes)
"""

# The same calls written the obvious way with micropython-lib requests (CERT_NONE, a new TLS
# connection per request, the whole reply read into RAM).
URE = """
import sys, json
import requests
token = json.load(open(%(token)r))["access_token"]
h = {"Authorization": "Bearer " + token}
for i in range(%(calls)d):
    r = requests.post(%(url)r, json={"n": i, "t": 21.5}, headers=h)
    ok = r.status_code == 201
    r.close()
    if not ok:
        sys.exit(1)
"""


def _run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _heap(mp, kb):
    return [mp, "-X", "heapsize=%dK" % kb]


def measure(srv, work, fw, vm=None):
    """-> dict of figures (KB and counts) on `vm`; `fw` is the precompiled firmware tree (not
    used on the frozen VM: the firmware is in it)."""
    from devauth_tools.bench import _bisect

    vm = runner.vm_name(vm)
    mp = runner.micropython(vm)
    path = [] if vm == "frozen" else [fw]  # sys.path entries before the script's own
    url = srv.base_url + "/api/readings"
    work = os.path.join(work, "api-" + vm)
    os.makedirs(work, exist_ok=True)
    cfg = write_config(work, srv.base_url, srv.pki)
    token = os.path.join(work, "state", "token.json")
    example = os.path.join(work, "example")
    os.makedirs(example, exist_ok=True)
    subprocess.run(
        [runner.mpy_cross(), "-o", os.path.join(example, "post_readings.mpy"), EXAMPLE], check=True
    )

    def signin_then(calls):
        def ok(kb):
            if os.path.exists(token):
                os.remove(token)  # a whole device sign-in every time
            code = SIGNIN_THEN_CALLS % (path + [example], cfg, url, calls)
            return _run(_heap(mp, kb) + ["-c", code]).returncode == 0

        return _bisect(ok)

    signin_only = signin_then(0)
    signin_one = signin_then(1)
    signin_ten = signin_then(CALLS)

    ours = os.path.join(work, "ours.py")
    with open(ours, "w") as f:
        f.write(OURS % {"path": path, "config": cfg, "url": url, "calls": CALLS})
    ure = os.path.join(work, "urequests_calls.py")
    with open(ure, "w") as f:
        f.write(URE % {"token": token, "url": url, "calls": CALLS})

    def handshakes(script):
        before = srv.stats()["tls_handshakes"]
        proc = _run([mp, script])
        if proc.returncode != 0:
            raise SystemExit("bench: API calls failed:\n" + proc.stdout + proc.stderr)
        return srv.stats()["tls_handshakes"] - before

    code = os.path.join(work, "imports.py")
    with open(code, "w") as f:
        f.write(
            "import sys, gc\nsys.path[:0] = %r\nimport devauth.oauth.session\n"
            "import devauth.net.http, json, select\n"
            # the names' pool grown first: a new pool's block (its size doubles each time)
            # would be counted here otherwise, wherever it happens to fall
            "class O:\n    pass\nfor i in range(1200):\n    getattr(O, 'q%%d' %% i, None)\n"
            "gc.collect(); a = gc.mem_alloc()\nimport devauth.oauth.api\n"
            "gc.collect(); print(gc.mem_alloc() - a)\n" % path
        )
    api_code = int(_run([mp, code]).stdout.strip() or -1)
    ours_code = os.path.join(work, "ours_code.py")
    with open(ours_code, "w") as f:  # the same script's imports only: its code on the heap
        f.write(OURS.split("cfg = ")[0] % {"path": path} + "import devauth.oauth.api\n")
    return {
        "vm": vm,
        "signin_heap_kb": signin_only,
        "signin_one_call_heap_kb": signin_one,
        "signin_ten_calls_heap_kb": signin_ten,
        "one_call_adds_kb": signin_one - signin_only,
        "api_code_heap_bytes": api_code,
        "ours_10_calls_heap_kb": _bisect(lambda kb: _run(_heap(mp, kb) + [ours]).returncode == 0),
        "ours_10_calls_handshakes": handshakes(ours),
        "ours_code_heap_kb": _bisect(lambda kb: _run(_heap(mp, kb) + [ours_code]).returncode == 0),
        "urequests_10_calls_heap_kb": _bisect(
            lambda kb: _run(_heap(mp, kb) + [ure]).returncode == 0
        ),
        "urequests_10_calls_handshakes": handshakes(ure),
    }


def report(r):
    """The figures of one VM as lines for bench's printout."""
    from devauth_tools.bench import LABELS

    return [
        "API calls (session.request) against the dev server's API, %s:" % LABELS[r["vm"]],
        "  smallest heap, sign-in alone / then 1 call / then %d calls: %s / %s / %s KB"
        % (
            CALLS,
            r["signin_heap_kb"],
            r["signin_one_call_heap_kb"],
            r["signin_ten_calls_heap_kb"],
        ),
        "  one API call after sign-in adds %s KB (the API code's import takes %d bytes)"
        % (r["one_call_adds_kb"], r["api_code_heap_bytes"]),
        "  %d POSTs with a stored token: devauth %s KB heap (%s KB of it to import the code), "
        "%d TLS handshake(s), verified; urequests %s KB heap, %d handshakes, CERT_NONE"
        % (
            CALLS,
            r["ours_10_calls_heap_kb"],
            r["ours_code_heap_kb"],
            r["ours_10_calls_handshakes"],
            r["urequests_10_calls_heap_kb"],
            r["urequests_10_calls_handshakes"],
        ),
    ]


def main(argv=None):
    """Run the API figures alone: python -m devauth_tools.apibench [--vm 32|frozen|64 ...]
    (default: every VM built)."""
    import argparse
    import tempfile

    from devauth_tools.dev_as import DevAS

    p = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    p.add_argument("--vm", action="append", choices=runner.VMS, help="a VM (repeatable)")
    vms = p.parse_args(argv).vm or [vm for vm in runner.VMS if runner.vm_built(vm)]
    work = tempfile.mkdtemp(prefix="devauth-apibench-")
    fw = os.path.join(work, "mpy")
    runner.compile_firmware(fw)
    results = {}
    with DevAS(os.path.join(work, "as"), port=0, auto_approve=0.2, interval=1, quiet=True) as srv:
        for vm in vms:
            results[vm] = r = measure(srv, work, fw, vm)
            print("\n".join(report(r)), flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
