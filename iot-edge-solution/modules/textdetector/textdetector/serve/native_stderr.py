"""Native libraries' own stderr lines routed into the log, off the raw console.

libjpeg prints "Corrupt JPEG data: ..." and libpng "libpng warning: ..." straight to file
descriptor 2 for every such image a client sends, around the service's log format and
its levels. The service points descriptor 2 at a pipe, keeps Python's own stderr (the
log) on a copy of the original descriptor, and logs each native line: decoder warnings
at DEBUG (shown with LOG_LEVEL=debug), anything else at WARNING.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import IO

log = logging.getLogger("textdetector.native")
DECODER_WARNING = re.compile(
    r"^(Corrupt JPEG data|Premature end of JPEG|Invalid SOS|"
    r"Warning:|libpng warning|\[ ?WARN)",
    re.IGNORECASE,
)
MAX_LINE = 500


def _relay(pipe: IO[bytes]) -> None:
    for raw in pipe:
        line = raw.decode("utf-8", "replace").rstrip()[:MAX_LINE]
        if line:
            level = logging.DEBUG if DECODER_WARNING.match(line) else logging.WARNING
            log.log(level, "native: %s", line)


def _python_stderr_on(fd: int) -> IO[str]:
    """sys.stderr, and every log handler writing to it, moved to descriptor `fd`."""
    stream = open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    old = sys.stderr
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(stream)
    sys.stderr = stream
    return stream


def route_native_stderr() -> bool:
    """Send native writes to descriptor 2 through the log; False where it cannot."""
    try:
        sys.stderr.flush()
        kept = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:
        return False
    _python_stderr_on(kept)
    os.dup2(write_end, 2)
    os.close(write_end)
    threading.Thread(
        target=_relay, args=(os.fdopen(read_end, "rb"),), daemon=True, name="native-stderr"
    ).start()
    return True
