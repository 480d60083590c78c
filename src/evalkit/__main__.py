"""``python -m evalkit``: the same command line as ``evalkit``."""

import sys

from evalkit.run.cli import main

if __name__ == "__main__":
    sys.exit(main())
