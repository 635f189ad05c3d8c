"""pytest set-up: the firmware library and the CPython shims for MicroPython-only modules."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHIMS = os.path.join(ROOT, "tools", "devauth_tools", "shims")  # tls, framebuf for CPython
for p in (SHIMS, os.path.join(ROOT, "firmware"), HERE, os.path.join(HERE, "dual")):
    if p not in sys.path:
        sys.path.insert(0, p)

# Property tests (hypothesis): the same examples every run unless asked otherwise, so a verdict
# does not depend on the seed. "ci" (the default): derandomized, no example database, no
# deadline (a busy machine is slow, not wrong). "fuzz" (`make fuzz`): a fresh random search
# that keeps what it finds in .hypothesis/ and tries those first next time.
try:
    from hypothesis import settings
except ImportError:  # only the property tests need it; they import it themselves
    settings = None
if settings is not None:
    settings.register_profile("ci", derandomize=True, database=None, deadline=None)
    settings.register_profile("fuzz", derandomize=False, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
