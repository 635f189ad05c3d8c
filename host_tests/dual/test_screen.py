"""The OLED screens (devauth.oled.screen, .ui, .font, the terminal mirror): dual test.

On MicroPython the panel is the unix port's real `framebuf`; on CPython the plain-Python Canvas
(and the two are compared pixel for pixel on MicroPython). A Strict panel fails the test on any
drawing call that reaches outside the screen.
"""

import io

from canvas import Canvas
from devauth.errors import AccessDenied, ExpiredToken, NetworkError, TLSError, clip
from devauth.oauth.flow import DeviceFlow
from devauth.oled import font
from devauth.oled.layout import fit_big, words, wrap
from devauth.oled.screen import Screen, clock_text
from devauth.oled.termdisplay import TermDisplay
from devauth.oled.ui import HOLD_SECONDS, QR_SECONDS, TEXT_SECONDS, UI
from fakes import Config, FakeClock, FakeTransport
from framebuf import FrameBuffer  # CPython: the shim, which is the Canvas

SIZES = ((128, 64), (128, 32), (72, 40))
URI = "https://pf.example.com/as/user_authz.oauth2"
COMPLETE = URI + "?user_code=YYD6-CD4T"


class Panel(FrameBuffer):
    """A frame buffer with show(): counts frames."""

    def __init__(self, w=128, h=64):
        self.width = w
        self.height = h
        self.buffer = bytearray(w * ((h + 7) // 8))
        super().__init__(self.buffer, w, h, 0)  # 0: MONO_VLSB
        self.shows = 0

    def show(self):
        self.shows += 1


class Strict(Panel):
    """A Panel that fails on any drawing outside the screen (or a negative size)."""

    def _check(self, x, y, w, h):
        assert w >= 0 and h >= 0, "negative size %r" % ((x, y, w, h),)
        assert 0 <= x and x + w <= self.width, "off-screen x %r" % ((x, y, w, h),)
        assert 0 <= y and y + h <= self.height, "off-screen y %r" % ((x, y, w, h),)

    def fill_rect(self, x, y, w, h, c):
        self._check(x, y, w, h)
        super().fill_rect(x, y, w, h, c)

    def pixel(self, x, y, c=None):
        if c is None:
            return super().pixel(x, y)
        self._check(x, y, 1, 1)
        super().pixel(x, y, c)

    def hline(self, x, y, w, c):
        self._check(x, y, w, 1)
        super().hline(x, y, w, c)

    def vline(self, x, y, h, c):
        self._check(x, y, 1, h)
        super().vline(x, y, h, c)

    def text(self, s, x, y, c=1):
        self._check(x, y, 8 * len(s), 8)
        super().text(s, x, y, c)


class Code:
    def __init__(self, user_code="YYD6-CD4T", uri=URI, complete=COMPLETE, expires_in=600):
        self.user_code = user_code
        self.verification_uri = uri
        self.verification_uri_complete = complete
        self.expires_in = expires_in


def lit(p, x0=0, y0=0, x1=None, y1=None):
    """The lit pixels of a panel region, as a set of (x, y) (read from its MONO_VLSB buffer)."""
    x1 = p.width if x1 is None else x1
    y1 = p.height if y1 is None else y1
    w = p.width
    buf = p.buffer
    out = set()
    for page in range(y0 >> 3, (y1 + 7) >> 3):
        o = page * w
        for x in range(x0, x1):
            b = buf[o + x]
            while b:
                low = b & -b
                y = (page << 3) + len(bin(low)) - 3
                if y0 <= y < y1:
                    out.add((x, y))
                b ^= low
    return out


def ink_rows(p):
    """First and last lit row of a panel (None when blank), from its buffer."""
    w = p.width
    top = bottom = None
    for page in range((p.height + 7) >> 3):
        bits = 0
        for b in p.buffer[page * w : page * w + w]:
            bits |= b
        for r in range(8):
            if bits >> r & 1:
                if top is None:
                    top = page * 8 + r
                bottom = page * 8 + r
    return None if top is None else (top, bottom)


def covers(p, q):
    """Every lit pixel of q is lit on p."""
    for a, b in zip(q.buffer, p.buffer):
        if a & ~b & 0xFF:
            return False
    return True


def ink_box(p):
    pts = lit(p)
    if not pts:
        return None
    xs = [x for x, _ in pts]
    ys = [y for _, y in pts]
    return min(xs), min(ys), max(xs), max(ys)


def ui_on(w, h, out=None):
    lines = [] if out is None else out
    p = Strict(w, h)
    return UI(p, w, h, out=lines.append), p, lines


# -- text and glyphs -----------------------------------------------------------------------


def test_small_text_is_framebufs_font_pixel_for_pixel():
    if FrameBuffer is Canvas:  # CPython: the comparison needs the real framebuf
        return
    a, b = Panel(64, 24), Panel(64, 24)
    chars = "".join(chr(c) for c in range(32, 127))
    for i in range(0, len(chars), 7):
        for x, y in ((0, 0), (5, 9), (-5, -3), (58, 20)):
            a.fill(0)
            b.fill(0)
            a.text(chars[i : i + 7], x, y, 1)
            font.text(b, chars[i : i + 7], x, y, 1)
            assert a.buffer == b.buffer, (chars[i : i + 7], x, y)


def test_canvas_matches_framebuf_including_clipping():
    if FrameBuffer is Canvas:
        return
    import random

    random.seed(8628)
    for w, h in SIZES:
        a = Panel(w, h)
        b = Canvas(bytearray(w * h // 8), w, h)
        a.fill(0)
        b.fill(0)
        for _ in range(300):
            x = random.getrandbits(8) - 64
            y = random.getrandbits(7) - 32
            rw = random.getrandbits(7) - 8
            rh = random.getrandbits(6) - 8
            c = random.getrandbits(1)
            op = random.getrandbits(2)
            for d in (a, b):
                if op == 0:
                    d.fill_rect(x, y, rw, rh, c)
                elif op == 1:
                    d.pixel(x, y, c)
                elif op == 2:
                    d.hline(x, y, rw, c)
                else:
                    d.vline(x, y, rh, c)
        assert a.buffer == b._buf
        for x, y in ((0, 0), (w - 1, h - 1), (w, 0), (-1, 3), (3, h)):
            assert a.pixel(x, y) == b.pixel(x, y)


def test_big_capitals_and_digits_are_16_px_tall():
    p = Panel(128, 32)
    for ch in "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789":
        for sx in (1, 2):
            p.fill(0)
            w = font.big(p, ch, 3, 4, sx)
            x0, y0, x1, y1 = ink_box(p)
            assert y1 - y0 + 1 == font.CAP_H == 16, (ch, sx, y0, y1)
            assert y0 == 4 and x0 == 3 and x1 - x0 + 1 == w == font.big_width(ch, sx), ch


def test_big_strokes_are_2_or_3_px_thick():
    p = Panel(32, 24)
    p.fill(0)
    font.big(p, "E", 0, 0, 1)
    rows = [y for y in range(18) if p.pixel(3, y)]  # a column through the three bars of E
    runs = []
    for y in rows:
        if runs and runs[-1][1] == y - 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    assert [b - a + 1 for a, b in runs] == [2, 2, 2], runs


def test_clip_keeps_printable_ascii_and_bounds_length():
    assert clip("YYD6-CD4T", 32) == "YYD6-CD4T"
    assert clip("a\x00b\nc\u00e9\u2713", 32) == "a?b?c??"
    assert clip("x" * 1000, 40) == "x" * 40
    assert clip(None, 5) == "" and clip(1234, 3) == "123"
    assert clip(ValueError("bad \x7f")) == "bad ?"  # an exception: its message


def test_wrap_breaks_at_natural_places_and_loses_nothing():
    lines = wrap(COMPLETE, 16)
    assert "".join(lines) == COMPLETE
    assert all(len(line) <= 16 for line in lines)
    assert lines[0] == "https://pf." and lines[1] == "example.com/as/"
    for line in lines[:-1]:
        assert line[-1] in "/?.&=- " or len(line) == 16, line
    for cols in (5, 9, 16, 21):
        for text in (COMPLETE, "https://a/" + "b" * 50, "h://x//y", "x"):
            got = wrap(text, cols)
            assert "".join(got) == text and all(0 < len(g) <= cols for g in got)
            for i in range(len(got) - 1):  # never between the two slashes of //
                assert not (got[i].endswith("/") and got[i + 1].startswith("/")), got


def test_words_wraps_prose_at_spaces():
    assert words("Getting a code...", 9) == ["Getting a", "code..."]
    assert words("Starting...", 9) == ["Starting."]
    assert words("Joining devauth-lab", 9) == ["Joining", "devauth-", "lab"]
    assert words("TLS cert not trusted", 16) == ["TLS cert not", "trusted"]


def test_clock_text():
    assert clock_text(600) == "10:00" and clock_text(59) == "0:59" and clock_text(-3) == "0:00"
    assert clock_text(3600 * 23 + 59 * 60) == "23h59"


def test_codes_split_at_the_hyphen_when_they_need_two_lines():
    assert fit_big("YYD6-CD4T", 128, 18) == (2, ["YYD6-CD4T"])
    assert fit_big("YYD6-CD4T", 72, 36) == (2, ["YYD6-", "CD4T"])
    assert fit_big("YYD6-CD4T", 72, 18) == (1, ["YYD6-CD4T"])
    assert fit_big("YYD6-CD4T", 20, 64) is None


# -- readability: every size, codes of 8, 9 and 12, URIs up to 120 characters ----------------

CODES = ("WDJBMJHT", "YYD6-CD4T", "BCDF-GHJK-LM")


def uri_of(n):
    u = "https://login.example.com/as/user_authz.oauth2?client_id=device-" + "abcdefghij" * 12
    return u[:n]


def render_all_views(w, h, code, uri, complete):
    p = Strict(w, h)
    s = Screen(p, w, h)
    n = s.sign_in(code, uri, complete, 600)
    frames = []
    for i in range(n):
        s.trace = []
        s.view(i, 451)
        frames.append((s.views[i], s.trace, bytes(p.buffer), s._strip))
    return s, frames


def redraw(w, h, items):
    """A blank panel with only the traced texts drawn."""
    q = Panel(w, h)
    q.fill(0)
    for text, x, y, sx in items:
        if sx:
            font.big(q, text, x, y, sx)
        else:
            font.text(q, text, x, y)
    return q


def check_readable(w, h, code, uri, complete):
    s, frames = render_all_views(w, h, code, uri, complete)
    uri_text = ""
    code_seen = False
    for view, trace, buf, strip in frames:
        p = Panel(w, h)
        p.buffer[:] = buf
        # Every traced text is really on the panel, pixel for pixel.
        assert covers(p, redraw(w, h, trace)), (w, h, view.kind)
        big = [t for t in trace if t[3]]
        if big:
            if view.kind == "t":
                assert len(big) == 1 and big[0][0] == code
            assert "".join(t[0] for t in big) == code, (w, h, big)
            for item in big:  # each line of the code: glyphs at least 16 px tall
                top, bottom = ink_rows(redraw(w, h, [item]))
                assert bottom - top + 1 >= 16, (w, h, item)
            code_seen = True
        if view.kind == "t":
            top = strip[1] if strip else h
            small = [t for t in trace if not t[3] and t[2] + 8 <= top]
            if view.heading:  # the heading line
                assert small[0][0] in ("Sign in at:", "Go to:")
                small = small[1:]
            uri_text += "".join(t[0] for t in small)
    assert code_seen, (w, h, code)
    assert uri_text == uri, (w, h, uri_text)
    return s


def test_sign_in_is_readable_on_every_size():
    for w, h in SIZES:
        for code in CODES:
            for n in (20, 44, 65, 90, 120):
                uri = uri_of(n)
                check_readable(w, h, code, uri, uri + "?user_code=" + code)
                check_readable(w, h, code, uri, None)


def test_128x64_shows_uri_and_code_together_and_qr_beside_the_code():
    s = check_readable(128, 64, "YYD6-CD4T", URI, COMPLETE)
    kinds = [v.kind for v in s.views]
    assert kinds == ["q", "t"], s.views
    assert s.views[0].code == (2, ["YYD6-", "CD4T"])  # the code beside the QR, wide glyphs
    assert s.views[1].code == (2, ["YYD6-CD4T"])  # the code under the URI, one line


def test_small_panels_alternate_uri_code_and_qr():
    s = check_readable(72, 40, "YYD6-CD4T", URI, COMPLETE)
    assert [v.kind for v in s.views] == ["t", "t", "c", "q"], s.views
    s = check_readable(128, 32, "YYD6-CD4T", URI, COMPLETE)
    assert [v.kind for v in s.views] == ["t", "t", "c"]  # no QR fits 32 px for this URI
    s = check_readable(128, 32, "WDJB-MJHT", "https://id.example/d", None)
    assert s.views[0].kind == "q" and s.views[0].code is not None


# -- the QR ----------------------------------------------------------------------------------


def qr_modules(p, view, size):
    """Read the QR back from the panel: module (x, y) dark -> True."""
    x, y, px, qz = view.x, view.y, view.px, view.qz
    x += qz * px
    y += qz * px
    return [
        [not p.pixel(x + c * px + px // 2, y + r * px + px // 2) for c in range(size)]
        for r in range(size)
    ]


def check_qr(w, h, code, uri, complete, want):
    from devauth.oled.qr import capacity, encode

    p = Strict(w, h)
    s = Screen(p, w, h)
    n = s.sign_in(code, uri, complete, 600)
    qs = [i for i in range(n) if s.views[i].kind == "q"]
    if not qs:
        return None
    view = s.views[qs[0]]
    s.view(qs[0], 300)
    x, y, px, qz = view.x, view.y, view.px, view.qz
    size = view.qr.size
    side = (size + 2 * qz) * px
    assert 0 <= x and x + side <= w and 0 <= y and y + side <= h
    assert qz >= 2 and px == (2 if (size + 4) * 2 <= min(w, h) else 1)
    for i in range(side):  # the quiet zone is lit all round
        for a, b in ((x + i, y), (x + i, y + side - 1), (x, y + i), (x + side - 1, y + i)):
            assert p.pixel(a, b), (a, b)
    q = encode(want, ecc=view.qr.ecc, version=view.qr.version, mask=view.qr.mask)
    assert capacity(q.version, q.ecc) >= len(want)
    got = qr_modules(p, view, size)
    assert got == [[q.get(c, r) for c in range(size)] for r in range(size)]
    return view


def test_qr_holds_the_complete_uri_and_falls_back_to_the_plain_one():
    assert check_qr(128, 64, "YYD6-CD4T", URI, COMPLETE, COMPLETE).px == 1
    assert check_qr(128, 64, "YYD6-CD4T", URI, None, URI)
    assert check_qr(72, 40, "YYD6-CD4T", URI, COMPLETE, COMPLETE)
    # Too long for 40 px: the plain URI still fits.
    long_complete = URI + "?user_code=YYD6-CD4T&state=" + "x" * 40
    assert check_qr(72, 40, "YYD6-CD4T", URI, long_complete, URI)


def test_qr_uses_2_px_modules_when_they_fit():
    view = check_qr(128, 64, "WDJB-MJHT", "https://id.example/d", None, "https://id.example/d")
    assert view.px == 2


def test_no_qr_when_nothing_fits_or_the_uri_is_odd():
    for complete in (URI + "?q=" + "x" * 400, "https://ex.com/\u00e9", 42):
        p = Strict(72, 40)
        s = Screen(p, 72, 40)
        n = s.sign_in("ABCD", "https://ex.com/" + "y" * 300, complete, 60)
        assert "q" not in [v.kind for v in s.views]
        for i in range(n):
            s.view(i, 30)


# -- hostile or odd input ----------------------------------------------------------------------


def test_hostile_input_never_raises_nor_draws_off_screen():
    odd_codes = ("", "A", "\x1b[2J\x07", "\u00e9\u2713" * 20, "W" * 32, "x" * 500, None, 12)
    odd_uris = ("", "https://" + "w" * 600, "javascript:alert(1)\n\r", None, "\u202e" * 50)
    for w, h in SIZES:
        for code in odd_codes:
            for uri in odd_uris:
                p = Strict(w, h)
                s = Screen(p, w, h)
                n = s.sign_in(code, uri, uri, 86400)
                for i in range(n + 1):
                    s.view(i, 86400)
                    s.countdown(-5)
                    s.countdown(10**9, "x" * 300)
        ui, p, _ = ui_on(w, h)
        for exp in (0, -1, 1, 86400, None):
            c = Code("\x00" * 40, "h" * 700, None, exp or 1)
            ui.show_code(c)
            ui.tick(-1)
            ui.retrying("\u2713" * 300, 10**6)
        for title in ("\u00e9" * 50, "", "x" * 100):
            ui.status(title, title * 5)
            ui.wifi(title)
        ui.failed(TLSError("\u2713" * 300, "\x00" * 100))


# -- the UI: console contract, countdown, alternation ----------------------------------------


def test_console_lines_are_unchanged():
    ui, p, lines = ui_on(128, 64)
    ui.show_code(Code())
    ui.retrying("Network error: connect timed out", 10)
    ui.signed_in(None)
    ui.failed(AccessDenied("access_denied", message="token endpoint: access_denied"))
    ui.wifi("lab\u00e9")
    ui.clock()
    assert lines == [
        "To sign in, visit %s and enter code YYD6-CD4T" % URI,
        "Waiting 10 s: Network error: connect timed out",
        "Signed in.",
        "Denied: token endpoint: access_denied",
        "Connecting to Wi-Fi lab?",
        "Setting the clock",
    ]


def test_without_a_display_only_the_console_is_used():
    lines = []
    ui = UI(out=lines.append)
    ui.status("x")
    ui.show_code(Code())
    ui.tick(5)
    ui.toggle()
    ui.retrying("Server busy: x", 3)
    ui.failed(ExpiredToken("expired_token"))
    assert len(lines) == 3


def test_tick_redraws_only_the_countdown_once_a_second():
    ui, p, _ = ui_on(128, 64)
    ui.show_code(Code())
    strip = ui.screen._strip
    before = bytes(p.buffer)
    shows = p.shows
    ui.tick(600)  # the same second: nothing to do
    assert p.shows == shows
    ui.tick(599)
    assert p.shows == shows + 1
    x, y, w, h = strip
    changed = {(a, b) for a, b in lit(p) ^ lit_of(before, 128, 64)}
    assert changed and all(x <= a < x + w and y <= b < y + h for a, b in changed)
    ui.tick(598)
    assert p.shows == shows + 2


def lit_of(buf, w, h):
    q = Panel(w, h)
    q.buffer[:] = buf
    return lit(q)


def test_views_alternate_every_few_seconds_and_toggle_switches_at_once():
    ui, p, _ = ui_on(72, 40)
    ui.show_code(Code())
    kinds = [v.kind for v in ui.screen.views]
    assert kinds == ["t", "t", "c", "q"]
    seen = [ui._view]
    for left in range(599, 560, -1):
        ui.tick(left)
        if ui._view != seen[-1]:
            seen.append(ui._view)
            switched_at = left
    assert seen[:5] == [0, 1, 2, 3, 0], seen
    ui.tick(switched_at - 1)
    v = ui._view
    ui.toggle()
    assert ui._view == (v + 1) % 4
    for left in range(switched_at - 2, switched_at - HOLD_SECONDS, -1):
        ui.tick(left)
        assert ui._view == (v + 1) % 4  # held after a press
    assert TEXT_SECONDS < QR_SECONDS < HOLD_SECONDS


def test_a_press_while_drawing_is_served_after_the_frame():
    ui, p, _ = ui_on(72, 40)
    ui.show_code(Code())
    ui._busy = True  # as if a scheduled callback came in mid-frame
    ui.toggle()
    assert ui._view == 0 and ui._pending
    ui._busy = False
    ui.tick(599)
    assert ui._view == 1 and not ui._pending


def test_toggle_does_nothing_outside_a_sign_in_or_with_one_view():
    ui, p, _ = ui_on(128, 64)
    ui.toggle()
    ui.status("devauth", "Starting...")
    shows = p.shows
    ui.toggle()
    assert p.shows == shows
    ui.show_code(Code(complete=None, uri="https://a.example/\u00e9"))  # no QR of that
    assert len(ui.screen.views) == 1
    shows = p.shows
    ui.toggle()
    assert p.shows == shows
    ui.signed_in(None)
    shows = p.shows
    ui.toggle()
    assert p.shows == shows


def test_retry_while_polling_keeps_the_code_and_shows_the_reason():
    ui, p, _ = ui_on(128, 64)
    ui.show_code(Code())
    ui.toggle()  # the text view: the code under the URI
    ui.tick(500)
    ui.retrying("Network error: connect to pf.example.com timed out", 10)
    x, y, w, h = ui.screen._strip
    inverted = lit(p, x, y, x + w, y + h)
    assert len(inverted) > w * h // 2  # the strip is lit, the reason dark on it
    assert ui._code is not None
    ui.tick(495)
    assert len(lit(p, x, y, x + w, y + h)) > w * h // 2
    ui.tick(490)  # the back-off is over: the countdown again
    assert len(lit(p, x, y, x + w, y + h)) < w * h // 2


def test_request_phase_waiting_and_results_have_their_screens():
    for w, h in SIZES:
        ui, p, _ = ui_on(w, h)
        frames = []
        for name, args in (
            ("status", ("devauth", "Starting...")),
            ("wifi", ("devauth-lab",)),
            ("clock", ()),
            ("requesting", ()),
            ("retrying", ("Server busy: HTTP 503", 8)),
            ("signed_in", (None,)),
            ("failed", (AccessDenied("access_denied"),)),
            ("failed", (ExpiredToken("expired_token"),)),
            ("failed", (TLSError("server certificate rejected"),)),
            ("failed", (NetworkError("connect failed"),)),
        ):
            getattr(ui, name)(*args)
            frames.append(bytes(p.buffer))
            assert lit(p), (w, h, len(frames))
        assert len(set(frames)) == len(frames)  # every state looks different


def test_polling_redraws_every_second_without_moving_the_polls():
    pending = (400, {"error": "authorization_pending"})
    token = (200, {"access_token": "at", "token_type": "Bearer"})
    device = {
        "device_code": "dc",
        "user_code": "YYD6-CD4T",
        "verification_uri": URI,
        "verification_uri_complete": COMPLETE,
        "expires_in": 600,
        "interval": 5,
    }
    sent = []
    for with_display in (False, True):
        clock = FakeClock(0)
        t = FakeTransport([(200, device), pending, pending, pending, token], clock)
        p = Strict(128, 64)
        ui = UI(p if with_display else None, 128, 64, out=lambda line: None)
        flow = DeviceFlow(Config(), t, clock, ui)
        code = flow.request_code()
        ui.show_code(code)
        shows = p.shows
        flow.poll(code)
        sent.append([s[3] for s in t.sent])
        if with_display:
            assert p.shows - shows >= clock.now // 1000 - 1, (p.shows, clock.now)
    assert sent[0] == sent[1] == [0, 5000, 10000, 15000, 20000]


# -- the terminal mirror ---------------------------------------------------------------------


class VT:
    """Just enough of a terminal: text, newline, cursor up/down (ESC [ n A / B)."""

    def __init__(self):
        self.lines = [""]
        self.row = 0
        self.col = 0

    def feed(self, s):
        i = 0
        while i < len(s):
            ch = s[i]
            if ch == "\x1b":
                j = s.index("[", i) + 1
                k = j
                while s[k].isdigit():
                    k += 1
                n = int(s[j:k])
                self.row += -n if s[k] == "A" else n
                assert 0 <= self.row < len(self.lines), "cursor off the frame"
                i = k + 1
                continue
            if ch == "\n":
                self.row += 1
                self.col = 0
                if self.row == len(self.lines):
                    self.lines.append("")
            else:
                line = self.lines[self.row]
                line = line[: self.col] + ch + line[self.col + 1 :]
                self.lines[self.row] = line
                self.col += 1
            i += 1


def test_terminal_mirror_draws_half_blocks_and_updates_in_place():
    out = io.StringIO()
    d = TermDisplay(72, 40, out=out)
    ui = UI(d, 72, 40, out=lambda line: None)
    ui.show_code(Code())
    vt = VT()
    vt.feed(out.getvalue())
    assert len(vt.lines) == 20 + 2 + 1  # 40 px in 20 lines, two edges, the cursor line
    expect = list(d.rows())
    assert vt.lines[:-1] == expect
    for y in range(40):  # the half blocks are the pixels
        for x in range(72):
            ch = vt.lines[1 + y // 2][1 + x]
            top = ch in "\u2580\u2588"
            bottom = ch in "\u2584\u2588"
            assert d.pixel(x, y) == (top if y % 2 == 0 else bottom)
    out = d.out = io.StringIO()
    ui.tick(599)  # the countdown changes: the frame is drawn over the last one
    written = out.getvalue()
    assert written.startswith("\x1b[21A") and written.endswith("\n\x1b[1B")
    assert written.count("\n") == 20  # the pixel lines, no new line below
    vt.feed(written)
    assert len(vt.lines) == 23 and vt.row == 22
    assert vt.lines[:-1] == list(d.rows())
    d.console_wrote()  # a console line below: the next frame starts afresh
    out = d.out = io.StringIO()
    ui.tick(598)
    assert not out.getvalue().startswith("\x1b") and out.getvalue().count("\n") == 22


# -- memory ----------------------------------------------------------------------------------


def test_planning_code_and_encoder_are_unloaded_after_show_code():
    import sys

    ui, p, _ = ui_on(128, 64)
    ui.show_code(Code())
    assert ui.screen.views[0].kind == "q"
    assert "devauth.oled.layout" not in sys.modules and "devauth.oled.qr" not in sys.modules
    sym = ui.screen.views[0].qr
    assert type(sym).__name__ == "Symbol" and sym.bitmap  # the bitmap, not the encoder's code
    ui.signed_in(None)
    assert "devauth.oled.layout" not in sys.modules


class Starved(Strict):
    """A panel that runs out of memory on the n-th drawing call."""

    def __init__(self, w, h, n):
        super().__init__(w, h)
        self.n = n

    def fill_rect(self, x, y, w, h, c):
        self.n -= 1
        if self.n == 0:
            raise MemoryError("memory allocation failed")
        super().fill_rect(x, y, w, h, c)


def test_running_out_of_memory_while_drawing_never_stops_the_sign_in():
    for n in (1, 2, 5, 40, 200):
        p = Starved(128, 64, n)
        lines = []
        ui = UI(p, 128, 64, out=lines.append)
        ui.status("devauth", "Starting...")
        ui.show_code(Code())
        ui.tick(599)
        ui.toggle()
        ui.retrying("Network error: x", 5)
        ui.signed_in(None)
        assert lines[0].startswith("To sign in, visit ") and lines[-1] == "Signed in."


def test_no_room_to_plan_still_shows_the_code():
    import sys

    s = Screen(Strict(72, 40), 72, 40)

    class NoRoom:
        def __getattr__(self, name):
            raise MemoryError("memory allocation failed")

    sys.modules["devauth.oled.layout"] = NoRoom()  # as if loading the planning code failed
    try:
        assert s.sign_in("YYD6-CD4T", URI, COMPLETE, 600) == 1
    finally:
        sys.modules.pop("devauth.oled.layout", None)
    s.trace = []
    s.view(0, 300)
    assert [t[0] for t in s.trace if t[2] < 36] == ["YYD6-CD4T"]
