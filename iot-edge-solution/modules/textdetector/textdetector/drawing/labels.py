"""What each box's label says and in which colour it is drawn."""

from __future__ import annotations

from ..results import Detections

BGR = tuple[int, int, int]
READ = (0, 200, 0)  # green: text read (and matched its pattern, where one applies)
UNMATCHED = (0, 140, 255)  # orange: a pattern applied and did not match; the raw text shown
UNREAD = (200, 160, 0)  # blue: text was read elsewhere in the frame, none in this box
REUSED = (0, 215, 255)  # yellow: the corner mark of a reused frame


def label(detections: Detections, index: int, show_scores: bool = True) -> tuple[str, BGR]:
    """The label of box `index` and its colour.

    The text is the constrained reading where a pattern matched, else the raw reading
    (else the reading); with ZONES the zone's name leads. Without read text the label is
    the detection score alone ("" with `show_scores` off).
    """
    d = detections
    if d.texts is None or d.text_scores is None:
        return (f"{float(d.scores[index]):.2f}" if show_scores else ""), READ
    text, colour = d.texts[index], READ
    if d.matched is not None and d.raw_texts is not None and not d.matched[index]:
        text, colour = d.raw_texts[index] or text, UNMATCHED
    if not text:
        return "", UNREAD
    zone = d.zones[index] if d.zones is not None else ""
    parts = [f"[{zone}]"] if zone else []
    parts.append(text)
    if show_scores:
        parts.append(f"{float(d.text_scores[index]):.2f}")
    return " ".join(parts), colour
