"""Tiny helpers for tests that run under both pytest (CPython) and the MicroPython unix port.

Dual tests are plain `test_*` functions using `assert` and these helpers: no pytest import, no
fixtures, no f-string debugging `=`. `mp_suite.py` lists the modules run on MicroPython.
"""


def raises(exc_type, fn, *args, **kwargs):
    """Call fn and return the exception it raised; fail if it raised nothing or something else."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("expected %s from %s" % (exc_type.__name__, fn))


def scratch(name):
    """A scratch directory path for file tests: $TMPDIR or /tmp on a host, / on a board."""
    import os

    getenv = getattr(os, "getenv", None)  # the ESP32 port has no os.getenv
    base = getenv and getenv("TMPDIR")
    if not base:
        try:
            os.stat("/tmp")
            base = "/tmp"
        except OSError:
            base = ""
    return base + "/" + name
