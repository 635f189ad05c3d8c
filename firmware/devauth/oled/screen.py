"""What the OLED shows, drawn on any framebuf-like display (`fill`, `fill_rect`, `show`).

Layouts adapt to the panel (128x64, 128x32 and 72x40 are the ones tested): text in the 8x8
font, the user code in glyphs 16 px tall (devauth.oled.font), a countdown strip, and a QR code
(devauth.oled.qr) of `verification_uri_complete`, else of `verification_uri`.

A sign-in is planned once per code (`sign_in()` -> number of views) and drawn one view at a
time (`view(i, seconds_left)`); `countdown()` redraws only the strip. Views: the URI (wrapped at
natural breaks, paged when long) with the code under it when both fit, else the URI and the code
apart; and the QR, with the code beside it when it fits. The plan (a list of
devauth.oled.View) and the status and result screens are devauth.oled.layout's, loaded for the
occasion and unloaded after: what stays loaded while polling is what redraws.

Safety: server text reaches the screen only through devauth.errors.clip() (printable ASCII,
bounded), and
every drawing call goes through helpers that keep it on the screen: nothing draws off-screen,
and nothing here raises on odd input (a QR that cannot be made is left out).
"""

import gc

from devauth import unload
from devauth.errors import MAX_URI, MAX_USER_CODE, clip
from devauth.oled import View, font
from devauth.oled.font import PITCH


