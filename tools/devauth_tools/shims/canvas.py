"""A MONO_VLSB frame buffer in plain Python, for interpreters without `framebuf` (CPython).

The subset of `framebuf.FrameBuffer` that the screens and the terminal mirror use, with the same
clipping (the host tests compare the two on MicroPython). Not loaded on a board.
"""

_VLSB = 0  # framebuf.MONO_VLSB


class Canvas:
    """`Canvas(buffer, width, height)` like `FrameBuffer(buffer, w, h, MONO_VLSB)`."""

    def __init__(self, buffer, width, height, format=_VLSB):
        if format != _VLSB or len(buffer) < width * ((height + 7) // 8):
            raise ValueError("Canvas: MONO_VLSB and a buffer of width * pages bytes")
        self._buf = buffer
        self._w = width
        self._h = height

    def fill(self, c):
        b = self._buf
        v = 0xFF if c else 0
        for i in range(self._w * ((self._h + 7) // 8)):
            b[i] = v

    def pixel(self, x, y, c=None):
        if not (0 <= x < self._w and 0 <= y < self._h):
            return None
        i = (y >> 3) * self._w + x
        m = 1 << (y & 7)
        if c is None:
            return 1 if self._buf[i] & m else 0
        if c:
            self._buf[i] |= m
        else:
            self._buf[i] &= ~m & 0xFF

    def fill_rect(self, x, y, w, h, c):
        if w < 1 or h < 1:
            return
        x0 = max(0, x)
        y0 = max(0, y)
        x1 = min(self._w, x + w)
        y1 = min(self._h, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        b = self._buf
        while y0 < y1:
            page = y0 >> 3
            top = min(y1, (page + 1) << 3)
            m = ((1 << (top - y0)) - 1) << (y0 & 7)
            o = page * self._w
            if c:
                for i in range(o + x0, o + x1):
                    b[i] |= m
            else:
                m = ~m & 0xFF
                for i in range(o + x0, o + x1):
                    b[i] &= m
            y0 = top

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
        else:
            self.fill_rect(x, y, w, 1, c)
            self.fill_rect(x, y + h - 1, w, 1, c)
            self.fill_rect(x, y, 1, h, c)
            self.fill_rect(x + w - 1, y, 1, h, c)

    def text(self, s, x, y, c=1):
        from devauth.oled import font

        font.text(self, s, x, y, c)

    def show(self):
        pass
