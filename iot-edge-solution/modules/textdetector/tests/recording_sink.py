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


class SwitchingSink(RecordingSink):
    """Records results and, once the first one arrived, proposes `{key: value}` to the
    live settings as the module twin would (a live model switch mid-run)."""

    def __init__(self, live, key: str, value: str):
        super().__init__()
        self.live, self.key, self.value = live, key, value

    def write(self, result):
        super().write(result)
        if len(self.results) == 1:
            self.live.update({self.key: self.value})
