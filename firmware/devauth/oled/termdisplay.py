"""The host board's OLED: a MONO_VLSB frame buffer (like SSD1306 GDDRAM) mirrored in the
terminal, one character per pixel column and two pixel rows (Unicode half blocks), so pixels
stay square. `show()` redraws in place: the cursor goes back to the top of the last frame and
its lines are written over (no clearing, so no flicker, and nothing kept but the frame buffer);
console output in between (`console_wrote()`) makes the next frame start afresh below it.

On MicroPython the buffer is a real `framebuf.FrameBuffer`; on CPython the host tools' shim
(tools/devauth_tools/shims/framebuf.py).
"""

import sys

from framebuf import FrameBuffer  # on CPython, the host tools' shim (a plain-Python canvas)

_VLSB = 0  # framebuf.MONO_VLSB: the SSD1306 memory layout

# UTF-8 of U+2580 upper half, U+2584 lower half, U+2588 full block: E2 96 xx, by
# (top lit) | (bottom lit) << 1; a space when neither is lit.
_BLOCK = b"\x00\x80\x84\x88"


class TermDisplay(FrameBuffer):
    def __init__(self, width=128, height=64, out=None):
        self.width = width
        self.height = height
        self.buffer = bytearray(width * ((height + 7) // 8))
        super().__init__(self.buffer, width, height, _VLSB)
        self.out = out or sys.stdout
        self._rows_drawn = 0  # lines of the last frame still directly above the cursor
        self._edge = "+" + "-" * width + "+\n"
        self._line = bytearray(3 * width + 2)  # one text line, UTF-8, reused
        # On MicroPython the lines go to stdout as bytes: no string per line on the heap.
        self._raw = None
        if sys.implementation.name == "micropython":
            self._raw = getattr(self.out, "buffer", None)

    def console_wrote(self):
        """Console output went below the last frame: draw the next one afresh."""
        self._rows_drawn = 0

    def text_line(self, i):
        """Text line `i` of the frame: pixel rows 2i and 2i+1, framed by `|`."""
        return str(memoryview(self._line)[: self._encode(i)], "utf-8")

    def _put(self, i):
        n = self._encode(i)
        if self._raw is not None:
            self._raw.write(memoryview(self._line)[:n])
        else:
            self.out.write(str(memoryview(self._line)[:n], "utf-8"))

    def _encode(self, i):
        """Text line `i` as UTF-8 in self._line -> its length."""
        w = self.width
        buf = self.buffer
        y = 2 * i
        o = (y >> 3) * w
        top = 1 << (y & 7)
        bottom = top << 1 if y + 1 < self.height else 0
        line = self._line
        line[0] = 0x7C  # |
        n = 1
        for x in range(o, o + w):
            b = buf[x]
            v = (1 if b & top else 0) | (2 if b & bottom else 0)
            if v:
                line[n] = 0xE2
                line[n + 1] = 0x96
                line[n + 2] = _BLOCK[v]
                n += 3
            else:
                line[n] = 0x20
                n += 1
        line[n] = 0x7C
        return n + 1

    def rows(self):
        """The whole frame as text lines, edges included."""
        edge = "+" + "-" * self.width + "+"
        yield edge
        for i in range((self.height + 1) // 2):
            yield self.text_line(i)
        yield edge

    def show(self):
        w = self.out.write
        n = (self.height + 1) // 2  # text lines of pixels
        if self._rows_drawn:  # back to the first pixel line of the last frame, to redraw it
            w("\x1b[%dA" % (n + 1))
        else:  # first frame, or console lines since: draw it all below
            w(self._edge)
        for i in range(n):
            self._put(i)
            w("\n")
        if self._rows_drawn:
            w("\x1b[1B")  # over the bottom edge, to below the frame
        else:
            w(self._edge)
        self._rows_drawn = n + 2
        if hasattr(self.out, "flush"):
            self.out.flush()
