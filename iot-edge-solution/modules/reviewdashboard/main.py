"""Entry point of the reviewdashboard module: `python main.py` (configured by DASHBOARD_*)."""

import sys

from reviewdashboard.app import main

if __name__ == "__main__":
    sys.exit(main())
