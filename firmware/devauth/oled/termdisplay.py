"""The host board's OLED: a MONO_VLSB frame buffer (like SSD1306 GDDRAM) mirrored in the
terminal, sized to fit it. Host only: `devauth deploy` leaves this module off boards.

- Full size when the terminal has `width + 2` columns (130 for a 128x64 panel): one character
  per pixel column and two pixel rows (Unicode half blocks U+2580/U+2584/U+2588), square pixels.
- Otherwise half size: one character per 2x2 pixels (the quadrant blocks U+2596..U+259F with the
  half and full blocks), so a 128x64 screen takes 66 columns by 34 lines with its frame and fits
  an 80-column terminal whole.
- When the terminal has fewer lines than that frame needs, 2x4 pixels per character (Braille
  patterns U+2800..U+28FF): 66 columns by 18 lines, so an 80x24 terminal shows it all.

`show()` redraws in place: the cursor goes back to the top of the last frame and its lines are
written over (no clearing, so no flicker, and nothing kept but the frame buffer); console output
in between (`console_wrote()`) makes the next frame start afresh below it. A frame taller than
the terminal could not be redrawn in place: that is why the line count matters.

The terminal size: `columns` and `lines` if given (the unix port has no os.get_terminal_size:
the host launcher passes `main.py --columns N --lines N`), else the terminal's, else $COLUMNS
and $LINES, else 80 columns and no limit on lines.

On MicroPython the buffer is a real `framebuf.FrameBuffer`; on CPython the host tools' shim
(tools/devauth_tools/shims/framebuf.py).
"""

import os
import sys

from framebuf import FrameBuffer  # on CPython, the host tools' shim (a plain-Python canvas)

_VLSB = 0  # framebuf.MONO_VLSB: the SSD1306 memory layout
DEFAULT_COLUMNS = 80  # what a terminal of unknown width is taken to have

# The last byte of the UTF-8 of the block for a 2x2 cell (E2 96 xx), indexed by the lit pixels:
# top-left 1, top-right 2, bottom-left 4, bottom-right 8. Index 0 (nothing lit) is a space.
# Full size uses the same table with both columns of a cell set from one pixel: 3 is the upper
# half block, 12 the lower, 15 the full block.
QUADRANTS = b"\x00\x98\x9d\x80\x96\x8c\x9e\x9b\x97\x9a\x90\x9c\x84\x99\x9f\x88"

# The Braille pattern bits (U+2800 + bits) of a cell's left and right pixel columns, by their 4
# pixels (top = bit 0): left dots 1, 2, 3, 7 are bits 0, 1, 2, 6; right dots 4, 5, 6, 8 are bits
# 3, 4, 5, 7.
_BRAILLE_LEFT = bytes((v & 7) | ((v & 8) << 3) for v in range(16))
_BRAILLE_RIGHT = bytes(((v & 7) << 3) | ((v & 8) << 4) for v in range(16))


def terminal_size(out=None):
    """(columns, lines) of the terminal `out` writes to: its size, else $COLUMNS and $LINES,
    else 80 columns and None (lines unknown)."""
    get_size = getattr(os, "get_terminal_size", None)  # CPython; the unix port has none
    if get_size is not None:
        try:
            size = get_size((out or sys.stdout).fileno())
            return size.columns, size.lines
        except (AttributeError, OSError, ValueError):
            pass
    getenv = getattr(os, "getenv", None)
    columns, lines = DEFAULT_COLUMNS, None
    text = getenv("COLUMNS") if getenv else None
    if text and text.isdigit():
        columns = int(text)
    text = getenv("LINES") if getenv else None
    if text and text.isdigit():
        lines = int(text)
    return columns, lines


