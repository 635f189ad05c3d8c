"""Measure the device JWT client-auth code on the MicroPython unix port.

    python -m devauth_tools.jwtbench [--runs N]

Makes an RSA 2048 and an EC P-256 key with `cryptography`, then runs the firmware modules on
`.venv/bin/micropython`: time to parse the key (PKCS#8 DER); time per HS256 / RS256 / ES256
client assertion (first call, which for ES256 builds the comb table, and mean of N); bytes
the GC heap hands out during one assertion (collector off); the smallest `-X heapsize` that
still imports, loads the key and signs; and the `.mpy` size of each module from `mpy-cross`.
The unix port is 64-bit, so heap figures overstate an ESP32's somewhat.
"""

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
BIN = os.path.join(ROOT, ".venv", "bin")
MODULES = ("b64", "hmac256", "der", "rsa", "ecdsa", "jwt")

# Runs on MicroPython: argv = firmware dir, mode (time|once), alg, key file, runs.
MP_SCRIPT = """
import sys, gc, time
sys.path.insert(0, sys.argv[1])
mode, alg, path, runs = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
from devauth.jose import jwt
load = 0
if alg == "HS256":
    kw = {"secret": b"0123456789abcdef0123456789abcdef"}
else:
    with open(path, "rb") as f:
        data = f.read()
    t = time.ticks_us()
    kw = {"key": jwt.load_key(data)}
    load = time.ticks_diff(time.ticks_us(), t)
def op():
    return jwt.client_assertion("bench", "https://as.example/token", 1800000000, alg=alg, **kw)
gc.collect()
if mode == "once":
    op()
    print("ok")
else:
    t = time.ticks_us(); op(); first = time.ticks_diff(time.ticks_us(), t)
    t = time.ticks_us()
    for _ in range(runs):
        op()
    mean = time.ticks_diff(time.ticks_us(), t) / runs
    gc.collect(); gc.disable(); a0 = gc.mem_alloc(); op(); churn = gc.mem_alloc() - a0
    gc.enable()
    print("%d %d %d %d" % (load, first, mean, churn))
"""


def _keys(tmp):
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    paths = {"HS256": ""}
    for alg, key in (
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
    ):
        paths[alg] = os.path.join(tmp, alg + ".der")
        with open(paths[alg], "wb") as f:
            f.write(
                key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
            )
    return paths


def _mp(script, args, heap=None, lib=FIRMWARE):
    from devauth_tools import runner

    cmd = [runner.micropython()]
    if heap:
        cmd += ["-X", "heapsize=%d" % heap]
    return subprocess.run(cmd + [script, lib] + args, capture_output=True, text=True)


def _min_heap(script, alg, path, lib):
    lo, hi = 4096, 1 << 20  # hi must work
    while hi - lo > 512:
        mid = (lo + hi) // 2
        if _mp(script, ["once", alg, path, "1"], heap=mid, lib=lib).stdout.strip() == "ok":
            hi = mid
        else:
            lo = mid
    return hi


def _compile(lib):
    # lib/devauth/ with the two packages' __init__ and the JWT modules (devauth/jose/) as .mpy;
    # returns {module: .mpy size}.
    os.makedirs(os.path.join(lib, "devauth", "jose"))
    sizes = {}
    for rel in ("__init__", "jose/__init__") + tuple("jose/" + m for m in MODULES):
        out = os.path.join(lib, "devauth", rel + ".mpy")
        src = os.path.join(FIRMWARE, "devauth", rel + ".py")
        subprocess.run([os.path.join(BIN, "mpy-cross"), "-o", out, src], check=True)
        if rel[5:] in MODULES:
            sizes[rel[5:]] = os.path.getsize(out)
    return sizes


def measure(runs=20):
    """{alg: {load_ms, first_ms, mean_ms, alloc_bytes, heap_py, heap_mpy}, "mpy_sizes": {...}}."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "bench_mp.py")
        with open(script, "w") as f:
            f.write(MP_SCRIPT)
        paths = _keys(tmp)
        lib = os.path.join(tmp, "lib")
        out["mpy_sizes"] = _compile(lib)
        for alg in ("HS256", "RS256", "ES256"):
            # the collector is off for one assertion: RS256 leaves megabytes of garbage
            proc = _mp(script, ["time", alg, paths[alg], str(runs)], heap=16 << 20)
            if proc.returncode:
                raise RuntimeError(proc.stdout + proc.stderr)
            load, first, mean, churn = (int(x) for x in proc.stdout.split())
            out[alg] = {
                "load_ms": load / 1000,
                "first_ms": first / 1000,
                "mean_ms": mean / 1000,
                "alloc_bytes": churn,
                "heap_py": _min_heap(script, alg, paths[alg], FIRMWARE),
                "heap_mpy": _min_heap(script, alg, paths[alg], lib),
            }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="assertions per timing (default 20)")
    args = ap.parse_args(argv)
    try:
        m = measure(args.runs)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    print("MicroPython unix port, %d runs each; min heap = import + load key + sign" % args.runs)
    print("alg    load ms  first ms   mean ms  alloc/assertion  min heap .py   min heap .mpy")
    for alg in ("HS256", "RS256", "ES256"):
        r = m[alg]
        row = (alg, r["load_ms"], r["first_ms"], r["mean_ms"], r["alloc_bytes"])
        row += (r["heap_py"], r["heap_mpy"])
        print("%-6s %7.2f %9.2f %9.2f %14d B %10d B %12d B" % row)
    sizes = m["mpy_sizes"]
    print(".mpy sizes: " + ", ".join("%s %d" % kv for kv in sizes.items()))
    print(".mpy total: %d bytes" % sum(sizes.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
