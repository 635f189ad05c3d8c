"""CPython stand-ins for MicroPython-only modules (`tls`, `framebuf`): put this folder on sys.path.

Host-side only: nothing here goes on a board.
"""

import os

PATH = os.path.dirname(os.path.abspath(__file__))
