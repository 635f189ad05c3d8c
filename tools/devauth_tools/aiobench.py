"""`make bench`, the asyncio API (devauth.aio) beside the blocking one, on the 32-bit VMs.

- The stall: an application task that wakes every 50 ms runs in the same asyncio loop as the
  sign-in; its longest gap between two wake-ups is the longest time the loop was held. With
  devauth.aio (`await Auth(config).run(once=True)`) the loop is held only for CPU work (a TLS
  handshake's arithmetic, a JWT signature, parsing a reply); with the blocking `app.run(config,
  once=True)` called from a coroutine it is held for the whole sign-in. Measured for a whole
  sign-in (TLS handshake, device authorization, polls: the dev server approves after 1 s), for
  a refresh (a stored token due for refresh), and for a private_key_jwt RS256 sign-in. The
  median of RUNS runs on the 32-bit .mpy VM.
- The heap: the smallest GC heap (bench._bisect) in which the same script signs in afresh, with
  devauth.aio and with the blocking app.run, headless and with the 128x64 screen mirrored to a
  terminal display (the ESP32-fit memory goals' case), on the 32-bit VM from .mpy and frozen.
  asyncio itself is frozen into the unix port, as in the stock ESP32, rp2 and unix firmware.
"""

import os
import shutil
import subprocess

from devauth_tools import runner
from devauth_tools.devconfig import write_config

RUNS = 3
TICK_MS = 50
ALLOWANCE_KB = 4  # the budget: the asyncio path within the goals plus 4 KB

# Runs on MicroPython, precompiled to .mpy (as the application would be): main(config, mode
# "aio" or "blocking", ticker, mirror) -> the sign-in's exit code; prints "stall MS" with the
# ticker. The blocking sign-in without the ticker does not import asyncio.
SCRIPT = """
from devauth import clock


def screen(mirror):
    if not mirror:
        return None, None
    from devauth.oled.termdisplay import TermDisplay
    from devauth.oled.ui import UI

    class Null:
        def write(self, s):
            pass

    display = TermDisplay(128, 64, out=Null())
    return display, UI(display, 128, 64)


class Ticker:
    def __init__(self):
        self.longest = 0

    async def run(self, asyncio):
        last = clock.ticks_ms()
        while True:
            await asyncio.sleep_ms(%(tick)d)
            now = clock.ticks_ms()
            self.longest = max(self.longest, clock.ticks_diff(now, last))
            last = now


async def beside(cfg, mode, display, ui):
    import asyncio

    ticker = Ticker()
    task = asyncio.create_task(ticker.run(asyncio))
    await asyncio.sleep_ms(0)
    if mode == "aio":
        from devauth import aio

        code = await aio.Auth(cfg, display, ui=ui).run(once=True)
    else:
        from devauth import app

        code = app.run(cfg, display, once=True, ui=ui)  # blocks the loop
    await asyncio.sleep_ms(%(tick)d + 10)  # the ticker wakes once more: the last gap ends
    task.cancel()
    print("stall %%d" %% ticker.longest)
    return code


def main(cfg, mode, tick, mirror):
    display, ui = screen(mirror)
    if tick:
        import asyncio

        return asyncio.run(beside(cfg, mode, display, ui))
    if mode == "aio":
        import asyncio

        from devauth import aio

        return asyncio.run(aio.Auth(cfg, display, ui=ui).run(once=True))
    from devauth import app

    return app.run(cfg, display, once=True, ui=ui)
""" % {"tick": TICK_MS}
# The heap each import adds on top of the blocking path's modules (bytecode from .mpy; module
# state when frozen).
IMPORTS = """
import gc, sys
sys.path[:0] = %r
import devauth.app, devauth.net.http
for m in ("asyncio", "devauth.aio", "devauth.net.ahttp"):
    gc.collect()
    a = gc.mem_alloc()
    __import__(m)
    gc.collect()
    print("%%s %%d" %% (m, gc.mem_alloc() - a))
"""
LAUNCH = "import sys; sys.path[:0] = %r; import aio_bench; sys.exit(aio_bench.main(%r, %r, %r, %r))"


