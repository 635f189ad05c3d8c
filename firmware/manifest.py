# MicroPython manifest: devauth frozen into a firmware image (the bytecode stays in flash, off the
# GC heap). The 32-bit unix build in the tests freezes this same file (tools/unix_manifest.py).
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/devauth/firmware/manifest.py
#
# The port's own manifest comes first, as in the image the port builds by default (on the ESP32
# its _boot.py mounts the filesystem); include("firmware", port=False) from a manifest that
# already has it. termdisplay.py mirrors the OLED in a terminal: a host tool, frozen only with
# terminal=True (the unix build, for --mirror).
import os

options.defaults(port=True, terminal=False)

if options.port:
    include("$(PORT_DIR)/boards/manifest.py")

metadata(description="OAuth 2.0 device sign-in (RFC 8628) for boards with an OLED", version="0.1.0")

_files = []
for _dir, _, _names in os.walk("devauth"):
    for _name in _names:
        _path = os.path.relpath(os.path.join(_dir, _name), "devauth")
        if _name.endswith(".py") and (options.terminal or _name != "termdisplay.py"):
            _files.append(_path)
package("devauth", files=sorted(_files))

# The SSD1306 driver from micropython-lib (what `mip install ssd1306` installs on a board).
require("ssd1306")
