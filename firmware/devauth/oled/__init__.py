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
    strip   px height of the countdown strip (0: none)
    code    (sx, lines) of the user code in big glyphs (devauth.oled.layout.fit_big), or None
    The other fields keep the class's defaults unless the view sets them (a class attribute
    costs less heap on a board than an argument of __init__).
    """

    lines: "list | tuple" = ()
    heading = False
    qr: "object" = None
    x = y = qz = 0
    px = 1

    def __init__(self, kind, strip, code=None):
        self.kind = kind
        self.strip = strip
        self.code = code
