"""`python -m devauth_tools.dev_as`: the same as `devauth dev-as`."""

import sys

from devauth_tools.dev_as.cli import main

sys.exit(main())
