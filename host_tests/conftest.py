"""pytest set-up: the firmware library and the CPython shims for MicroPython-only modules."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (os.path.join(HERE, "shims"), os.path.join(ROOT, "firmware"), HERE):
    if p not in sys.path:
        sys.path.insert(0, p)
