"""`make bench`: what a sign-in costs on the MicroPython unix port, beside a naive baseline.

The baseline (baseline_requests.py) is the same flow written the obvious way with the `requests`
module frozen into the unix port: no server verification, a new TLS connection per request.
Both run precompiled (mpy-cross) against the same `devauth dev-as`, and for each the smallest GC
heap (`-X heapsize`) in which a whole sign-in succeeds is found by bisection. Figures, not
pass/fail: they are printed as a table and written to build/bench.json.
"""

import json
import os
import subprocess
import sys
import tempfile

from devauth_tools import runner
from devauth_tools.dev_as import DevAS
from devauth_tools.devconfig import write_config

HERE = os.path.dirname(os.path.abspath(__file__))
LO_KB, HI_KB = 4, 512
# Resident code is measured as the heap needed to import the devauth modules still loaded when
# the sign-in ends (the firmware's --stats line lists them; start-up-only modules are unloaded).


def _bisect(ok, lo=LO_KB, hi=HI_KB, step=1):
    """Smallest k in [lo, hi] (a multiple of step) with ok(k) true; None if ok(hi) is false."""
    if not ok(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _run(cmd, timeout=60):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _stats_line(out):
    for line in out.splitlines():
        if line.startswith("stats: "):
            out = {}
            for kv in line[len("stats: ") :].split():
                k, v = kv.split("=", 1)
                out[k] = v.split(",") if k == "modules" else int(v)
            return out
    return {}


def signin_heap_kb(srv, work, fw, method="none", **over):
    """The smallest heap (KB) in which the firmware signs in with `method`."""
    cfg = write_config(work, srv.base_url, srv.pki, method, **over)

    def ok(kb):
        cmd = runner.firmware_command(cfg, once=True, heap="%dK" % kb, firmware=fw)
        return _run(cmd).returncode == 0

    return _bisect(ok)


def measure_devauth(srv, work, fw):
    cfg = write_config(work, srv.base_url, srv.pki, "none")

    def ok(kb):
        return (
            _run(runner.firmware_command(cfg, once=True, heap="%dK" % kb, firmware=fw)).returncode
            == 0
        )

    before = srv.stats()
    proc = _run(runner.firmware_command(cfg, once=True, stats=True, firmware=fw))
    after = srv.stats()
    if proc.returncode != 0:
        raise SystemExit("bench: the firmware did not sign in:\n" + proc.stdout + proc.stderr)
    stats = _stats_line(proc.stdout)
    resident = stats["modules"]
    imports = "import sys; sys.path.insert(0, %r)\n" % fw + "".join(
        "import devauth.%s\n" % m for m in resident
    )
    script = os.path.join(work, "imports.py")
    with open(script, "w") as f:
        f.write(imports)
    mp = runner.micropython()
    code_kb = _bisect(lambda kb: _run([mp, "-X", "heapsize=%dK" % kb, script]).returncode == 0)
    return {
        "heap_min_kb": _bisect(ok),
        "code_heap_kb": code_kb,
        "resident_modules": resident,
        "handshakes": after["tls_handshakes"] - before["tls_handshakes"],
        "requests": after["requests"] - before["requests"],
        "client_handshakes": stats.get("handshakes"),
        "verifies_server": True,
    }


def measure_baseline(srv, work):
    out = os.path.join(work, "baseline")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(HERE, "baseline_requests.py")
    subprocess.run(
        [runner.mpy_cross(), "-o", os.path.join(out, "baseline_requests.mpy"), src], check=True
    )
    mp = runner.micropython()
    code = (
        "import sys; sys.path.insert(0, %r); import baseline_requests as b; "
        "sys.exit(b.main(%r, %r, %r))"
        % (
            out,
            srv.base_url + "/as/device_authz.oauth2",
            srv.base_url + "/as/token.oauth2",
            "public-device",
        )
    )

    def run(kb=None):
        cmd = [mp] + (["-X", "heapsize=%dK" % kb] if kb else []) + ["-c", code]
        return _run(cmd)

    before = srv.stats()
    proc = run()
    after = srv.stats()
    if proc.returncode != 0:
        raise SystemExit("bench: the baseline did not sign in:\n" + proc.stdout + proc.stderr)
    return {
        "heap_min_kb": _bisect(lambda kb: run(kb).returncode == 0),
        "code_heap_kb": 0,  # requests is frozen into the unix port: its code is not on the heap
        "handshakes": after["tls_handshakes"] - before["tls_handshakes"],
        "requests": after["requests"] - before["requests"],
        "verifies_server": False,
    }


def main(args=None):
    work = tempfile.mkdtemp(prefix="devauth-bench-")
    fw = os.path.join(work, "mpy")
    mpy_bytes = runner.compile_firmware(fw)
    with DevAS(os.path.join(work, "as"), port=0, auto_approve=1.5, interval=1, quiet=True) as srv:
        print("bench: signing in repeatedly against %s (minutes)" % srv.base_url, flush=True)
        ours = measure_devauth(srv, work, fw)
        base = measure_baseline(srv, work)
        jwt_heap = {
            "RS256": signin_heap_kb(srv, work, fw, "private_key_jwt"),
            "ES256": signin_heap_kb(
                srv,
                work,
                fw,
                "private_key_jwt",
                client_id="jwt-ec-device",
                private_key=srv.pki["jwt_ec_key"],
                private_key_id="ec-1",
            ),
        }
        from devauth_tools import apibench

        api = apibench.measure(srv, work, fw)
    from devauth_tools import jwtbench

    jwt = jwtbench.measure(runs=10)
    from devauth_tools import screens, soak

    print("bench: screens and QR", flush=True)
    scr = screens.measure(runs=10)
    print("bench: soak, 200 sign-ins in one process (about 4 minutes)", flush=True)
    soaked = soak.measure(count=200, heap_min_kb=ours["heap_min_kb"], fw=fw)
    # The .mpy the sign-in loads: what stays resident, and the config loader it unloads.
    core_bytes = sum(
        os.path.getsize(os.path.join(fw, "devauth", m + ".mpy"))
        for m in set(ours["resident_modules"]) | {"config", "pem"}
    )
    ours["mpy_bytes_core"] = core_bytes
    ours["mpy_bytes_total"] = mpy_bytes
    ours["flow_heap_kb"] = ours["heap_min_kb"] - ours["code_heap_kb"]
    base["flow_heap_kb"] = base["heap_min_kb"]
    rows = [
        (
            "smallest GC heap for a whole sign-in",
            "%d KB" % ours["heap_min_kb"],
            "%d KB" % base["heap_min_kb"],
        ),
        (
            "  of which resident code (.mpy on the heap)",
            "%d KB" % ours["code_heap_kb"],
            "0 KB (frozen)",
        ),
        (
            "  the sign-in itself (heap minus code)",
            "%d KB" % ours["flow_heap_kb"],
            "%d KB" % base["flow_heap_kb"],
        ),
        ("TLS handshakes per sign-in", str(ours["handshakes"]), str(base["handshakes"])),
        ("HTTP requests per sign-in", str(ours["requests"]), str(base["requests"])),
        ("server certificate verified", "yes", "no (CERT_NONE)"),
        (".mpy bytes, modules of the sign-in", str(core_bytes), "frozen"),
        (".mpy bytes, whole firmware/", str(mpy_bytes), "-"),
    ]
    width = max(len(r[0]) for r in rows)
    print("%-*s  %-14s  %s" % (width, "metric", "devauth", "naive requests"))
    print("%s  %s  %s" % ("-" * width, "-" * 14, "-" * 16))
    for name, a, b in rows:
        print("%-*s  %-14s  %s" % (width, name, a, b))
    print()
    print("private_key_jwt / client_secret_jwt assertions (one per request, fresh jti):")
    print("%-6s  %12s  %14s  %22s" % ("alg", "sign time", "heap to sign", "heap for whole sign-in"))
    for alg in ("HS256", "RS256", "ES256"):
        r = jwt[alg]
        whole = jwt_heap.get(alg)
        print(
            "%-6s  %9.1f ms  %11d KB  %19s"
            % (alg, r["mean_ms"], (r["heap_mpy"] + 1023) // 1024, "%d KB" % whole if whole else "-")
        )
    print()
    print("screens (128x64) and QR, unix port:")
    print(
        "  QR encode, 80-byte URL, level M: %.1f ms, peak heap %d B"
        % (scr["qr_encode_ms"], scr["qr_encode_peak_bytes"])
    )
    for key in sorted(k for k in scr if k.startswith("redraw_") and k.endswith("_ms")):
        print("  %s: %.2f ms (show() not counted)" % (key[7:-3].replace("_", " "), scr[key]))
    print()
    print("soak: " + soak.summary(soaked))
    print()
    print("\n".join(apibench.report(api)))
    os.makedirs(os.path.join(runner.REPO, "build"), exist_ok=True)
    with open(os.path.join(runner.REPO, "build", "bench.json"), "w") as f:
        json.dump(
            {
                "devauth": ours,
                "baseline": base,
                "jwt": jwt,
                "jwt_signin_heap_kb": jwt_heap,
                "screens": scr,
                "soak": soaked,
                "api": api,
            },
            f,
            indent=2,
            default=str,
        )
    return 0


def add_parser(sub):
    """The `bench` subcommand for devauth_tools.cli."""
    b = sub.add_parser("bench", help="heap, handshakes, code size vs the naive requests baseline")
    b.set_defaults(fn=main)
    return b


if __name__ == "__main__":
    sys.exit(main())
