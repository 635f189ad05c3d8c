"""`make bench`: what a sign-in costs on each MicroPython VM, beside a naive baseline on that VM.

The VMs (runner.VMS): the 32-bit MicroPython v1.28.0 unix port (`make mp32`; an ESP32's object
layout and 16-byte GC blocks) with the firmware precompiled to .mpy and loaded onto the heap (as
after `mip install`), the same port with the firmware frozen in (firmware/manifest.py: the code
stays in flash), and the PyPI 64-bit port. The baseline (baseline_requests.py) is the same flow
written the obvious way with the `requests` module frozen into each port: no server verification,
a new TLS connection per request.

The Pico W column is the 32-bit port with mbedTLS allocating from the GC heap (`make mp32-picow`),
as it does on rp2; on the ESP32 (and in the other columns) mbedTLS has its own heap.

Every heap figure is the smallest GC heap (`-X heapsize`, 1 KB steps, by bisection) in which the
run succeeds, each run signing in afresh (no stored token) against `devauth dev-as` on loopback.
The API call's figures (devauth_tools.apibench) are measured on the 32-bit VMs (.mpy and frozen)
and the 64-bit one, beside the sign-in's.
Figures, not pass/fail: a table (with the memory goals and by how much each is missed) and
build/bench.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from devauth_tools import runner
from devauth_tools.devconfig import CLIENTS, write_config

HERE = os.path.dirname(os.path.abspath(__file__))
LO_KB, HI_KB = 4, 256
LABELS = {
    "32": "32-bit .mpy",
    "frozen": "32-bit frozen",
    "64": "64-bit .mpy",
    "picow": "Pico W model",  # 32-bit .mpy, mbedTLS on the GC heap (make mp32-picow)
}
ORDER = ("32", "frozen", "64", "picow")
# The memory goals on the 32-bit VM (issue 10): (vm, figure, KB, what).
GOALS = (
    ("frozen", "mirror", 28, "frozen, sign-in with the 128x64 screen and QR"),
    ("32", "mirror", 56, ".mpy, sign-in with the screen and QR (the ESP32's initial heap)"),
    ("32", "RS256", 64, ".mpy, RS256 private_key_jwt sign-in"),
    # issue 17: what one API call after the sign-in adds to the smallest heap
    ("frozen", "api_adds", 4, "frozen, one API call after the sign-in adds"),
    ("32", "api_adds", 4, ".mpy, one API call after the sign-in adds"),
)
API_VMS = ("32", "frozen", "64")  # the API figures' VMs (not the Pico W model)
# The sign-ins measured: figure -> (client authentication method, config overrides, mirrored).
CASES = {
    "headless": ("none", {}, False),
    "mirror": ("none", {}, True),
    "HS256": ("client_secret_jwt", {}, False),
    "RS256": ("private_key_jwt", {}, False),
    "ES256": ("private_key_jwt", "ec", False),
}


# Runs on MicroPython (argv: config, firmware dir or "" when frozen): a mirrored sign-in with the
# live heap (gc.mem_alloc() after a collection) printed at each phase: what holds the memory.
PHASES = """
import gc, sys
cfg, fw = sys.argv[1], sys.argv[2]
if fw:
    sys.path.insert(0, fw)
from devauth import app
from devauth.net import http
from devauth.oled.termdisplay import TermDisplay
from devauth.oled.ui import UI


class Null:
    def write(self, s):
        pass


def mark(name):
    gc.collect()
    print("%s %d" % (name, gc.mem_alloc()))


def wrap(owner, attr, before, after):
    f = getattr(owner, attr)

    def g(*a, **k):
        if before:
            mark(before)
        r = f(*a, **k)
        if after:
            mark(after)
        return r

    setattr(owner, attr, g)


