"""`python -m reviewdashboard [export-labels ...]`: the dashboard, or the label export."""

import sys

from .app import main

if __name__ == "__main__":
    sys.exit(main())
