"""Live settings: values a running pipeline picks up between frames without a restart.

The module twin (or anything else) proposes changes with `update`; each value is
validated with the same parser as its environment variable and either applied or
rejected with a message. The pipeline calls `poll` between frames to take what changed.
`zones` (the ZONES document, as an object or its JSON/YAML text) is parsed like the
file; the pipeline binds it to the model and may still refuse it (`restore_zones`).
`recModelDir` switches the recogniser to a fine-tuned folder from `train-rec`, and
`detModelDir` the detector to one from `train-det`, only a folder of that kind whose
gates passed for exactly its model file (`training/gate_record.py`); "" goes back to
the MODEL_SET's recogniser or the DET_MODEL's detector.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import (
    DetectorSettings,
    EngineSettings,
    RecognizerSettings,
    Settings,
    SourceSettings,
)
from ..errors import KitError
from ..models import folder_format
from ..recognizer.zones import ZoneError, ZoneSet, parse_zones

ZONES_KEY = "zones"  # the ZONES document (an object, or its JSON/YAML text)


@dataclass(frozen=True)
class LiveUpdate:
    """What changed since the last poll; None where nothing did."""

    detector: DetectorSettings | None = None
    source: SourceSettings | None = None
    zones: ZoneSet | None = None
    recognizer: RecognizerSettings | None = None
    engine: EngineSettings | None = None


# Live key -> (settings group, field). The group's field metadata gives the parser.
LIVE_KEYS: dict[str, tuple[str, str]] = {
    "detThresh": ("detector", "det_thresh"),
    "boxThresh": ("detector", "box_thresh"),
    "limitSideLen": ("detector", "limit_side_len"),
    "cameraPath": ("source", "camera_path"),
    "sendInterval": ("iothub", "send_interval"),
    "recModelDir": ("recognizer", "rec_model_dir"),
    "detModelDir": ("engine", "det_model_dir"),
}
FOLDER_KEYS = {"recModelDir": "textdetector-rec", "detModelDir": "textdetector-det"}


class LiveSettings:
    """Thread-safe holder of the settings that may change while running."""

    def __init__(self, settings: Settings, model: str = "", backend: str = "") -> None:
        self.model = model or settings.engine.model_label
        self.model_path = settings.engine.model_path
        self.backend = backend
        self._lock = threading.Lock()
        self._groups: dict[str, Any] = {
            "detector": settings.detector,
            "source": settings.source,
            "iothub": getattr(settings, "iothub", None),
            "engine": settings.engine,
        }
        self._changed: set[str] = set()
        recognizer = getattr(settings, "recognizer", None)
        self.reads_text = bool(recognizer is not None and recognizer.read_text)
        self._groups["recognizer"] = recognizer if self.reads_text else None
        self.zones: ZoneSet | None = recognizer.zones if recognizer is not None else None
        self.rejected: dict[str, str] = {}

    def get(self, key: str) -> Any:
        group, name = LIVE_KEYS[key]
        with self._lock:
            return self._value(group, name)

    def snapshot(self) -> dict[str, Any]:
        """Current value of every live key that has a group in this run."""
        with self._lock:
            return {
                key: self._value(g, name)
                for key, (g, name) in LIVE_KEYS.items()
                if self._groups[g] is not None
            }

    def _value(self, group: str, name: str) -> Any:
        """A setting's value; an unset detection value is the one its policy uses."""
        value = getattr(self._groups[group], name)
        if group in ("recognizer", "engine"):  # a folder as text ("" = the shipped model)
            return "" if value is None else str(value)
        if value is None and group == "detector":
            from ..detector.policy import OVERRIDES

            value = getattr(self._groups[group].policy(self.model_path), OVERRIDES[name])
        return value

    def update(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Validate and apply `values`; returns {key: reason} for each one rejected."""
        rejected: dict[str, str] = {}
        with self._lock:
            for key, raw in values.items():
                reason = self._apply(key, raw)
                if reason:
                    rejected[key] = reason
                    self.rejected[key] = reason
                else:
                    self.rejected.pop(key, None)
        return rejected

    def reject(self, key: str, reason: str) -> None:
        """Record that an applied value failed later (e.g. a source that cannot open)."""
        with self._lock:
            self.rejected[key] = reason

    def restore(self, key: str, settings: Any, reason: str) -> None:
        """The pipeline could not apply `key`'s new value: its group goes back to
        `settings` (as the pipeline still runs it), and the twin hears why."""
        group, _ = LIVE_KEYS[key]
        with self._lock:
            self._groups[group] = settings
            self.rejected[key] = reason

    def poll(self) -> LiveUpdate:
        """Take the detector and source changes made since the last poll."""
        with self._lock:
            changed, self._changed = self._changed, set()
            return LiveUpdate(
                self._groups["detector"] if "detector" in changed else None,
                self._groups["source"] if "source" in changed else None,
                self.zones if ZONES_KEY in changed else None,
                self._groups["recognizer"] if "recognizer" in changed else None,
                self._groups["engine"] if "engine" in changed else None,
            )

    def _apply(self, key: str, raw: Any) -> str:
        if key == ZONES_KEY:
            return self._apply_zones(raw)
        if key not in LIVE_KEYS:
            return f"unknown setting; live settings are {', '.join([*LIVE_KEYS, ZONES_KEY])}"
        group, name = LIVE_KEYS[key]
        current = self._groups[group]
        if current is None:
            return "not used in this run"
        if isinstance(raw, (dict, list, bool)) or raw is None:
            return "expected a single number or string"
        field = next(f for f in dataclasses.fields(current) if f.name == name)
        try:
            value = self._parse(key, field.metadata["parse"], str(raw))
            if value != getattr(current, name):
                if group == "engine":  # the model file follows the folder
                    self._groups[group] = current.with_det_dir(value)
                else:
                    self._groups[group] = dataclasses.replace(current, **{name: value})
                self._changed.add(group)
        except (ValueError, KitError) as exc:
            return str(exc)
        return ""

    @staticmethod
    def _parse(key: str, parse: Any, text: str) -> Any:
        """A live value through its variable's parser; a recModelDir or detModelDir must
        be a folder of its kind that passed its gates ("" is the shipped model)."""
        if key not in FOLDER_KEYS:
            return parse(text)
        if not text.strip():
            return None
        from ..training.gate_record import refusal

        folder = parse(text)
        reason = refusal(folder)
        if not reason and folder_format(folder) != FOLDER_KEYS[key]:
            command = "train-det" if key == "detModelDir" else "train-rec"
            reason = f"{folder}: not a {command} folder (its manifest.json says otherwise)"
        if reason:
            raise ValueError(reason)
        return folder

    def _apply_zones(self, raw: Any) -> str:
        """A new ZONES document, parsed and checked as the ZONES file is; the pipeline
        binds it to the model at the next poll (and may still reject it there)."""
        if not self.reads_text:
            return "not used in this run (READ_TEXT=false)"
        try:
            zones = parse_zones(raw)
        except ZoneError as exc:
            return str(exc)
        if zones != self.zones:
            self.zones = zones
            self._changed.add(ZONES_KEY)
        return ""

    def restore_zones(self, zones: ZoneSet | None, reason: str) -> None:
        """The pipeline could not use the new zones: the old ones stay, the twin hears why."""
        with self._lock:
            self.zones = zones
            self.rejected[ZONES_KEY] = reason
