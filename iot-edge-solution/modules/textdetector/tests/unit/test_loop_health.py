"""The run loop keeps the source health: frames read from files, a failed source down,
sources replaced by a live CAMERA_PATH change forgotten, drops counted."""

from __future__ import annotations

from recording_sink import RecordingSink
from test_pipeline_loop import LiveChanger, StalledSource, write_video

from textdetector.config import Settings, SourceSettings
from textdetector.control.live import LiveSettings
from textdetector.pipeline import LoopOptions, process
from textdetector.sources.health import CONNECTED, DOWN, HealthRegistry
from textdetector.sources.reconnect import live_sources


def test_file_frames_counted_and_a_failed_source_is_down(detector, tmp_path):
    path = write_video(tmp_path / "ok.mp4", 6)
    health = HealthRegistry()
    stalled = StalledSource()
    health.register(stalled.source_id, live=True)
    sources = [stalled, *live_sources(SourceSettings(camera_path=str(path)), health)]
    summary = process(
        detector, sources, [RecordingSink()], options=LoopOptions(timeout_s=0.5), health=health
    )
    snap = health.snapshot()
    assert summary.per_source[str(path)] == 6 and snap[str(path)]["frames_read"] == 6
    assert snap[str(path)]["state"] == CONNECTED and snap[str(path)]["frames_dropped"] == 0
    assert snap["stalled"]["state"] == DOWN and "stalled" in snap["stalled"]["last_error"]


def test_live_camera_path_change_forgets_the_old_sources(detector, tmp_path):
    old = [write_video(tmp_path / f"a{i}.mp4", 6) for i in range(2)]
    new = write_video(tmp_path / "new.mp4", 4)
    health = HealthRegistry()
    settings = SourceSettings(camera_path="|".join(map(str, old)))
    live = LiveSettings(Settings(source=settings))
    changer = LiveChanger(live, 2, {"cameraPath": f"{new}|{old[0]}"})
    summary = process(
        detector,
        live_sources(settings, health),
        [changer],
        live=live,
        opener=lambda s: live_sources(s, health),
        health=health,
    )
    assert summary.per_source[str(new)] == 4
    assert health.ids() == {str(new), str(old[0])}  # old[1] is no longer read
    assert health.snapshot()[str(new)]["frames_read"] == 4
