"""PyInstaller entry point of the packaged ``fame`` executable (the same ``main`` as the console script)."""

from __future__ import annotations

import sys

from fame_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
