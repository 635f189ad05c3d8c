"""Soak: many consecutive sign-ins in ONE firmware process on the MicroPython unix port.

The precompiled firmware runs a small driver (DRIVER below) under `micropython -X heapsize=`
the benchmark's smallest heap plus 25%. The driver calls `devauth.app.run(config, once=True)`
again and again against `devauth dev-as` (interval 1 s, approval at the first poll), deleting the
stored token in between so every round is a whole device sign-in (new connection and TLS
handshake, device authorization, poll, token), and prints `gc.mem_alloc()` after a
`gc.collect()` at the end of each round. A leak shows as a level that keeps rising.

    measure(count=200) -> {"count", "succeeded", "heap_kb", "heap_min_kb", "alloc_first",
                           "alloc_min", "alloc_max", "alloc_last", "growth", "leak", ...}

`make bench` (bench.py) reports it beside its table; host_tests/test_soak.py runs 20 rounds.
Each round waits for one poll interval (1 s): 200 rounds take about four minutes.
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import time

from devauth_tools import runner
from devauth_tools.devconfig import write_config

BENCH_JSON = os.path.join(runner.REPO, "build", "bench.json")
MARGIN = 1.25  # the soak heap: the smallest heap of a sign-in plus 25%
WARMUP = 2  # rounds before the level is taken: the first ones import modules, intern names
LEAK_TOLERANCE = 256  # bytes the level may wander (allocation granularity), never a trend

# Runs on MicroPython: argv = firmware dir, config path, state dir, count.
DRIVER = """\
import gc
import os
import sys

fw, config, state, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, fw)
from devauth import app
from devauth.oled.ui import UI

ui = UI(out=lambda line: None)  # quiet: the console lines are not what is measured
for i in range(count):
    try:
        code = app.run(config, once=True, ui=ui)
    except MemoryError:
        code = -1
    try:
        os.remove(state + "/token.json")  # the next round signs in afresh
    except OSError:
        pass
    gc.collect()
    print("round %d %d %d %d" % (i, code, gc.mem_alloc(), gc.mem_free()))
"""


def bench_heap_min_kb():
    """`heap_min_kb` from build/bench.json when it is newer than every firmware source, else
    None (the firmware changed since `make bench`)."""
    try:
        with open(BENCH_JSON) as f:
            value = json.load(f)["devauth"]["heap_min_kb"]
        stamp = os.path.getmtime(BENCH_JSON)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    src = runner.firmware_dir()
    for d, _, files in os.walk(src):
        for name in files:
            if name.endswith(".py") and os.path.getmtime(os.path.join(d, name)) > stamp:
                return None
    return value


def find_heap_min_kb(srv, work, fw):
    """The smallest heap (KB) in which `main.py --once` signs in, by bisection (as bench.py)."""
    from devauth_tools.bench import _bisect

    os.makedirs(work, exist_ok=True)
    cfg = write_config(work, srv.base_url, srv.pki, "none")
    state = os.path.join(work, "state")

    def ok(kb):
        for name in ("token.json", "pending.json"):
            try:
                os.remove(os.path.join(state, name))
            except OSError:
                pass
        cmd = runner.firmware_command(cfg, once=True, heap="%dK" % kb, firmware=fw)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).returncode == 0

    return _bisect(ok, lo=32, hi=256)


def _rounds(out):
    rounds = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "round":
            rounds.append(tuple(int(p) for p in parts[1:]))
    return rounds


def measure(count=200, heap_kb=None, heap_min_kb=None, fw=None, work=None, quiet=True):
    """Run `count` sign-ins in one firmware process; -> a dict of figures (see the module doc).

    `heap_kb`: the heap to soak in; by default `heap_min_kb` (from bench.json when current,
    else measured here) plus 25%. `fw`: a precompiled firmware tree (made here by default).
    """
    work = work or tempfile.mkdtemp(prefix="devauth-soak-")
    if fw is None:
        fw = os.path.join(work, "mpy")
        runner.compile_firmware(fw)
    from devauth_tools.dev_as import DevAS

    with DevAS(os.path.join(work, "as"), port=0, auto_approve=0, interval=1, quiet=quiet) as srv:
        if heap_kb is None:
            if heap_min_kb is None:
                heap_min_kb = bench_heap_min_kb()
            if heap_min_kb is None:
                heap_min_kb = find_heap_min_kb(srv, os.path.join(work, "bisect"), fw)
            heap_kb = int(math.ceil(heap_min_kb * MARGIN))
        soak_dir = os.path.join(work, "soak")
        os.makedirs(soak_dir, exist_ok=True)
        cfg = write_config(soak_dir, srv.base_url, srv.pki, "none")
        driver = os.path.join(work, "soak_driver.py")
        with open(driver, "w") as f:
            f.write(DRIVER)
        cmd = [
            runner.micropython(),
            "-X",
            "heapsize=%dK" % heap_kb,
            driver,
            fw,
            cfg,
            os.path.join(soak_dir, "state"),
            str(count),
        ]
        before = srv.stats()
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30 + 10 * count)
        seconds = time.monotonic() - started
        after = srv.stats()
    rounds = _rounds(proc.stdout)
    allocs = [r[2] for r in rounds]
    steady = allocs[WARMUP:] or allocs
    result = {
        "count": count,
        "rounds": len(rounds),
        "succeeded": sum(1 for r in rounds if r[1] == 0),
        "exit_codes": sorted({r[1] for r in rounds}),
        "heap_kb": heap_kb,
        "heap_min_kb": heap_min_kb,
        "alloc_first": allocs[0] if allocs else None,
        "alloc_min": min(steady) if steady else None,
        "alloc_max": max(steady) if steady else None,
        "alloc_last": allocs[-1] if allocs else None,
        "growth": (steady[-1] - steady[0]) if steady else None,
        "free_min": min((r[3] for r in rounds), default=None),
        "tokens_issued": after["tokens_issued"] - before["tokens_issued"],
        "tls_handshakes": after["tls_handshakes"] - before["tls_handshakes"],
        "seconds": round(seconds, 1),
        "process_exit": proc.returncode,
        "traceback": "Traceback" in proc.stdout + proc.stderr,
    }
    result["leak"] = bool(steady) and (result["alloc_max"] - result["alloc_min"] > LEAK_TOLERANCE)
    result["ok"] = (
        result["succeeded"] == count
        and not result["leak"]
        and proc.returncode == 0
        and not result["traceback"]
    )
    if not result["ok"]:
        result["output"] = (proc.stdout + proc.stderr)[-3000:]
    return result


def summary(r):
    """One line for `make bench`."""
    return "%d/%d sign-ins in one process, heap %d KB (min %s + 25%%), mem_alloc %s..%s B%s" % (
        r["succeeded"],
        r["count"],
        r["heap_kb"],
        r["heap_min_kb"],
        r["alloc_min"],
        r["alloc_max"],
        ", no leak" if not r["leak"] else ", LEAK",
    )


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(prog="devauth soak", description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=200, help="sign-ins in one process (200)")
    p.add_argument("--heap", type=int, metavar="KB", help="heap (default: bench minimum + 25%%)")
    args = p.parse_args(argv)
    print("soak: %d sign-ins in one firmware process (about %d s)" % (args.count, args.count * 1.2))
    r = measure(count=args.count, heap_kb=args.heap)
    print(summary(r))
    print(json.dumps({k: v for k, v in r.items() if k != "output"}, indent=2))
    if not r["ok"]:
        print(r.get("output", ""), file=sys.stderr)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