class TermDisplay(FrameBuffer):
    def __init__(self, width=128, height=64, out=None, columns=None, lines=None):
        self.width = width
        self.height = height
        self.buffer = bytearray(width * ((height + 7) // 8))
        super().__init__(self.buffer, width, height, _VLSB)
        self.out = out or sys.stdout
        if columns is None:
            columns, found = terminal_size(self.out)
            lines = found if lines is None else lines
        # Full size when the frame (the pixels and two edge columns) fits, else 2x2 per cell;
        # 2x4 when a frame of 2-pixel rows (and the cursor line below it) is taller than the
        # terminal.
        self.cell_height = 2
        if lines is not None and (height + 1) // 2 + 3 > lines:
            self.cell_height = 4
        self.full_size = self.cell_height == 2 and columns >= width + 2
        self.cell_width = 1 if self.full_size else 2
        self.columns = (width + self.cell_width - 1) // self.cell_width  # characters per line
        self.text_rows = (height + self.cell_height - 1) // self.cell_height
        self._rows_drawn = 0  # lines of the last frame still directly above the cursor
        self._edge = "+" + "-" * self.columns + "+\n"
        self._line = bytearray(3 * self.columns + 2)  # one text line, UTF-8, reused
        # On MicroPython the lines go to stdout as bytes: no string per line on the heap.
        self._raw = None
        if sys.implementation.name == "micropython":
            self._raw = getattr(self.out, "buffer", None)

    def console_wrote(self):
        """Console output went below the last frame: draw the next one afresh."""
        self._rows_drawn = 0

    def text_line(self, i):
        """Text line `i` of the frame (pixel rows from cell_height * i), framed by `|`."""
        return str(memoryview(self._line)[: self._encode(i)], "utf-8")

    def _put(self, i):
        n = self._encode(i)
        if self._raw is not None:
            self._raw.write(memoryview(self._line)[:n])
        else:
            self.out.write(str(memoryview(self._line)[:n], "utf-8"))

    def _encode(self, i):
        """Text line `i` as UTF-8 in self._line -> its length."""
        if self.cell_height == 4:
            return self._encode_braille(i)
        w = self.width
        buf = self.buffer
        y = 2 * i
        o = (y >> 3) * w
        top = 1 << (y & 7)
        bottom = top << 1 if y + 1 < self.height else 0
        step = self.cell_width
        line = self._line
        line[0] = 0x7C  # |
        n = 1
        for x in range(o, o + w, step):
            b = buf[x]
            v = (1 if b & top else 0) | (4 if b & bottom else 0)
            if step == 1:
                v *= 3  # one pixel fills both halves of the cell's width
            elif x + 1 < o + w:
                b = buf[x + 1]
                v |= (2 if b & top else 0) | (8 if b & bottom else 0)
            if v:
                line[n] = 0xE2
                line[n + 1] = 0x96
                line[n + 2] = QUADRANTS[v]
                n += 3
            else:
                line[n] = 0x20
                n += 1
        line[n] = 0x7C
        return n + 1

    def _encode_braille(self, i):
        """Text line `i` in Braille cells of 2x4 pixels: U+2800 + the lit dots, numbered down
        the left column (1, 2, 3, 7) and the right (4, 5, 6, 8)."""
        w = self.width
        buf = self.buffer
        y = 4 * i  # the four rows sit in one 8-row page, from bit 0 or bit 4
        o = (y >> 3) * w
        shift = y & 7
        keep = (1 << min(4, self.height - y)) - 1  # rows past the panel stay dark
        line = self._line
        line[0] = 0x7C  # |
        n = 1
        for x in range(o, o + w, 2):
            left = (buf[x] >> shift) & keep
            right = (buf[x + 1] >> shift) & keep if x + 1 < o + w else 0
            v = _BRAILLE_LEFT[left] | _BRAILLE_RIGHT[right]
            if v:
                line[n] = 0xE2
                line[n + 1] = 0xA0 | (v >> 6)
                line[n + 2] = 0x80 | (v & 0x3F)
                n += 3
            else:
                line[n] = 0x20
                n += 1
        line[n] = 0x7C
        return n + 1

    def rows(self):
        """The whole frame as text lines, edges included."""
        yield self._edge[:-1]
        for i in range(self.text_rows):
            yield self.text_line(i)
        yield self._edge[:-1]

    def show(self):
        w = self.out.write
        n = self.text_rows
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
