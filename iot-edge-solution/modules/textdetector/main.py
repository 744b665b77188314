"""Entry point of the text detector edge module: `python main.py --help`.

The same command is installed as the `textdetector` console script (pyproject.toml).
"""

import sys

from textdetector.cli import main

if __name__ == "__main__":
    sys.exit(main())
