# The frozen 32-bit unix build (make mp32): the unix port's standard variant plus
# firmware/manifest.py, the manifest a board image freezes, with the terminal mirror.
include("$(PORT_DIR)/variants/standard/manifest.py")
include("../firmware/manifest.py", port=False, terminal=True)
