"""The host board's OLED: a real `framebuf` (MONO_VLSB, like SSD1306 GDDRAM) mirrored in the
terminal with Unicode half blocks, redrawn in place."""

import sys

import framebuf

_TOP, _BOTTOM, _BOTH = "\u2580", "\u2584", "\u2588"


class TermDisplay(framebuf.FrameBuffer):
    def __init__(self, width=128, height=64, out=None):
        self.width = width
        self.height = height
        self.buffer = bytearray(width * ((height + 7) // 8))
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self.out = out or sys.stdout
        self._rows_drawn = 0  # lines of the last frame still directly above the cursor

    def console_wrote(self):
        """Console output went below the last frame: draw the next one afresh."""
        self._rows_drawn = 0

    def rows(self):
        """The frame as text lines, one at a time: two pixel rows per line, framed."""
        edge = "+" + "-" * self.width + "+"
        yield edge
        chars = (" ", _TOP, _BOTTOM, _BOTH)
        for y in range(0, self.height, 2):
            row = ["|"]
            for x in range(self.width):
                row.append(chars[self.pixel(x, y) | (self.pixel(x, y + 1) << 1)])
            row.append("|")
            yield "".join(row)
        yield edge

    def show(self):
        w = self.out.write
        if self._rows_drawn:
            w("\x1b[%dA" % self._rows_drawn)  # back to the top of the previous frame
        n = 0
        for line in self.rows():
            w(line)
            w("\n")
            n += 1
        self._rows_drawn = n
