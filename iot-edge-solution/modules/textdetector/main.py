"""Entry point of the text detector edge module: `python main.py --help`."""
import sys

from textdetector.cli import main  # OpenCV and FFmpeg logs: see textdetector/native_logs.py

if __name__ == "__main__":
    sys.exit(main())
