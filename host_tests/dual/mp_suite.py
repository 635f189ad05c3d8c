"""Runs the dual (CPython + MicroPython) logic tests on the MicroPython unix port.

Usage: micropython host_tests/dual/mp_suite.py [MODULE ...]
Every test_* module in this folder is a dual test (no list to keep). Prints one line per test
and a closing line `N passed, N failed`; exit status 1 on any failure.
"""

import sys


def discover(folder):
    """The test modules in `folder` (this one): test_*.py, or test_*.mpy where precompiled."""
    import os

    names = set()
    for f in os.listdir(folder):
        if f.startswith("test_") and (f.endswith(".py") or f.endswith(".mpy")):
            names.add(f.rsplit(".", 1)[0])
    return sorted(names)


def run(modules):
    passed = failed = 0
    for name in modules:
        mod = __import__(name)
        for attr in sorted(dir(mod)):
            if not attr.startswith("test_"):
                continue
            fn = getattr(mod, attr)
            if not callable(fn):
                continue
            try:
                fn()
            except Exception as e:  # report every failure, keep going
                failed += 1
                print("FAIL %s.%s: %s %s" % (name, attr, type(e).__name__, e))
                sys.print_exception(e)
            else:
                passed += 1
                print("ok   %s.%s" % (name, attr))
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    here = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
    sys.path.insert(0, here)
    try:  # a VM with devauth frozen in (make mp32) tests the frozen package
        import devauth
    except ImportError:
        sys.path.insert(0, here + "/../../firmware")
        import devauth
    print("devauth from %s" % devauth.__file__)  # frozen: devauth/__init__.py
    sys.path.append(here + "/../../tools/devauth_tools/shims")  # canvas; built-ins win over it
    sys.exit(1 if run(sys.argv[1:] or discover(here)) else 0)
