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