mark("interpreter_app_ui")
wrap(app, "make_transport", "config", "http_client")
wrap(http.HTTPClient, "request", None, "flow_session")
wrap(UI, "show_code", None, "code_shown")
wrap(UI, "tick", None, "polling")
d = TermDisplay(128, 64, out=Null())
ui = UI(d, 128, 64, out=lambda line: None)
mark("screen")
app.run(cfg, d, once=True, ui=ui)
"""
# Runs on MicroPython (argv: firmware dir or "", modules): the heap each module's import takes.
IMPORTS = """
import gc, sys
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
for m in sys.argv[2].split(","):
    gc.collect()
    a = gc.mem_alloc()
    __import__("devauth." + m)
    gc.collect()
    print("%s %d" % (m, gc.mem_alloc() - a))
"""
CODE_MODULES = (
    "errors,clock,net.url,net.http,oauth.tokens,oauth.auth,oauth.flow,oauth.session,oled.ui,app,"
    "entry,oled.screen,oled.font,oled.layout,oled.qr,config,jose.jwt,jose.der,jose.rsa,jose.ecdsa"
)


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


def _run(cmd, timeout=90):
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


class Bench:
    """Sign-ins of the firmware on one VM against one dev server, each from a clean state."""

    def __init__(self, srv, work, vm, fw):
        self.srv, self.vm, self.fw = srv, vm, fw
        self.work = os.path.join(work, vm)
        os.makedirs(self.work, exist_ok=True)

    def config(self, method="none", over=None):
        if over == "ec":
            over = {
                "client_id": "jwt-ec-device",
                "private_key": self.srv.pki["jwt_ec_key"],
                "private_key_id": "ec-1",
            }
        shutil.rmtree(os.path.join(self.work, "state"), ignore_errors=True)  # sign in afresh
        return write_config(self.work, self.srv.base_url, self.srv.pki, method, **(over or {}))

    def run(self, kb, method="none", over=None, mirror=False, stats=False):
        cfg = self.config(method, over)
        heap = "%dK" % kb
        cmd = runner.firmware_command(
            cfg, once=True, heap=heap, mirror=mirror, stats=stats, firmware=self.fw, vm=self.vm
        )
        return _run(cmd)

    def signs_in(self, kb, *case):
        proc = self.run(kb, *case)
        return proc.returncode == 0 and "Signed in." in proc.stdout

    def min_heap(self, method="none", over=None, mirror=False):
        return _bisect(lambda kb: self.signs_in(kb, method, over, mirror))

    def shows_code(self, kb):
        """Start-up (config, TLS context, device authorization) gets as far as the code."""
        cmd = runner.firmware_command(
            self.config(), heap="%dK" % kb, firmware=self.fw, vm=self.vm, once=True
        )
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for line in proc.stdout:
                if line.startswith("To sign in, visit "):
                    return True
            return False
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()

    def resident_kb(self, modules):
        """The smallest heap that imports `modules` (devauth.*): the code left on the heap."""
        path = [] if self.vm == "frozen" else ["import sys; sys.path.insert(0, %r)" % self.fw]
        script = os.path.join(self.work, "imports.py")
        with open(script, "w") as f:
            f.write("\n".join(path + ["import devauth.%s" % m for m in modules]) + "\n")
        mp = runner.micropython(self.vm)
        return _bisect(lambda kb: _run([mp, "-X", "heapsize=%dK" % kb, script]).returncode == 0)

    def _script(self, name, source, args):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(source)
        proc = _run([runner.micropython(self.vm), "-X", "heapsize=%dK" % HI_KB, path] + args)
        out = {}
        for line in proc.stdout.splitlines():
            k, _, v = line.rpartition(" ")
            if k and v.lstrip("-").isdigit():
                out[k] = max(out.get(k, 0), int(v))  # polling: its highest level
        return out

    def holders(self):
        """What holds the heap, measured: the live heap at each phase of a mirrored sign-in,
        and the heap each module's import takes (bytecode, for .mpy; module state, frozen)."""
        fw = "" if self.vm == "frozen" else self.fw
        phases = self._script("phases.py", PHASES, [self.config(), fw])
        imports = self._script("imports_each.py", IMPORTS, [fw, CODE_MODULES])
        return {"phases": phases, "imports": imports}

    def baseline(self):
        """The naive `requests` sign-in on this VM: its smallest heap, handshakes, requests."""
        out = os.path.join(self.work, "baseline")
        os.makedirs(out, exist_ok=True)
        src = os.path.join(HERE, "baseline_requests.py")
        mpy = os.path.join(out, "baseline_requests.mpy")
        subprocess.run([runner.mpy_cross(), "-o", mpy, src], check=True)
        code = (
            "import sys; sys.path.insert(0, %r); import baseline_requests as b; "
            "sys.exit(b.main(%r, %r, %r))"
            % (
                out,
                self.srv.base_url + "/as/device_authz.oauth2",
                self.srv.base_url + "/as/token.oauth2",
                "public-device",
            )
        )
        mp = runner.micropython(self.vm)

        def run(kb=None):
            return _run([mp] + (["-X", "heapsize=%dK" % kb] if kb else []) + ["-c", code])

        before = self.srv.stats()
        proc = run()
        after = self.srv.stats()
        if proc.returncode != 0:
            raise SystemExit("bench: the baseline did not sign in:\n" + proc.stdout + proc.stderr)
        return {
            "heap_min_kb": _bisect(lambda kb: run(kb).returncode == 0),
            "handshakes": after["tls_handshakes"] - before["tls_handshakes"],
            "requests": after["requests"] - before["requests"],
        }

    def measure(self):
        before = self.srv.stats()
        proc = self.run(HI_KB, stats=True)
        after = self.srv.stats()
        if proc.returncode != 0:
            raise SystemExit("bench: the firmware did not sign in:\n" + proc.stdout + proc.stderr)
        resident = _stats_line(proc.stdout)["modules"]
        shown = self.run(HI_KB, mirror=True, stats=True)
        resident_screen = _stats_line(shown.stdout)["modules"]
        out = {"vm": self.vm}
        for name, (method, over, mirror) in CASES.items():
            print("bench: %s: %s" % (LABELS[self.vm], name), flush=True)
            out[name] = self.min_heap(method, over, mirror)
        out["startup_kb"] = _bisect(self.shows_code)
        out["resident_modules"] = resident
        out["resident_kb"] = self.resident_kb(resident)
        out["resident_screen_kb"] = self.resident_kb(resident_screen)
        out["handshakes"] = after["tls_handshakes"] - before["tls_handshakes"]
        out["requests"] = after["requests"] - before["requests"]
        heap = runner.DEFAULT_HEAP
        kb = int(heap[:-1])
        out["default_heap"] = heap
        out["methods_at_default_heap"] = {m: self.signs_in(kb, m) for m in sorted(CLIENTS)}
        out["baseline"] = self.baseline()
        out["holders"] = self.holders()
        return out


