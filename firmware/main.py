"""Board entry point: sign in per /devauth.json, showing progress on the OLED.

On the unix port: micropython main.py --config FILE [--board FILE] [--once] [--mirror] [--stats]
    [--columns N] [--lines N] (the terminal's size for the mirrored OLED)
Exit status with --once: 0 signed in, 2 configuration error, 3 denied, 4 expired, 1 other failure.
The work is in devauth.entry, so that it is precompiled with the rest of the library: this file
stays source (MicroPython runs main.py) and is compiled on the device, so it is kept tiny.
"""

import sys

try:
    from devauth.entry import main, on_host
except MemoryError:
    print("Out of memory: the firmware needs more free heap (precompile it with mpy-cross)")
    sys.exit(1)

if __name__ == "__main__":
    code = main(sys.argv[1:])
    # On a board, SystemExit from main.py would soft-reset into main.py again: fall to the REPL.
    if on_host():
        sys.exit(code)