def clock_text(s):
    """Time left as m:ss, mm:ss, or h:mm from an hour up."""
    s = max(0, s)
    if s >= 3600:
        return "%dh%02d" % (s // 3600, s // 60 % 60)
    return "%d:%02d" % (s // 60, s % 60)


class Screen:
    def __init__(self, display, width=128, height=64):
        self.d = display
        self.w = width
        self.h = height
        self.cols = width // font.W
        self.trace = None  # tests set a list: (text, x, y, sx) per text drawn, sx 0 = 8x8 font
        self.views = ()  # the sign-in's plan: devauth.oled.View, made by devauth.oled.layout
        self.code = self.uri = ""
        self.total = 1
        self._strip = None  # (x, y, w, h) of the countdown on the view shown, or None

    # -- drawing helpers (devauth.oled.layout's too): everything they draw lies on the screen --

    def rect(self, x, y, w, h, c):
        if x < 0:
            w += x
            x = 0
        if y < 0:
            h += y
            y = 0
        w = min(w, self.w - x)
        h = min(h, self.h - y)
        if w > 0 and h > 0:
            self.d.fill_rect(x, y, w, h, c)

    def text(self, s, x, y, c=1):
        """8x8 text from (x, y); characters whose cell would leave the screen are left out."""
        if x < 0 or y < 0 or y + font.W > self.h:
            return
        s = s[: (self.w - x) // font.W]
        if s:
            font.text(self.d, s, x, y, c)
            if self.trace is not None:
                self.trace.append((s, x, y, 0))

    def _big(self, s, x, y, sx, c=1):
        if x < 0 or y < 0 or y + font.BIG_H > self.h or x + font.big_width(s, sx) > self.w:
            return
        font.big(self.d, s, x, y, sx, c)
        if self.trace is not None:
            self.trace.append((s, x, y, sx))

    def centre(self, s, y, c=1):
        self.text(s, max(0, (self.w - font.W * len(s)) // 2), y, c)

    def big_block(self, fit, x, y, w):
        """The lines of `fit` (from fit_big) centred in a column w px wide from (x, y)."""
        sx, lines = fit
        for line in lines:
            self._big(line, x + (w - font.big_width(line, sx)) // 2, y, sx)
            y += font.BIG_H

    # -- status and result screens ------------------------------------------------------------

    def message(self, title, body=""):
        """A title bar and wrapped body text (starting, Wi-Fi, clock, requesting, waiting...)."""
        self._strip = None
        self._layout("message", title, body)

    def result(self, word, body=""):
        """How a sign-in ended: one big word (Signed in, Denied, Expired) and a line or two."""
        self._strip = None
        self._layout("result", word, body)

    def _layout(self, name, *args):
        """devauth.oled.layout.<name>(self, *args), with the module loaded for the call only."""
        from devauth.oled import layout

        try:
            return getattr(layout, name)(self, *args)
        finally:
            layout = None
            unload("devauth.oled.layout")

    # -- sign-in -----------------------------------------------------------------------------

    def sign_in(self, user_code, uri, uri_complete=None, expires_in=600):
        """Plan the views of a sign-in (drawn by view()); returns how many there are."""
        self.code = clip(user_code, MAX_USER_CODE)
        self.uri = clip(uri, MAX_URI)
        self.total = expires_in if isinstance(expires_in, int) and expires_in > 0 else 1
        self.views = ()
        gc.collect()
        try:
            self.views = self._layout("plan", uri_complete, uri)
        except MemoryError:  # no room to plan: the code alone, in small text
            c = self.cols
            small = [self.code[i : i + c] for i in range(0, len(self.code), c)]
            v = View("c", 3)
            v.lines = small
            self.views = [v]
        return len(self.views)

    def view(self, i, seconds_left, note=None):
        """Draw sign-in view `i` with the time left (or `note`, a short reason, instead)."""
        d = self.d
        d.fill(0)
        self._strip = None
        if not self.views:
            d.show()
            return
        v = self.views[i % len(self.views)]
        w, h = self.w, self.h
        sh = v.strip
        if v.kind == "t":
            y = 0
            if v.heading:
                self.text("Sign in at:" if self.cols >= 11 else "Go to:", 0, 0)
                y = PITCH
            for line in v.lines:
                self.text(line, 0, y)
                y += PITCH
            if v.code:
                self.big_block(v.code, 0, h - sh - 2 - font.BIG_H, w)
            self._strip = (0, h - sh, w, sh)
        elif v.kind == "c":
            fit = v.code
            if fit:
                bh = len(fit[1]) * font.BIG_H
                self.big_block(fit, 0, max(0, (h - sh - 1 - bh) // 2), w)
            else:  # too long for big glyphs here: small text
                y = 0
                for line in v.lines:
                    self.centre(line, y)
                    y += PITCH
            self._strip = (0, h - sh, w, sh)
        else:
            x = v.x
            side = self._draw_qr(v)
            if v.code:
                cx = x + side + 2
                cw = w - cx
                bh = len(v.code[1]) * font.BIG_H
                self.big_block(v.code, cx, max(0, (h - sh - 1 - bh) // 2), cw)
                self._strip = (cx, h - sh, cw, sh)
            elif sh:
                self._strip = (x + side + 1, h - sh, w - side - 1 - x, sh)
                if h - sh >= 2 * font.W:
                    self.text("Scan", x + side + 1 + (w - side - 1 - x - 4 * font.W) // 2, 0)
        self._draw_strip(seconds_left, note)
        d.show()

    def _draw_qr(self, v):
        """The QR of view `v` dark-on-light, quiet zone included; returns its side in px."""
        q = v.qr
        if q is None:
            return 0
        x, y, px, qz = v.x, v.y, v.px, v.qz
        n = q.size
        side = (n + 2 * qz) * px
        self.rect(x, y, side, side, 1)
        x += qz * px
        y += qz * px
        bm = q.bitmap
        stride = q.stride
        for r in range(n):
            o = r * stride
            c = 0
            while c < n:
                if (bm[o + (c >> 3)] >> (7 - (c & 7))) & 1:
                    s = c
                    c += 1
                    while c < n and (bm[o + (c >> 3)] >> (7 - (c & 7))) & 1:
                        c += 1
                    self.rect(x + s * px, y + r * px, (c - s) * px, px, 0)
                else:
                    c += 1
        return side

    def countdown(self, seconds_left, note=None):
        """Redraw only the countdown strip of the view shown, then show()."""
        if self._strip:
            self._draw_strip(seconds_left, note)
            self.d.show()

    def _draw_strip(self, left, note):
        s = self._strip
        if not s:
            return
        x, y, w, h = s
        self.rect(x, y, w, h, 0)
        if note and h >= font.W:  # the reason in place of the time, inverted
            note = clip(note, w // font.W)
            self.rect(x, y, w, h, 1)
            self.text(note, x + (w - font.W * len(note)) // 2, y, 0)
            return
        left = min(max(0, left), self.total)
        bw = w
        by = y
        bh = h
        if h >= font.W:
            t = clock_text(left)
            tw = font.W * len(t)
            if tw <= w:
                self.text(t, x + w - tw, y)
                bw = w - tw - 4
            by = y + 2
            bh = 4
        if bw >= 8:
            self.rect(x, by + bh // 2, bw, 1, 1)  # the track
            self.rect(x, by, (bw * left + self.total - 1) // self.total, bh, 1)
            if note:  # no room for the reason: the bar goes dashed while it lasts
                for i in range(x + 2, x + bw, 4):
                    self.rect(i, by, 2, bh, 0)
