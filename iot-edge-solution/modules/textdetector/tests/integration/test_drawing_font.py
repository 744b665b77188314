"""The label font the set-up installs (Debian fonts-wqy-microhei) draws CJK readings."""

from __future__ import annotations

import numpy as np

from testing.components import need
from textdetector.drawing import annotate, font, patches
from textdetector.drawing.labels import READ
from textdetector.results import Detections

WHITE = (255, 255, 255)


def test_cjk_characters_are_drawn_as_distinct_glyphs():
    """Two different Chinese characters draw differently; a Latin-only font draws both as
    the same missing-glyph box."""
    need(font.font_path() is not None, "no CJK font installed (Debian fonts-wqy-microhei)")
    one, other = patches.text_patch("中", 24, WHITE), patches.text_patch("文", 24, WHITE)
    assert one.shape[0] == other.shape[0]
    assert (one < 128).any() and (other < 128).any()
    assert one.shape != other.shape or not np.array_equal(one, other)


def test_a_chinese_reading_is_drawn_on_the_frame():
    need(font.font_path() is not None, "no CJK font installed (Debian fonts-wqy-microhei)")
    boxes = np.array([[[40, 60], [300, 60], [300, 90], [40, 90]]], np.float32)
    detections = Detections(boxes, np.array([0.9], np.float32), (240, 480))
    detections = detections.with_texts(("出口 EXIT",), np.array([0.93]))
    drawn = annotate(np.full((240, 480, 3), 255, np.uint8), detections)
    patch = patches.label_patch("出口 EXIT", "0.93", 12, READ)
    assert np.array_equal(drawn[60 - patch.shape[0] : 60, 40 : 40 + patch.shape[1]], patch)
