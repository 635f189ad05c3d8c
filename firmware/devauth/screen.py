"""What the OLED shows, drawn on any framebuf-like display (`fill`, `text`, `fill_rect`, `show`).

Text from the server reaches the screen only through `_safe` (printable ASCII, bounded), so a
hostile reply cannot overflow the display or raise while drawing.
"""

_CHAR = 8  # framebuf's built-in font is 8x8


def _safe(text, limit=200):
    return "".join(ch if " " <= ch <= "~" else "?" for ch in str(text)[:limit])


def wrap(text, cols):
    """Split `text` into lines of at most `cols` characters, preferring breaks after / ? . & -."""
    lines = []
    while len(text) > cols:
        cut = cols
        for i in range(cols, cols // 2, -1):
            if text[i - 1] in "/?.&-= ":
                cut = i
                break
        lines.append(text[:cut])
        text = text[cut:]
    if text:
        lines.append(text)
    return lines


class Screen:
    def __init__(self, display, width=128, height=64):
        self.d = display
        self.w = width
        self.h = height
        self.cols = width // _CHAR
        self.rows = height // _CHAR

    def message(self, title, body=""):
        """A title bar and wrapped body text."""
        d = self.d
        d.fill(0)
        d.fill_rect(0, 0, self.w, _CHAR + 2, 1)
        d.text(_safe(title, self.cols), 1, 1, 0)
        y = _CHAR + 4
        for line in wrap(_safe(body), self.cols)[: self.rows - 1]:
            d.text(line, 0, y, 1)
            y += _CHAR + 1
        d.show()

    def sign_in(self, user_code, uri, seconds_left):
        """The user code, the link to visit and the time left."""
        d = self.d
        d.fill(0)
        d.text("Visit:", 0, 0, 1)
        lines = wrap(_safe(uri, 120), self.cols)
        y = _CHAR + 1
        for line in lines[: max(1, self.rows - 4)]:
            d.text(line, 0, y, 1)
            y += _CHAR + 1
        d.text("Code:", 0, y + 2, 1)
        d.text(_safe(user_code, self.cols), 0, y + 2 + _CHAR + 2, 1)
        self._countdown(seconds_left)
        d.show()

    def countdown(self, seconds_left):
        self._countdown(seconds_left)
        self.d.show()

    def _countdown(self, seconds_left):
        d = self.d
        y = self.h - _CHAR
        d.fill_rect(0, y, self.w, _CHAR, 0)
        s = max(0, seconds_left)
        d.text("%d:%02d left" % (s // 60, s % 60), 0, y, 1)
