"""General text mixed into every training batch, so the recogniser keeps reading what it
read before (fine-tuning on one narrow domain alone teaches it that nothing else exists:
lower case, punctuation and other shapes stop being read at all).

The lines are rendered here, deterministically from the seed, with OpenCV's built-in
Hershey fonts (nothing to install): mixed-case words, digits and punctuation, dark on
light and light on dark, each labelled with the text drawn."""

from __future__ import annotations

import string

import cv2
import numpy as np

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
PUNCTUATION = ".,:;-/()%&'!?#+"


def word(rng: np.random.Generator) -> str:
    """A word-like token: lower, Title or UPPER letters, a number, or a sign-joined mix."""
    kind = rng.random()
    length = int(rng.integers(2, 9))
    if kind < 0.2:
        return "".join(rng.choice(list(string.digits), length))
    letters = "".join(rng.choice(list(string.ascii_lowercase), length))
    if kind < 0.5:
        return letters
    if kind < 0.75:
        return letters.title()
    if kind < 0.9:
        return letters.upper()
    return letters + str(rng.choice(list(PUNCTUATION))) + str(int(rng.integers(0, 100)))


def line_text(rng: np.random.Generator) -> str:
    words = [word(rng) for _ in range(int(rng.integers(1, 4)))]
    text = " ".join(words)
    if rng.random() < 0.3:
        text += str(rng.choice(list(".:,!?")))
    return text


def render_line(text: str, rng: np.random.Generator) -> np.ndarray:
    """`text` drawn on a plain panel with a margin, blurred a little."""
    font = int(FONTS[int(rng.integers(len(FONTS)))])
    scale = float(rng.uniform(0.7, 1.4))
    thickness = int(rng.integers(1, 3))
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    pad = int(rng.integers(3, 10))
    dark = rng.random() < 0.6
    ink = int(rng.integers(0, 80)) if dark else int(rng.integers(170, 256))
    paper = int(rng.integers(170, 256)) if dark else int(rng.integers(0, 80))
    tint = rng.integers(-20, 21, 3)
    image = np.full((h + base + 2 * pad, w + 2 * pad, 3), paper, np.int32) + tint
    image = np.clip(image, 0, 255).astype(np.uint8)
    colour = tuple(int(c) for c in np.clip(ink + tint, 0, 255))
    cv2.putText(image, text, (pad, pad + h), font, scale, colour, thickness, cv2.LINE_AA)
    return cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.2, 0.9)))


def general_lines(count: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """`count` rendered general-text line crops and their texts (same seed, same lines)."""
    rng = np.random.default_rng([seed, 1_000_003])
    texts = [line_text(rng) for _ in range(count)]
    return [render_line(text, rng) for text in texts], texts
