"""Measure the QR encoder (firmware/devauth/qr.py) on the MicroPython unix port.

    python -m devauth_tools.qrbench [--runs N] [--length BYTES]

For an 80-byte URL (by default) at levels L and M, runs `.venv/bin/micropython` and reports:
time per encode (mean of N, and with the mask forced, i.e. without the mask search), bytes the
GC heap hands out during one encode (collector off, so this counts garbage too),
`micropython.mem_peak()` over one encode (the same plus the VM's short-lived frames: an upper
bound on the live peak), the smallest `-X heapsize` that loads the compiled module and encodes
(to 256 bytes), and the `.mpy` size from `mpy-cross`. The unix port is 64-bit, so its
object headers are larger than an ESP32's: heap figures overstate the device somewhat.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "firmware", "devauth", "qr.py")
BIN = os.path.join(ROOT, ".venv", "bin")

# argv: module dir, mode (bench|encode|import), ecc, url, runs.
MP_SCRIPT = """
import sys, gc, time, micropython
sys.path.insert(0, sys.argv[1])
mode, ecc, url, runs = sys.argv[2], sys.argv[3], sys.argv[4].encode(), int(sys.argv[5])
import qr
if mode == "import":
    print("ok")
elif mode == "encode":
    qr.encode(url, ecc=ecc)
    print("ok")
else:
    gc.collect()
    t = time.ticks_us(); q = qr.encode(url, ecc=ecc); first = time.ticks_diff(time.ticks_us(), t)
    t = time.ticks_us()
    for _ in range(runs):
        qr.encode(url, ecc=ecc)
    mean = time.ticks_diff(time.ticks_us(), t) // runs
    t = time.ticks_us()
    for _ in range(runs):
        qr.encode(url, ecc=ecc, mask=q.mask)
    forced = time.ticks_diff(time.ticks_us(), t) // runs
    gc.collect(); gc.disable(); a0 = gc.mem_alloc(); qr.encode(url, ecc=ecc)
    churn = gc.mem_alloc() - a0
    gc.enable(); gc.collect()
    # mem_current() counts garbage until the next collection and never drops on a sweep, so
    # allocate until it passes the peak left by start-up: the next peak is the encode's own.
    while micropython.mem_current() < micropython.mem_peak():
        bytearray(256)
    gc.collect()
    base = micropython.mem_current(); qr.encode(url, ecc=ecc); peak = micropython.mem_peak() - base
    print("%d %d %d %d %d %d %d" % (q.version, q.mask, first, mean, forced, churn, peak))
"""


def _mp(args, heap=None):
    cmd = [os.path.join(BIN, "micropython")]
    if heap:
        cmd += ["-X", "heapsize=%d" % heap]
    return subprocess.run(cmd + args, capture_output=True, text=True)


def _min_heap(args):
    lo, hi = 512, 1 << 18  # hi must work
    while hi - lo > 256:
        mid = (lo + hi) // 2
        if _mp(args, heap=mid).stdout.strip() == "ok":
            hi = mid
        else:
            lo = mid
    return hi


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="encodes per timing (default 50)")
    ap.add_argument("--length", type=int, default=80, help="URL length in bytes (default 80)")
    args = ap.parse_args(argv)
    url = "https://example.com/as/user_authz.oauth2?user_code=YYD6-CD4T&client_id=devauth-"
    url = (url + "0123456789" * 20)[: args.length]
    with tempfile.TemporaryDirectory() as tmp:
        mpy = os.path.join(tmp, "qr.mpy")
        subprocess.run([os.path.join(BIN, "mpy-cross"), "-o", mpy, SOURCE], check=True)
        py_dir = os.path.join(tmp, "py")
        os.mkdir(py_dir)
        shutil.copy(SOURCE, py_dir)
        script = os.path.join(tmp, "bench_mp.py")
        with open(script, "w") as f:
            f.write(MP_SCRIPT)
        print("MicroPython unix port, %d-byte URL, %d runs per timing" % (len(url), args.runs))
        print("ecc  ver mask  first ms  mean ms  forced-mask ms  alloc/encode  mem_peak  min heap")
        for ecc in ("L", "M"):
            proc = _mp([script, py_dir, "bench", ecc, url, str(args.runs)])
            if proc.returncode:
                print(proc.stdout + proc.stderr, file=sys.stderr)
                return 1
            ver, mask, first, mean, forced, churn, peak = (int(x) for x in proc.stdout.split())
            heap = _min_heap([script, tmp, "encode", ecc, url, "0"])
            print(
                "%-3s %4d %4d %9.2f %8.2f %15.2f %11d B %7d B %7d B"
                % (ecc, ver, mask, first / 1000, mean / 1000, forced / 1000, churn, peak, heap)
            )
        imp = _min_heap([script, tmp, "import", "M", url, "0"])
        print("min heap to load qr.mpy alone: %d B" % imp)
        print(".mpy size: %d bytes" % os.path.getsize(mpy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
