"""The monotonic clock the sign-in runs on: MicroPython's ticks, with a CPython stand-in.

Intervals and deadlines use ticks_ms/ticks_diff (wrap-safe); wall-clock time is not used here.
"""

import time

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
    sleep_ms = time.sleep_ms
except AttributeError:  # CPython (host tests and tools)

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, delta):
        return a + delta

    def sleep_ms(ms):
        time.sleep(ms / 1000)


_EPOCH_2000 = 946684800  # seconds from 1970 to 2000: some ports count from 2000
_SET_AFTER = 1700000000  # 2023-11: a wall clock earlier than this was never set


def _epoch_offset():
    try:
        return _EPOCH_2000 if time.gmtime(0)[0] == 2000 else 0
    except (AttributeError, OverflowError):
        return 0


_OFFSET = _epoch_offset()


def unix_time():
    """Wall-clock Unix seconds (int), or None while the clock is not set (before NTP)."""
    t = int(time.time()) + _OFFSET
    return t if t >= _SET_AFTER else None
