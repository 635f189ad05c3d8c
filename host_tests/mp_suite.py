"""Runs the dual (CPython + MicroPython) logic tests on the MicroPython unix port.

Usage: micropython host_tests/mp_suite.py [MODULE ...]
Prints one line per test and a closing line `N passed, N failed`; exit status 1 on any failure.
"""

import sys

# Modules whose tests are written to run unchanged on both interpreters.
MODULES = [
    "test_flow",
    "test_http",
    "test_config",
    "test_jwt",
    "test_qr",
    "test_session",
    "test_board",
    "test_screen",
    "test_display",
]


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
    sys.path.insert(0, here + "/../firmware")
    sys.exit(1 if run(sys.argv[1:] or MODULES) else 0)
