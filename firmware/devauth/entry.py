"""What firmware/main.py runs: arguments, display, UI, then devauth.app.run().

On the unix port: micropython main.py --config FILE [--board FILE] [--once] [--mirror] [--stats]
Exit status with --once: 0 signed in, 2 configuration error, 3 denied, 4 expired, 1 other failure.
"""

import sys


def _args(argv):
    opts = {
        "config": "/devauth.json",
        "board": None,
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
            sys.exit(2)
        i += 1
    return opts


def _display(opts):
    """The host board mirrors the OLED in the terminal; real boards come with the board glue."""
    if not opts["mirror"]:
        return None
    import json

    from devauth.termdisplay import TermDisplay

    size = {}
    if opts["board"]:
        with open(opts["board"]) as f:
            size = json.load(f).get("display", {})
    return TermDisplay(size.get("width", 128), size.get("height", 64))


def main(argv):
    try:
        return _main(argv)
    except MemoryError:  # even importing the library can fail on a too-small heap
        print("Out of memory: the firmware needs more free heap (precompile it with mpy-cross)")
        return 1


def _main(argv):
    from devauth import app

    opts = _args(argv)
    display = _display(opts)
    from devauth.ui import UI

    ui = UI(display, display.width, display.height) if display else UI()
    if display is not None:
        plain = ui.out

        def out(line):
            plain(line)
            display.console_wrote()

        ui.out = out
    if opts["stats"]:
        ui.stats = _stats
    app.DEBUG = opts["debug"]
    return app.run(opts["config"], display, once=opts["once"], ui=ui)


def _stats(transport):
    """One line for `make bench` and the tests: connections, handshakes, requests, free heap."""
    import gc

    gc.collect()
    print(
        "stats: connections=%d handshakes=%d requests=%d heap_free=%d"
        % (
            getattr(transport, "connections", -1),
            getattr(transport, "handshakes", -1),
            getattr(transport, "requests", -1),
            gc.mem_free() if hasattr(gc, "mem_free") else -1,
        )
    )
