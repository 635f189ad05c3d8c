"""What firmware/main.py runs: arguments, board profile, display, UI, then devauth.app.run().

On a board (no arguments): /board.json and /devauth.json; devauth.board.glue brings the hardware,
Wi-Fi and clock up first (the boot sequence: boards/README.md). On the unix port:
    micropython main.py --config FILE [--board FILE] [--once] [--mirror] [--stats] [--debug]
A --board profile for real hardware goes through devauth.board.glue too (the tests do that with fake
`machine`/`network`/`ntptime` modules). Exit status with --once: 0 signed in, 2 configuration or
board profile error, 3 denied, 4 expired, 1 other failure.
"""

import sys

from devauth import unload

_HOSTS = ("linux", "darwin", "win32")  # the unix port's sys.platform values


def on_host():
    return sys.platform in _HOSTS


def _args(argv):
    opts = {
        "config": "/devauth.json",
        "board": None if on_host() else "/board.json",
        "once": False,
        "mirror": False,
        "stats": False,
        "debug": False,
    }
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--config", "--board") and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1]
            i += 1
        elif a in ("--once", "--mirror", "--stats", "--debug"):
            opts[a[2:]] = True
        else:
            print(
                "usage: main.py [--config FILE] [--board FILE] [--once] [--mirror] [--stats]"
                " [--debug]"
            )
            return None
        i += 1
    return opts


def main(argv):
    try:
        return _main(argv)
    except MemoryError:  # even importing the library can fail on a too-small heap
        print("Out of memory: the firmware needs more free heap (precompile it with mpy-cross)")
        return 1


def _main(argv):
    opts = _args(argv)
    if opts is None:
        return 2
    profile = None
    if opts["board"]:
        profile = _profile(opts["board"])
        if profile is None:
            return 2
    from devauth import app

    app.DEBUG = opts["debug"]

    def make_ui(display, width, height):
        return _ui(display, width, height, opts)

    if profile is not None and profile["chip"] != "unix":
        from devauth.board import glue as board

        return board.main(profile, opts, ui_factory=make_ui)
    display = _display(opts, profile)
    if display is None:
        ui = make_ui(None, 128, 64)
    else:
        ui = make_ui(display, display.width, display.height)
    return app.run(opts["config"], display, once=opts["once"], ui=ui)


def _profile(path):
    """The checked board profile, or None after printing its one-line error."""
    from devauth.board import profile

    try:
        return profile.load(path)
    except profile.BoardError as e:
        print("%s: %s" % (e.short, e))
        return None
    finally:  # needed only at start: off the heap before the sign-in's modules come in
        unload("devauth.board.profile", "devauth.oled.display")


def _display(opts, profile):
    """The host board mirrors the OLED in the terminal (--mirror); otherwise no display."""
    if not opts["mirror"]:
        return None
    spec = profile["display"] if profile else {"driver": "terminal", "width": 128, "height": 64}
    # The unix board's display is always the terminal: straight to it, without the drivers'
    # module on the heap (devauth.oled.display.open_display would return the same).
    from devauth.oled.termdisplay import TermDisplay

    return TermDisplay(spec.get("width", 128), spec.get("height", 64))


def _ui(display, width, height, opts):
    from devauth.oled.ui import UI

    ui = UI(display, width, height) if display is not None else UI()
    console_wrote = getattr(display, "console_wrote", None)
    if console_wrote is not None:  # the terminal mirror redraws below console lines
        plain = ui.out

        def out(line):
            plain(line)
            console_wrote()

        ui.out = out
    if opts["stats"]:
        # Observer.stats, the hook app.run calls when the sign-in ends (pyright: the default
        # takes *args)
        ui.stats = _stats  # pyright: ignore[reportAttributeAccessIssue]
    return ui


def _stats(transport):
    """One line for `make bench` and the tests: connections, handshakes, requests, free heap,
    and the devauth modules loaded at the end (what stays resident)."""
    import gc

    gc.collect()
    loaded = sorted(n[8:] for n in sys.modules if n.startswith("devauth."))
    print(
        "stats: connections=%d handshakes=%d requests=%d heap_free=%d modules=%s"
        % (
            transport.connections,  # both transports (net.http, net.http_urequests) count
            transport.handshakes,
            transport.requests,
            gc.mem_free() if hasattr(gc, "mem_free") else -1,
            ",".join(loaded),
        )
    )
