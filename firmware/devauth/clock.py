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
