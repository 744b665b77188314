"""A real sink for tests: keeps every FrameResult it is given, in arrival order."""

from __future__ import annotations


class RecordingSink:
    def __init__(self):
        self.results = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, result):
        self.results.append(result)

    @property
    def seen(self) -> list[tuple[str, int]]:
        """(source_id, frame index) pairs in arrival order."""
        return [(r.source_id, r.index) for r in self.results]
