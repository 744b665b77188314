"""The archive sink against a real Azurite blob service: uploads, metadata, outages."""

from __future__ import annotations

import itertools
import threading

import azurite_harness
import cv2
import numpy as np
import pytest
from azure.storage.blob import BlobServiceClient

from textdetector.config import ArchiveSettings, load, load_settings
from textdetector.errors import ConfigError
from textdetector.results import Detections, FrameResult
from textdetector.sinks import build_sinks
from textdetector.sinks.archive import ArchiveSink


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        yield server


def settings(server, **extra) -> ArchiveSettings:
    env = {
        "ARCHIVE_CONNECTION_STRING": server.connection_string,
        "ARCHIVE_INTERVAL": "0",
        "ARCHIVE_RETRY_BACKOFF": "0.05",
        "ARCHIVE_TIMEOUT": "2",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return load(ArchiveSettings, env)


def frame(scores, index=0, timestamp=0.0, source="cam-1") -> FrameResult:
    image = np.full((180, 320, 3), 235, np.uint8)
    cv2.putText(image, f"FRAME {index}", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 2)
    n = len(scores)
    boxes = np.array([[[15, 60], [250, 60], [250, 115], [15, 115]]] * n, np.float32)
    dets = Detections(boxes.reshape(n, 4, 2), np.array(scores, np.float32), (180, 320))
    return FrameResult(index, timestamp, source, dets, image=image)


def blobs(server, container):
    service = BlobServiceClient.from_connection_string(server.connection_string)
    client = service.get_container_client(container)
    if not client.exists():
        return service, []
    return service, list(client.list_blobs(include=["metadata"]))


def ticking(start=1_800_000_000.0):
    counter = itertools.count()
    return lambda: start + next(counter) * 0.01


def test_routes_uploads_and_metadata(azurite):
    s = settings(azurite, ARCHIVE_ANNOTATED_CONTAINER="ann-a", ARCHIVE_LOWCONF_CONTAINER="low-a")
    with ArchiveSink(s, "det.onnx", clock=ticking()) as sink:
        sink.write(frame([0.95, 0.9], index=1))  # confident
        sink.write(frame([0.95, 0.7], index=2))  # mixed -> lowconf
        sink.write(frame([], index=3))  # nothing found
        sink.write(frame([0.93], index=4))  # confident, newer
    stats = sink.stats()
    assert stats.uploaded == 3 and stats.failed == stats.dropped == 0
    service, annotated = blobs(azurite, "ann-a")
    _, lowconf = blobs(azurite, "low-a")
    assert [b.metadata["frame"] for b in annotated] == ["4", "1"]  # newest first
    assert [b.metadata["frame"] for b in lowconf] == ["2"]
    meta = annotated[1].metadata
    assert meta["count"] == "2" and meta["scores"] == "0.950,0.900"
    assert meta["source"] == "cam-1" and meta["model"] == "det.onnx"
    assert meta["timestamp"].startswith("2027-01-15T") and meta["route"] == "annotated"
    assert annotated[1].content_settings.content_type == "image/jpeg"

    original = frame([0.95, 0.9], index=1).image
    data = service.get_blob_client("ann-a", annotated[1].name).download_blob().readall()
    drawn = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    data = service.get_blob_client("low-a", lowconf[0].name).download_blob().readall()
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert drawn.shape == raw.shape == original.shape
    assert cv2.PSNR(raw, frame([0.9], index=2).image) > 30  # lowconf: raw pixels
    assert int(drawn[85, 250, 1]) - int(drawn[85, 250, 2]) > 100  # green box edge drawn


def test_sampling_keeps_one_frame_per_interval_per_container(azurite):
    s = settings(
        azurite,
        ARCHIVE_INTERVAL="1",
        ARCHIVE_ANNOTATED_CONTAINER="ann-s",
        ARCHIVE_LOWCONF_CONTAINER="low-s",
    )
    with ArchiveSink(s, "m", clock=ticking()) as sink:
        for i, t in enumerate([0.0, 0.4, 0.9, 1.0, 1.5, 2.2]):
            sink.write(frame([0.9], index=i, timestamp=t))
        sink.write(frame([0.7], index=10, timestamp=0.5))  # other container: own interval
        sink.write(frame([0.9], index=11, timestamp=0.1))  # a looped file restarts its clock
    _, annotated = blobs(azurite, "ann-s")
    _, lowconf = blobs(azurite, "low-s")
    assert sorted(int(b.metadata["frame"]) for b in annotated) == [0, 3, 5, 11]
    assert [b.metadata["frame"] for b in lowconf] == ["10"]
    assert sink.sampled_out == 3


def test_containers_are_created_once(azurite):
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    creates = []
    real = service.get_container_client

    def spying(name):  # the real client, with create_container calls recorded
        client = real(name)
        original = client.create_container

        def create(*args, **kwargs):
            creates.append(name)
            return original(*args, **kwargs)

        client.create_container = create
        return client

    service.get_container_client = spying
    s = settings(azurite, ARCHIVE_ANNOTATED_CONTAINER="ann-c", ARCHIVE_LOWCONF_CONTAINER="low-c")
    with ArchiveSink(s, "m", service=service, clock=ticking()) as sink:
        for i in range(6):
            sink.write(frame([0.9] if i % 2 else [0.7], index=i))
    assert sink.stats().uploaded == 6
    assert sorted(creates) == ["ann-c", "low-c"]


def test_storage_down_then_up_delivers_without_blocking(azurite):
    s = settings(
        azurite,
        ARCHIVE_QUEUE_SIZE="2",
        ARCHIVE_RETRIES="60",
        ARCHIVE_ANNOTATED_CONTAINER="ann-d",
        ARCHIVE_LOWCONF_CONTAINER="low-d",
    )
    azurite.stop()
    try:
        with ArchiveSink(s, "m", clock=ticking(), flush_timeout_s=30) as sink:
            for i in range(10):  # storage down: write() returns, surplus frames are counted
                sink.write(frame([0.9], index=i))
            during = sink.stats()
            assert during.uploaded == 0 and during.dropped >= 7
            azurite.start()
            done = threading.Event()
            for _ in range(200):  # retries with backoff deliver once storage is back
                if sink.stats().uploaded >= 1 or done.wait(0.1):
                    break
    finally:
        if azurite.process is None:
            azurite.start()
    stats = sink.stats()
    assert stats.uploaded >= 1 and stats.retried >= 1
    assert stats.uploaded + stats.dropped + stats.failed == 10
    _, annotated = blobs(azurite, "ann-d")
    assert len(annotated) == stats.uploaded


def test_storage_that_stays_down_drops_and_counts(azurite):
    s = settings(azurite, ARCHIVE_QUEUE_SIZE="4", ARCHIVE_RETRIES="2", ARCHIVE_RETRY_BACKOFF="0.01")
    azurite.stop()
    try:
        with ArchiveSink(s, "m", clock=ticking()) as sink:
            for i in range(3):
                sink.write(frame([0.9], index=i))
    finally:
        azurite.start()
    stats = sink.stats()
    assert stats.uploaded == 0 and stats.failed + stats.dropped == 3 and stats.failed >= 1


def test_bad_connection_string_is_one_readable_error_without_the_secret():
    s = load(ArchiveSettings, {"ARCHIVE_CONNECTION_STRING": "not-a-connection-string-xyz"})
    with pytest.raises(ConfigError) as err:
        ArchiveSink(s, "m").__enter__()
    assert "ARCHIVE_CONNECTION_STRING" in str(err.value)
    assert "xyz" not in str(err.value)


def test_pipeline_archives_real_detections_from_the_demo_video(azurite, demo_text_clip):
    from textdetector import pipeline

    env = {
        "ARCHIVE_CONNECTION_STRING": azurite.connection_string,
        "ARCHIVE_INTERVAL": "0",
        "ARCHIVE_ANNOTATED_CONTAINER": "ann-p",
        "ARCHIVE_LOWCONF_CONTAINER": "low-p",
        "CAMERA_PATH": str(demo_text_clip(2)),
        "QUIET": "true",
    }
    run_settings = load_settings(env)
    assert any(isinstance(sink, ArchiveSink) for sink in build_sinks(run_settings))
    summary = pipeline.run(run_settings)
    assert summary.frames == 2
    _, annotated = blobs(azurite, "ann-p")
    _, lowconf = blobs(azurite, "low-p")
    archived = annotated + lowconf
    assert archived, "the demo video has text: some frames must be archived"
    for blob in archived:
        assert blob.metadata["model"] == "PP-OCRv6_det_small.onnx"  # DET_MODEL's default
        assert int(blob.metadata["count"]) > 0
        assert blob.metadata["width"] == "1280" and blob.metadata["height"] == "720"
