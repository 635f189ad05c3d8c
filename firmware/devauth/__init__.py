"""devauth: OAuth 2.0 Device Authorization Grant (RFC 8628) sign-in for MicroPython boards.

The package by concern (dependencies point one way, down this list):
    errors, clock           what everything shares
    net/                    HTTPS client, the urequests transport, URLs and forms
    oauth/                  RFC 8628 flow, client authentication, session, tokens, discovery
    jose/                   JWT client assertions and the crypto under them, PEM/DER
    providers               provider presets and extra parameters (loaded by config when used)
    config                  the device config, checked
    oled/                   console and screen observer, screens, layout, font, QR, drivers
    app, board/, entry      glue: config -> transport -> session; the board; the entry point
"""

import gc
import sys

VERSION = "0.1.0"


def unload(*names):
    """Drop modules (full names, e.g. "devauth.oled.qr") from memory: out of sys.modules and off
    their package, then a collection. A module is imported again when next needed; code used
    only at start or for one screen is unloaded so that its bytecode leaves the heap."""
    for name in names:
        sys.modules.pop(name, None)
        pkg, _, attr = name.rpartition(".")
        parent = sys.modules.get(pkg)
        if parent is not None:
            try:
                delattr(parent, attr)
            except (AttributeError, KeyError):  # not bound there (MicroPython: KeyError)
                pass
    gc.collect()
