"""`framebuf` for CPython: the plain-Python Canvas under MicroPython's module and class names.

Host tools and tests put this folder on sys.path so that the firmware's `from framebuf import
FrameBuffer` works on CPython. MicroPython's built-in `framebuf` always wins over it.
"""

from canvas import Canvas as FrameBuffer  # noqa: F401

MONO_VLSB = 0
