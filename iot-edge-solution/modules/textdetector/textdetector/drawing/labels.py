"""What each box's label says and in which colour it is drawn."""

from __future__ import annotations

from ..results import Detections

BGR = tuple[int, int, int]
READ = (0, 200, 0)  # green: text read (and matched its pattern, where one applies)
UNMATCHED = (0, 140, 255)  # orange: a pattern applied and did not match; the raw text shown
UNREAD = (200, 160, 0)  # blue: text was read elsewhere in the frame, none in this box
REUSED = (0, 215, 255)  # yellow: the corner mark of a reused frame


def label(detections: Detections, index: int, show_scores: bool = True) -> tuple[str, BGR]:
    """The label of box `index` and its colour (`parts` joined by a space)."""
    text, score, colour = parts(detections, index, show_scores)
    return " ".join(p for p in (text, score) if p), colour


def parts(detections: Detections, index: int, show_scores: bool = True) -> tuple[str, str, BGR]:
    """The label of box `index` as (text, score, colour); drawn apart, the text's patch
    stays cached while the score changes from frame to frame.

    The text is the constrained reading where a pattern matched, else the raw reading
    (else the reading); with ZONES the zone's name leads. Without read text the label is
    the detection score alone ("" with `show_scores` off).
    """
    d = detections
    if d.texts is None or d.text_scores is None:
        return "", (f"{float(d.scores[index]):.2f}" if show_scores else ""), READ
    text, colour = d.texts[index], READ
    if d.matched is not None and d.raw_texts is not None and not d.matched[index]:
        text, colour = d.raw_texts[index] or text, UNMATCHED
    if not text:
        return "", "", UNREAD
    zone = d.zones[index] if d.zones is not None else ""
    if zone:
        text = f"[{zone}] {text}"
    score = f"{float(d.text_scores[index]):.2f}" if show_scores else ""
    return text, score, colour
