"""Entry point of the text detector edge module: `python main.py --help`."""
import os
import sys

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # keep OpenCV's own warnings off the console

from textdetector.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