class AioBench:
    """Runs SCRIPT on one VM against one dev server, each sign-in from a clean state."""

    def __init__(self, srv, work, vm, fw):
        self.srv, self.vm = srv, vm
        self.fw = "" if vm == "frozen" else fw
        self.work = os.path.join(work, "aio-" + vm)
        os.makedirs(self.work, exist_ok=True)
        src = os.path.join(self.work, "aio_bench.py")
        with open(src, "w") as f:
            f.write(SCRIPT)
        mpy = os.path.join(self.work, "aio_bench.mpy")
        subprocess.run([runner.mpy_cross(), "-o", mpy, src], check=True)
        self.path = [self.work] + ([self.fw] if self.fw else [])

    def config(self, method="none", fresh=True, **over):
        if fresh:
            shutil.rmtree(os.path.join(self.work, "state"), ignore_errors=True)
        return write_config(self.work, self.srv.base_url, self.srv.pki, method, **over)

    def run(self, cfg, mode, kb=256, ticker=False, mirror=False):
        code = LAUNCH % (self.path, cfg, mode, ticker, mirror)
        cmd = [runner.micropython(self.vm), "-X", "heapsize=%dK" % kb, "-c", code]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def stall(self, mode, method="none", refresh=False, **over):
        """The ticker's longest gap (ms) in one sign-in (or refresh, `refresh`)."""
        cfg = self.config(method, **over)
        if refresh:  # signed in first; the server's tokens live 30 s: due for refresh at once
            proc = self.run(cfg, "blocking")
            if proc.returncode != 0:
                raise SystemExit("bench: no sign-in before the refresh:\n" + proc.stdout)
        proc = self.run(cfg, mode, ticker=True)
        for line in proc.stdout.splitlines():
            if proc.returncode == 0 and line.startswith("stall "):
                return int(line.split()[1])
        raise SystemExit("bench: the %s sign-in failed:\n%s%s" % (mode, proc.stdout, proc.stderr))

    def median_stall(self, *a, **kw):
        return sorted(self.stall(*a, **kw) for _ in range(RUNS))[RUNS // 2]

    def signs_in(self, kb, mode, mirror):
        proc = self.run(self.config(), mode, kb, mirror=mirror)
        return proc.returncode == 0 and "Signed in." in proc.stdout

    def imports(self):
        """{module: bytes its import adds to the heap} for asyncio, devauth.aio, net.ahttp."""
        code = IMPORTS % ([self.fw] if self.fw else [])
        proc = subprocess.run(
            [runner.micropython(self.vm), "-c", code], capture_output=True, text=True, timeout=60
        )
        return {k: int(v) for k, v in (line.split() for line in proc.stdout.splitlines())}

    def min_heap(self, mode, mirror=False):
        from devauth_tools.bench import _bisect

        return _bisect(lambda kb: self.signs_in(kb, mode, mirror))


def measure(srv, work, fw, vms=("32", "frozen")):
    """The figures: {"stall": {case: {mode: ms}}, "heap": {vm: {case: {mode: KB}, "imports":
    {module: bytes}}}}."""
    out = {"stall": {}, "heap": {}}
    bench = AioBench(srv, work, "32", fw)
    rsa = {
        "client_id": "jwt-rsa-device",
        "private_key": srv.pki["jwt_rsa_key"],
        "private_key_id": "rsa-1",
    }
    for mode in ("aio", "blocking"):
        print("bench: asyncio: the ticker's stall, %s" % mode, flush=True)
        out["stall"].setdefault("signin", {})[mode] = bench.median_stall(mode)
        out["stall"].setdefault("rs256", {})[mode] = bench.median_stall(
            mode, "private_key_jwt", **rsa
        )
    from devauth_tools.dev_as import DevAS  # Flask, Authlib: when serving

    with DevAS(
        os.path.join(work, "as-aio"),
        port=0,
        interval=1,
        auto_approve=0.3,
        quiet=True,
        access_token_lifetime=30,
    ) as due:
        refresh = AioBench(due, work, "32", fw)
        for mode in ("aio", "blocking"):
            out["stall"].setdefault("refresh", {})[mode] = refresh.median_stall(
                mode, "client_secret_basic", refresh=True
            )
    for vm in vms:
        if not runner.vm_built(vm) or (vm == "frozen" and not runner.frozen_current()):
            print("bench: asyncio heap: no current %s VM (make mp32)" % vm, flush=True)
            continue
        b = AioBench(srv, work, vm, fw)
        out["heap"][vm] = {}
        for case, mirror in (("headless", False), ("mirror", True)):
            print("bench: asyncio heap, %s, %s" % (vm, case), flush=True)
            out["heap"][vm][case] = {m: b.min_heap(m, mirror) for m in ("aio", "blocking")}
        out["heap"][vm]["imports"] = b.imports()
    return out


def _kb(v):
    return "-" if v is None else "%d KB" % v


def report(r, goals=()):
    """The figures as lines for bench's printout; `goals`: bench.GOALS (vm, figure, KB, what)."""
    s = r["stall"]
    lines = [
        "asyncio API (devauth.aio) beside the blocking app.run, 32-bit VM:",
        "  longest stall of a %d ms ticker task in the same loop (median of %d):" % (TICK_MS, RUNS),
        "  %-48s %-12s %s" % ("", "asyncio", "blocking"),
    ]
    for case, name in (
        ("signin", "whole sign-in (TLS, authorization, polls)"),
        ("refresh", "refresh of a due token (new TLS connection)"),
        ("rs256", "private_key_jwt RS256 sign-in"),
    ):
        if case in s:
            lines.append(
                "    %-46s %-12s %s"
                % (name, "%d ms" % s[case]["aio"], "%d ms" % s[case]["blocking"])
            )
    if r["heap"]:
        lines.append("  smallest heap for a sign-in (same script; asyncio frozen in the port):")
        lines.append("  %-48s %-12s %-12s %s" % ("", "asyncio", "blocking", "difference"))
        for vm, cases in r["heap"].items():
            for case, name in (("headless", "headless"), ("mirror", "128x64 screen + QR")):
                a, b = cases[case]["aio"], cases[case]["blocking"]
                diff = "-" if a is None or b is None else "%+d KB" % (a - b)
                label = "%s, %s" % ("32-bit .mpy" if vm == "32" else "32-bit frozen", name)
                lines.append("    %-46s %-12s %-12s %s" % (label, _kb(a), _kb(b), diff))
            imp = cases["imports"]
            lines.append(
                "    of which imports: asyncio %.1f KB (any asyncio application's), devauth.aio "
                "%.1f KB, net.ahttp %.1f KB"
                % (
                    imp["asyncio"] / 1024,
                    imp["devauth.aio"] / 1024,
                    imp["devauth.net.ahttp"] / 1024,
                )
            )
        for vm, figure, goal, what in goals:
            got = r["heap"].get(vm, {}).get(figure, {}).get("aio")
            if got is None or figure not in ("mirror", "headless"):
                continue
            budget = goal + ALLOWANCE_KB
            verdict = "met" if got <= budget else "missed by %d KB" % (got - budget)
            lines.append(
                "  goal asyncio, %s <= %d + %d KB: %d KB: %s"
                % (what, goal, ALLOWANCE_KB, got, verdict)
            )
    return lines


def main():
    """The asyncio figures alone: python -m devauth_tools.aiobench."""
    import tempfile

    from devauth_tools.bench import GOALS

    work = tempfile.mkdtemp(prefix="devauth-aiobench-")
    fw = os.path.join(work, "mpy")
    runner.compile_firmware(fw)
    from devauth_tools.dev_as import DevAS  # Flask, Authlib: when serving

    with DevAS(os.path.join(work, "as"), port=0, auto_approve=1.0, interval=1, quiet=True) as srv:
        r = measure(srv, work, fw)
    print("\n".join(report(r, GOALS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