def _kb(v):
    return "-" if v is None else "%d KB" % v


def _api(key, fmt="%s KB"):
    """A table cell from the VM's API figures (apibench.measure), "-" where none were taken."""

    def cell(r):
        api = r.get("api")
        if not api:
            return "-"
        values = tuple("-" if api[k] is None else api[k] for k in key.split("/"))
        return fmt % values

    return cell


def table(results):
    """The side-by-side table (one column per VM) -> lines."""
    vms = [vm for vm in ORDER if vm in results]
    rows = [
        ("smallest heap: headless sign-in", lambda r: _kb(r["headless"])),
        ("  naive `requests` on the same VM", lambda r: _kb(r["baseline"]["heap_min_kb"])),
        ("  with the 128x64 screen and QR (mirror)", lambda r: _kb(r["mirror"])),
        ("  client_secret_jwt (HS256)", lambda r: _kb(r["HS256"])),
        ("  private_key_jwt RS256 (2048-bit)", lambda r: _kb(r["RS256"])),
        ("  private_key_jwt ES256 (P-256)", lambda r: _kb(r["ES256"])),
        ("resident code, headless (heap to import it)", lambda r: _kb(r["resident_kb"])),
        ("resident code with the screen", lambda r: _kb(r["resident_screen_kb"])),
        ("start-up peak (smallest heap to show the code)", lambda r: _kb(r["startup_kb"])),
        (
            "TLS handshakes / requests (naive)",
            lambda r: (
                "%d/%d (%d/%d)"
                % (
                    r["handshakes"],
                    r["requests"],
                    r["baseline"]["handshakes"],
                    r["baseline"]["requests"],
                )
            ),
        ),
        ("one API call after the sign-in adds", _api("one_call_adds_kb")),
        (
            "  sign-in alone / then 1 call / then 10 calls",
            _api("signin_heap_kb/signin_one_call_heap_kb/signin_ten_calls_heap_kb", "%s/%s/%s KB"),
        ),
        ("  API code (heap its import takes)", _api("api_code_heap_bytes", "%s B")),
        (
            "10 API calls, token stored: heap, handshakes",
            _api("ours_10_calls_heap_kb/ours_10_calls_handshakes", "%s KB, %s"),
        ),
        (
            "  the same with urequests (CERT_NONE)",
            _api("urequests_10_calls_heap_kb/urequests_10_calls_handshakes", "%s KB, %s"),
        ),
        (
            "every client auth method at %s" % runner.DEFAULT_HEAP,
            lambda r: (
                "yes"
                if all(r["methods_at_default_heap"].values())
                else "no: "
                + ",".join(m for m, ok in r["methods_at_default_heap"].items() if not ok)
            ),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    cols = [LABELS[vm] for vm in vms]
    lines = ["%-*s  %s" % (width, "metric", "  ".join("%-15s" % c for c in cols))]
    lines.append("%s  %s" % ("-" * width, "  ".join("-" * 15 for _ in cols)))
    for name, cell in rows:
        lines.append(
            "%-*s  %s" % (width, name, "  ".join("%-15s" % cell(results[vm]) for vm in vms))
        )
    lines.append("")
    for vm, figure, goal, what in GOALS:
        if vm not in results:
            lines.append("goal %s <= %d KB: not measured (no %s VM)" % (what, goal, vm))
            continue
        got = results[vm].get(figure)
        if got is None and figure.startswith("api"):
            verdict = "not measured"
        elif got is None:
            verdict = "does not sign in within %d KB" % HI_KB
        elif got <= goal:
            verdict = "%d KB: met" % got
        else:
            verdict = "%d KB: missed by %d KB" % (got, got - goal)
        lines.append("goal %s <= %d KB: %s" % (what, goal, verdict))
    return lines


PHASE_NAMES = (
    ("interpreter_app_ui", "interpreter, app, http, UI and terminal display modules"),
    ("screen", "+ the screen: its modules, the frame buffer"),
    ("config", "+ the config read (its loader unloaded; .mpy: its names stay)"),
    ("http_client", "+ the HTTP client (8 KB reply buffer, TLS context)"),
    ("flow_session", "+ the flow, session and tokens modules, first reply"),
    ("code_shown", "+ the code on the screen (QR drawn, qr/layout unloaded)"),
    ("polling", "while polling (highest)"),
)


def holders_table(results):
    """Live heap (KB) by phase of a mirrored sign-in, and the largest module imports -> lines."""
    vms = [vm for vm in ORDER if vm in results and results[vm].get("holders")]
    lines = ["live heap in a mirrored sign-in, by phase (gc.mem_alloc after a collection):"]
    for key, name in PHASE_NAMES:
        cells = [results[vm]["holders"]["phases"].get(key) for vm in vms]
        text = ["-" if c is None else "%.1f KB" % (c / 1024) for c in cells]
        lines.append("  %-62s %s" % (name, "  ".join("%-15s" % t for t in text)))
    lines.append("heap each module's import takes (largest first, %s):" % LABELS[vms[0]])
    imports = results[vms[0]]["holders"]["imports"]
    top = sorted(imports.items(), key=lambda kv: -kv[1])[:12]
    lines.append("  " + ", ".join("%s %.1f" % (m, v / 1024) for m, v in top) + " (KB)")
    return lines


def main(args=None):
    soak_rounds = getattr(args, "soak", 200)
    work = tempfile.mkdtemp(prefix="devauth-bench-")
    fw = os.path.join(work, "mpy")
    mpy_bytes = runner.compile_firmware(fw)
    vms = [vm for vm in runner.VMS if vm == "64" or runner.vm_name() != "64"]
    if runner.vm_name() == "64":
        print("bench: no 32-bit MicroPython (make mp32): the 64-bit VM only")
    if runner.vm_built("picow"):
        vms.append("picow")
    results = {}
    from devauth_tools.dev_as import DevAS  # Flask, Authlib: when serving

    with DevAS(os.path.join(work, "as"), port=0, auto_approve=1.0, interval=1, quiet=True) as srv:
        print("bench: signing in repeatedly against %s (minutes)" % srv.base_url, flush=True)
        from devauth_tools import aiobench, apibench

        for vm in vms:
            results[vm] = Bench(srv, work, vm, fw).measure()
            if vm in API_VMS:
                print("bench: %s: API calls" % LABELS[vm], flush=True)
                api = results[vm]["api"] = apibench.measure(srv, work, fw, vm)
                results[vm]["api_adds"] = api["one_call_adds_kb"]
        aio = aiobench.measure(srv, work, fw) if runner.vm_name() != "64" else None
    from devauth_tools import jwtbench, screens, soak

    print("bench: JWT sign times, screens and QR (%s)" % LABELS[runner.vm_name()], flush=True)
    jwt = jwtbench.measure(runs=10)
    scr = screens.measure(runs=10)
    soaked = None
    if soak_rounds:
        print("bench: soak, %d sign-ins in one process" % soak_rounds, flush=True)
        soaked = soak.measure(count=soak_rounds, heap_min_kb=results[vms[0]]["headless"], fw=fw)
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(holders_table(results)))
    print()
    print(".mpy bytes, all of firmware/: %d" % mpy_bytes)
    print("assertion sign time (%s):" % LABELS[runner.vm_name()], end="")
    for alg in ("HS256", "RS256", "ES256"):
        print("  %s %.1f ms" % (alg, jwt[alg]["mean_ms"]), end="")
    print()
    print(
        "QR encode, 80-byte URL, level M: %.1f ms, peak heap %d B"
        % (scr["qr_encode_ms"], scr["qr_encode_peak_bytes"])
    )
    if soaked:
        print("soak: " + soak.summary(soaked))
    for vm in vms:
        if results[vm].get("api"):
            print()
            print("\n".join(apibench.report(results[vm]["api"])))
    if aio:
        print()
        print("\n".join(aiobench.report(aio, GOALS)))
    os.makedirs(os.path.join(runner.REPO, "build"), exist_ok=True)
    with open(os.path.join(runner.REPO, "build", "bench.json"), "w") as f:
        json.dump(
            {
                "vms": results,
                "devauth": {"heap_min_kb": results[vms[0]]["headless"]},  # soak.py reads it
                "mpy_bytes_total": mpy_bytes,
                "jwt": jwt,
                "screens": scr,
                "soak": soaked,
                "api": {vm: results[vm]["api"] for vm in vms if results[vm].get("api")},
                "aio": aio,
            },
            f,
            indent=2,
            default=str,
        )
    return 0


def add_parser(sub):
    """The `bench` subcommand for devauth_tools.cli."""
    b = sub.add_parser("bench", help="heap, handshakes, code size vs the naive requests baseline")
    b.add_argument("--soak", type=int, default=200, help="sign-ins in one process (0: none)")
    b.set_defaults(fn=main)
    return b


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    add_parser(sub)
    sys.exit(main(p.parse_args(["bench"] + sys.argv[1:])))
