"""Temporal reuse: do less work on video whose content did not change.

`frame` mode: a cheap change test (`change.py`) against the last frame that was inferred;
an unchanged frame reuses that frame's result, marked `reused`. `region` mode adds, on
frames that did change, line-level reuse (`regions.py`): lines whose box and crop match
a line of the stream's previous reading keep that reading; only new or changed lines are
read. `REUSE_MAX_AGE` forces a full refresh so drift cannot persist.
"""

from .change import ChangeTest, signature
from .gate import FrameGate
from .regions import LineMemory, ReuseRules, read_changed
from .reuse import MODES, ReusePolicy, StreamReuse, read_frames, staggered
from .stats import ReuseStats

__all__ = [
    "MODES",
    "ChangeTest",
    "FrameGate",
    "LineMemory",
    "ReusePolicy",
    "ReuseRules",
    "ReuseStats",
    "StreamReuse",
    "read_changed",
    "read_frames",
    "signature",
    "staggered",
]
