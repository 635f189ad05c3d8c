"""The OLED and the console: ui (the observer), screen and layout, font, qr, display drivers.

`View` is here, at the bottom of the package, because two modules share it: devauth.oled.layout
plans a sign-in as a list of views, devauth.oled.screen draws them (and makes one itself when
there is no room to plan).
"""


class View:
    """One view of a sign-in, with everything needed to draw it.

    kind    "t": lines of the URI (under "Sign in at:" when `heading`), the code below them;
            "c": the code alone (`lines`: in small text when it does not fit big);
            "q": the QR symbol `qr` at (x, y), `px` pixels a module, a quiet zone of `qz`
            modules, the code beside it when there is room
    code    (sx, lines) of the user code in big glyphs (devauth.oled.layout.fit_big), or None
    strip   px height of the countdown strip (0: none)
    """

    def __init__(self, kind, strip, code=None, lines=(), heading=False, qr=None, at=(0, 0, 1, 0)):
        self.kind = kind
        self.strip = strip
        self.code = code
        self.lines = lines
        self.heading = heading
        self.qr = qr
        self.x, self.y, self.px, self.qz = at
