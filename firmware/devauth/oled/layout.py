"""The status and result screens, and the plan of a sign-in (which views, what goes where, the
QR code), with the text wrapping they need.

devauth.oled.screen loads this module for the occasion and unloads it after: the plan is a list
of devauth.oled.View, each with what it draws (its lines, the QR symbol), so none of this code
stays on the heap while polling. The functions draw with the Screen's public helpers (rect, text,
centre, big_block) and read its size, code and URI; they set nothing on it.
"""

import gc

from devauth import unload
from devauth.errors import clip
from devauth.oled import View, font
from devauth.oled.font import PITCH

TITLE_H = 10  # the title bar of message screens
MAX_QR = 300  # bytes of a URI put in a QR code
_BREAKS = "/?.&=- "  # wrap() breaks a line after these


class Symbol:
    """What is drawn of an encoded QR code (devauth.oled.qr.QRCode), without the encoder."""

    __slots__ = ("size", "stride", "bitmap", "version", "ecc", "mask")

    def __init__(self, q):
        self.size = q.size
        self.stride = q.stride
        self.bitmap = q.bitmap
        self.version = q.version
        self.ecc = q.ecc
        self.mask = q.mask


def plan(s, complete, uri):
    """The views of Screen `s` (code, URI and time already set on it), a list of View; encodes
    the QR."""
    text = _text_views(s)
    qr = _qr_view(s, complete, uri)
    if qr is None:
        return text
    if qr.code is not None:  # the code fits beside the QR: that view first
        return [qr] + text
    return text + [qr]


