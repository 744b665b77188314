"""Dashboard settings and start-up errors (no storage needed)."""

from __future__ import annotations

import pytest

from reviewdashboard import app
from reviewdashboard.config import ConfigError, load
from reviewdashboard.frames import parse_frame, valid_name
from reviewdashboard.thumbs import ThumbCache, thumbnail

CS = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://h/a;"


def test_defaults_and_overrides():
    s = load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS})
    assert (s.host, s.port, s.containers, s.page_size) == (
        "127.0.0.1",
        8090,
        ("annotated", "lowconf"),
        24,
    )
    assert "AccountKey" not in repr(s)
    s = load(
        {
            "DASHBOARD_STORAGE_CONNECTION_STRING": CS,
            "DASHBOARD_PORT": "9000",
            "DASHBOARD_CONTAINERS": "a-1, b-2,a-1",
            "DASHBOARD_LOG_LEVEL": "DEBUG",
        }
    )
    assert s.port == 9000 and s.containers == ("a-1", "b-2") and s.log_level == "debug"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({}, "DASHBOARD_STORAGE_CONNECTION_STRING"),
        ({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_PORT": "http"}, "DASHBOARD_PORT"),
        (
            {"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_CONTAINERS": "Bad!"},
            "DASHBOARD_CONTAINERS",
        ),
        (
            {"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_TIMEOUT": "0"},
            "DASHBOARD_TIMEOUT",
        ),
        (
            {"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_LOG_LEVEL": "loud"},
            "DASHBOARD_LOG_LEVEL",
        ),
    ],
)
def test_invalid_settings_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load(env)


def test_main_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.delenv("DASHBOARD_STORAGE_CONNECTION_STRING", raising=False)
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DASHBOARD_STORAGE_CONNECTION_STRING" in err
    monkeypatch.setenv("DASHBOARD_STORAGE_CONNECTION_STRING", "garbage-secret-123")
    assert app.main([]) == 2
    assert "garbage-secret-123" not in capsys.readouterr().err


def test_frame_names_and_metadata_parsing():
    assert valid_name("8200000000000_cam-1_00000001.jpg")
    assert not valid_name("../8200000000000_x.jpg") and not valid_name("x.jpg")
    frame = parse_frame(
        "annotated",
        "8200000000000_cam_00000001.jpg",
        {"Scores": "0.9,bad,0.7", "boxes": "1,2,3,4,5,6,7,8;1,2", "count": "x"},
    )
    assert frame.scores == [0.9, 0.7] and frame.boxes == [[1, 2, 3, 4, 5, 6, 7, 8]]
    assert frame.count == 0 and frame.min_score == 0.7
    assert parse_frame("annotated", "other.png", {}) is None


def test_thumbnails_and_cache():
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.zeros((400, 800, 3), np.uint8))
    small = thumbnail(data.tobytes(), 100)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (50, 100)
    with pytest.raises(ValueError):
        thumbnail(b"not an image", 100)
    cache = ThumbCache(capacity=2)
    for i in range(3):
        cache.put(("c", str(i)), b"%d" % i)
    assert cache.get(("c", "0")) is None and cache.get(("c", "2")) == b"2"
