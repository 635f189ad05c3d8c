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

    def render(self):
        """The frame as text lines: two pixel rows per character row, framed."""
        lines = ["+" + "-" * self.width + "+"]
        for y in range(0, self.height, 2):
            row = []
            for x in range(self.width):
                top = self.pixel(x, y)
                bottom = self.pixel(x, y + 1) if y + 1 < self.height else 0
                row.append(_BOTH if top and bottom else _TOP if top else _BOTTOM if bottom else " ")
            lines.append("|" + "".join(row) + "|")
        lines.append(lines[0])
        return lines

    def show(self):
        lines = self.render()
        w = self.out.write
        if self._rows_drawn:
            w("\x1b[%dA" % self._rows_drawn)  # back to the top of the previous frame
        for line in lines:
            w(line + "\n")
        self._rows_drawn = len(lines)
