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


class FakeClock:
    """The clock the firmware is given, for tests: ticks in ms that move only when the code
    under test sleeps, and a wall clock (`unix_time()`) that is None until it is set."""

    def __init__(self, start=0, wall=None):
        self.now = start
        self.sleeps = []
        self.unix_at = None if wall is None else (wall, start)  # (Unix seconds, at tick)

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, d):
        return a + d

    def sleep_ms(self, ms):
        self.sleeps.append(ms)
        self.now += ms

    def unix_time(self):
        if self.unix_at is None:
            return None
        base, at = self.unix_at
        return base + (self.now - at) // 1000

    def set_unix(self, t):
        """What NTP does: the wall clock reads `t` from now on."""
        self.unix_at = (t, self.now)