def wrap(text, cols):
    """Lines of at most `cols` characters, broken after / ? . & = - or a space in the second
    half of a line (never between the slashes of `//`), else after `cols` characters. The lines
    joined give back `text`."""
    cols = max(1, cols)
    lines = []
    while len(text) > cols:
        cut = cols
        for i in range(cols, cols // 2, -1):
            ch = text[i - 1]
            if ch in _BREAKS and not (ch == "/" and text[i] == "/"):
                cut = i
                break
        lines.append(text[:cut])
        text = text[cut:]
    if text:
        lines.append(text)
    return lines


def words(text, cols):
    """Prose in lines of at most `cols` characters, broken at spaces; a longer word is broken
    as wrap() does, after dropping its trailing dots if that makes it fit ("Starting...")."""
    cols = max(1, cols)
    lines = []
    line = ""
    for word in text.split(" "):
        if len(word) > cols and len(word.rstrip(".")) <= cols:
            word = word[:cols]
        if line and len(line) + 1 + len(word) <= cols:
            line += " " + word
            continue
        if line:
            lines.append(line)
        parts = wrap(word, cols) or [""]
        lines.extend(parts[:-1])
        line = parts[-1]
    if line:
        lines.append(line)
    return lines


def message(s, title, body=""):
    """Screen.message()."""
    s.d.fill(0)
    s.rect(0, 0, s.w, TITLE_H, 1)
    s.centre(clip(title, s.cols), 1, 0)
    y = TITLE_H + 2
    for line in _body(s, body, (s.h - y + 1) // PITCH):
        s.text(line, 0, y)
        y += PITCH
    s.d.show()


def _body(s, body, n):
    out = []
    for part in str(body).split("\n"):
        out.extend(words(clip(part, 120), s.cols) or [""])
    return out[: max(0, n)]


def result(s, word, body=""):
    """Screen.result()."""
    s.d.fill(0)
    word = clip(word, 20)
    fit = fit_big(word, s.w, s.h, WORD_FITS)
    top = len(fit[1]) * font.BIG_H if fit else font.W
    lines = _body(s, body, (s.h - top - 3 + 1) // PITCH)
    height = top + (3 + len(lines) * PITCH - 1 if lines else 0)
    y = max(0, (s.h - height) // 2)
    if fit:
        s.big_block(fit, 0, y, s.w)
    else:
        s.centre(word, y)
    y += top + 3
    for line in lines:
        s.centre(line, y)
        y += PITCH
    s.d.show()


def split(text, n):
    """`text` in `n` lines of about equal length, broken after a '-' or ' ' near each cut."""
    lines = []
    while n > 1 and text:
        ideal = (len(text) + n - 1) // n
        cut = ideal
        for d in (0, 1, -1, 2, -2):
            i = ideal + d
            if 0 < i < len(text) and text[i - 1] in "- ":
                cut = i
                break
        lines.append(text[:cut])
        text = text[cut:]
        n -= 1
    lines.append(text)
    return lines


CODE_FITS = ((2, 1), (2, 2), (1, 1), (1, 2), (2, 3), (1, 3))  # (sx, lines): a code splits well
WORD_FITS = ((2, 1), (1, 1), (2, 2), (1, 2))  # a word is better whole


def fit_big(text, w, h, order=CODE_FITS):
    """(sx, lines) to draw `text` in big glyphs within w x h px, the first of `order` that fits
    (wide or narrow glyphs, in 1 to 3 lines); None when it cannot be drawn 16 px tall there."""
    for sx, n in order:
        if n * font.BIG_H > h or n > len(text):
            continue
        lines = split(text, n)
        if max(font.big_width(line, sx) for line in lines) <= w:
            return sx, lines
    return None


def _text_views(s):
    """Text views: "t" (a page of the URI, the code under it when it fits) and "c"."""
    w, h = s.w, s.h
    lines = wrap(s.uri, s.cols)
    sh = 8 if h >= 56 else 3  # the countdown strip: time left and a bar, or just the bar
    one = fit_big(s.code, w, font.BIG_H) if s.code else None
    per = (h - sh - 2 - font.BIG_H - 1 + 1) // PITCH
    if one and per >= 3:  # the URI with the code under it
        return _pages(lines, per, one, sh)
    per = (h - sh - 1 + 1) // PITCH
    views = []
    views.extend(_pages(lines, per, None, sh))
    fit = fit_big(s.code, w, h - 4)
    small = [] if fit else wrap(s.code, s.cols)[: (h - 4) // PITCH]
    v = View("c", _strip_under(fit, w, h), fit)
    v.lines = small
    views.append(v)
    return views


def _pages(lines, per, code, sh):
    per = max(1, per)
    if len(lines) < per:
        v = View("t", sh, code)
        v.lines = lines
        v.heading = True
        return [v]
    views = []
    for i in range(0, len(lines), per):
        v = View("t", sh, code)
        v.lines = lines[i : i + per]
        views.append(v)
    return views


def _qr_view(s, complete, uri):
    """The "q" View of the best QR that fits, encoded; or None."""
    try:
        from devauth.oled import qr
    except (ImportError, MemoryError):
        return None
    best = _best_qr(s, complete, uri, qr)
    if best is None:
        return None
    _, data, ecc, ver, px, qz, side, beside = best
    gc.collect()
    try:
        sym = Symbol(qr.encode(data, ecc=ecc, version=ver))
    except (ValueError, MemoryError):  # QRError is a ValueError
        sym = None
    finally:
        qr = None
        unload("devauth.oled.qr")  # the symbol keeps no reference to the encoder's code
    if sym is None:
        return None
    if beside is not None:
        v = View("q", beside[1], beside[0])
    elif s.w - side - 1 >= 4 * font.W:  # time left beside the QR, at the bottom
        v = View("q", 8)
    else:
        v = View("q", 0)
        v.x = (s.w - side) // 2
    v.qr = sym
    v.y = (s.h - side) // 2
    v.px = px
    v.qz = qz
    return v


def _best_qr(s, complete, uri, qr):
    """(score, data, ecc, version, px, qz, side, beside) of the best QR that fits, or None.

    Best: of the complete URI (it carries the code) before the plain one, then 2 px per
    module before 1, the code beside it, level M before L, a wider quiet zone."""
    best = None
    for data in (complete, uri):
        if not isinstance(data, str) or not data or len(data) > MAX_QR:
            continue
        if clip(data, MAX_QR) != data:
            continue
        for ecc in ("M", "L"):
            ver = 1
            while ver <= 40 and qr.capacity(ver, ecc) < len(data):
                ver += 1
            size = 17 + 4 * ver
            for px in (2, 1):
                for qz in (4, 3, 2):
                    side = (size + 2 * qz) * px
                    if side > s.h or side > s.w:
                        continue
                    beside = _beside(s, side)
                    score = (px, beside is not None, ecc == "M", qz)
                    if best is None or score > best[0]:
                        best = (score, data, ecc, ver, px, qz, side, beside)
        if best is not None:
            return best
    return None


def _beside(s, side):
    """(code fit, strip h) for the code right of a QR `side` px wide, or None."""
    w = s.w - side - 2
    if w < 16 or not s.code:
        return None
    fit = fit_big(s.code, w, s.h - 4)
    return None if fit is None else (fit, _strip_under(fit, w, s.h))


def _strip_under(fit, w, h):
    """The countdown strip under a big-glyph block: 8 px (time and bar) when there is room."""
    used = len(fit[1]) * font.BIG_H if fit else h
    return 8 if h - used >= 10 and w >= 40 else 3
