"""pytest set-up: the firmware library and the CPython shims for MicroPython-only modules."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHIMS = os.path.join(ROOT, "tools", "devauth_tools", "shims")  # tls, framebuf for CPython
for p in (SHIMS, os.path.join(ROOT, "firmware"), HERE, os.path.join(HERE, "dual")):
    if p not in sys.path:
        sys.path.insert(0, p)
