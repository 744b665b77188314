"""Configuration read once into validated, typed objects.

Every option is declared once, as a dataclass field carrying its environment variable,
its help text and its parser. The environment (empty values count as unset), then
command-line flags, override the defaults; an invalid value raises `ConfigError`
naming the variable and what it accepts.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from edgekit_common.options import (  # the parsers both modules use (modules/common)
    Parser,
    container_name,
    float_range,
    host_names,
    int_range,
    one_of,
    parse_bool,
)
from edgekit_common.options import secret as api_key

from .errors import ConfigError

if TYPE_CHECKING:
    from .detector.policy import DetPolicy
    from .recognizer.zones import ZoneSet
from .models import DEFAULT_DET_MODEL, DEFAULT_MODEL_SET, DET_MODELS, MODEL_SETS

log = logging.getLogger(__name__)

MODULE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DATA = MODULE_DIR / "local_data"
DEFAULT_MODEL = LOCAL_DATA / "ch_PP-OCRv4_det_infer.onnx"  # PaddleOCR-exact PP-OCRv4
DEFAULT_CLS_MODEL = LOCAL_DATA / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
DEFAULT_VIDEO = LOCAL_DATA / "demo_video.mp4"
DEFAULT_TRT_CACHE = LOCAL_DATA / "trt-cache"
REC_DIR_MODEL = "model.onnx"  # the model file in a REC_MODEL_DIR (train-rec writes it)

T = TypeVar("T")


def allowed_chars(text: str) -> str:
    """REC_ALLOWED_CHARS: the inside of a regular-expression character class."""
    import re

    text = text.strip()
    if not text:
        return ""
    try:
        re.compile(f"[{text}]")
    except re.error as exc:
        raise ValueError(
            f"expected the inside of a character class such as A-Z0-9 ({exc})"
        ) from None
    return text


def lexicon_file(text: str) -> Path:
    """REC_LEXICON: a readable UTF-8 file with at least one entry."""
    from .recognizer.constrain.lexicon import read_entries

    path = as_path(text)
    read_entries(path)
    return path


def zones_file(text: str) -> ZoneSet:
    """ZONES: a JSON or YAML zones file, parsed and checked (the frame size aside)."""
    from .recognizer.zones import load_zones

    return load_zones(as_path(text))


def rec_pattern(text: str) -> str:
    """REC_PATTERN: a built-in name or a regular expression an automaton can express."""
    if not text.strip():
        return ""
    from .recognizer.constrain.patterns import compile_pattern

    compile_pattern(text.strip())
    return text.strip()


def video_file(text: str) -> str:
    """SAVE_VIDEO: a .mp4, .mkv or .avi file name ("" = off); written later, checked
    before the models load."""
    name = text.strip()
    if name and Path(name).suffix.lower() not in (".mp4", ".mkv", ".avi"):
        raise ValueError("expected a video file name ending in .mp4, .mkv or .avi")
    if name and Path(name).is_dir():
        raise ValueError(f"{name} is a folder; expected a video file name such as out.mp4")
    return name


def non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text.strip()


def text(value: str) -> str:
    return value.strip()


def option(
    default: Any,
    env: str,
    help: str,
    parse: Parser = text,
    metavar: str = "",
    secret: bool = False,
    deprecated: str = "",
) -> Any:
    """Declare a setting: its default, environment variable, help text and parser.

    A `secret` (a key, a connection string) is read from the environment only: it gets
    no command-line flag (visible in process lists) and is left out of the repr (logs).
    A `deprecated` alias logs one warning naming its replacement when it is set (true).
    """
    meta = {
        "env": env,
        "help": help,
        "parse": parse,
        "metavar": metavar,
        "secret": secret,
        "deprecated": deprecated,
    }
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: default, metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def load(
    cls: type[T], environ: Mapping[str, str] | None = None, args: argparse.Namespace | None = None
) -> T:
    """Build `cls` from defaults, then the environment, then parsed CLI flags."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # T is a settings dataclass
        meta = f.metadata
        raw, where = None, ""
        if environ.get(meta["env"], "").strip():  # empty means unset, as in .env files
            raw, where = environ[meta["env"]], meta["env"]
        cli_value = None
        if args is not None and not meta.get("secret"):
            cli_value = getattr(args, f.name, None)
        if cli_value is not None:
            raw, where = cli_value, f"{flag_name(f.name)} ({meta['env']})"
        if raw is None:
            continue
        values[f.name] = _parse(meta["parse"], raw, where, meta.get("secret", False))
        if meta.get("deprecated") and values[f.name]:
            log.warning("%s is deprecated: use %s", where, meta["deprecated"])
    return cls(**values)


def _parse(parse: Parser, raw: Any, where: str, secret: bool = False) -> Any:
    if isinstance(raw, bool):
        return raw
    try:
        return parse(str(raw))
    except ValueError as exc:
        shown = "(hidden)" if secret else repr(str(raw))  # a secret is never echoed
        raise ConfigError(f"invalid value {shown} for {where}: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """Add one flag per field of `cls`, documented with its variable and default."""
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if meta.get("secret"):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]  # every field has a default or a factory
        shown = _show_default(default)
        help_text = f"{meta['help']} [env {meta['env']}; default {shown}]"
        if isinstance(default, bool):
            group.add_argument(
                flag_name(f.name),
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            group.add_argument(
                flag_name(f.name),
                default=None,
                help=help_text,
                metavar=meta["metavar"] or f.name.upper(),
            )


def _show_default(default: Any) -> str:
    if isinstance(default, Path):
        try:
            return str(default.relative_to(MODULE_DIR))
        except ValueError:
            return str(default)
    if default in ("", None, ()):
        return "unset"
    return str(default)


def as_path(value: str) -> Path:
    """A path, '~' and '~user' expanded; ValueError for a user without a home."""
    try:
        return Path(non_empty(value)).expanduser()
    except RuntimeError:  # pathlib: "Could not determine home directory."
        raise ValueError("cannot expand '~': no such user or no home directory") from None


ORT_PROVIDER_NAMES = ("cpu", "cuda", "tensorrt")


def parse_providers(value: str) -> str:
    """A comma list of ONNX Runtime providers, normalised (lower case, no repeats)."""
    names: list[str] = []
    for part in value.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in ORT_PROVIDER_NAMES:
            raise ValueError("expected a comma list of " + ", ".join(ORT_PROVIDER_NAMES))
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError("expected a comma list of " + ", ".join(ORT_PROVIDER_NAMES))
    return ",".join(names)


@dataclass(frozen=True)
class EngineSettings:
    """Which inference engine runs the model, and how."""

    det_model: str = option(
        DEFAULT_DET_MODEL,
        "DET_MODEL",
        "detection model and its policy: ppocrv6 (PP-OCRv6 small; short "
        "side raised to 736, long side capped at 1600, box score 0.4; "
        "small images also detected at their own size) or "
        "ppocrv4 (PaddleOCR-exact PP-OCRv4: long side capped at 960, "
        "never upscaled)",
        one_of(*DET_MODELS),
        "NAME",
    )
    model_path: Path = option(
        None,
        "MODEL_PATH",
        "ONNX text detection model file; unset = DET_MODEL's (a file of "
        "one's own gets PP-OCRv4's policy unless DET_* say otherwise)",
        as_path,
        "PATH",
    )
    det_model_dir: Path | None = option(
        None,
        "DET_MODEL_DIR",
        "a fine-tuned detector folder written by `train-det` (model.onnx and manifest.json); "
        "it keeps the policy of the model it was fine-tuned from; not with MODEL_PATH",
        as_path,
        "DIR",
    )
    use_tensor_rt: bool = option(
        False,
        "USE_TENSOR_RT",
        "deprecated alias of ENGINE=tensorrt (TensorRT on an NVIDIA GPU); true/1/yes or false/0/no",
        parse_bool,
        deprecated="ENGINE=tensorrt",
    )
    engine: str = option(
        "auto",
        "ENGINE",
        "inference engine: onnxruntime, openvino, tensorrt, triton (a remote "
        "Triton server at TRITON_URL), or auto (the fastest CPU engine "
        "installed: OpenVINO on x86-64, ONNX Runtime elsewhere)",
        one_of("auto", "onnxruntime", "openvino", "tensorrt", "triton"),
        "NAME",
    )
    precision: str = option(
        "fp32",
        "PRECISION",
        "CPU model precision: fp32, bf16, int8, or auto (the fastest that "
        "passes the FP32 parity gate on this CPU)",
        one_of("auto", "fp32", "bf16", "int8"),
        "MODE",
    )
    ov_performance_hint: str = option(
        "auto",
        "OV_PERFORMANCE_HINT",
        "OpenVINO PERFORMANCE_HINT: latency, throughput or "
        "auto (by run mode: latency for one live source, "
        "throughput for files, several sources and the HTTP "
        "service)",
        one_of("auto", "latency", "throughput"),
        "HINT",
    )
    threads: int = option(
        0,
        "ORT_THREADS",
        "ONNX Runtime intra-op threads; 0 lets ONNX Runtime use one per physical core",
        int_range(0, 256),
        "N",
    )
    ort_spinning: str = option(
        "auto",
        "ORT_SPINNING",
        "whether ONNX Runtime's idle intra-op threads spin (on: its own default, the lowest "
        "latency when it runs alone) or sleep (off: they leave the cores to OpenVINO's "
        "detection in flight); auto = off when the run reads a live source, else on",
        one_of("auto", "on", "off"),
        "MODE",
    )
    ort_providers: str = option(
        "cpu",
        "ORT_PROVIDERS",
        "ONNX Runtime execution providers in order of preference, "
        "comma-separated: cpu, cuda, tensorrt (CPU is always the "
        "last resort)",
        parse_providers,
        "LIST",
    )
    trt_precision: str = option(
        "auto",
        "TRT_PRECISION",
        "TensorRT precision: auto (FP16 where the GPU has fast FP16 "
        "and it agrees with FP32), fp16 or fp32",
        one_of("auto", "fp16", "fp32"),
        "MODE",
    )
    trt_workspace_mb: int = option(
        1024,
        "TRT_WORKSPACE_MB",
        "TensorRT builder workspace limit in MiB",
        int_range(16, 65536),
        "MIB",
    )
    trt_cache_dir: Path = option(
        DEFAULT_TRT_CACHE,
        "TRT_CACHE_DIR",
        "folder for built TensorRT engines and ONNX Runtime TensorRT EP caches",
        as_path,
        "DIR",
    )
    trt_fp16_min_iou: float = option(
        0.95,
        "TRT_FP16_MIN_IOU",
        "mean box IoU FP16 must reach against FP32 on the check "
        "frames, else FP32 is used; 0 skips the check",
        float_range(0.0, 1.0),
        "IOU",
    )
    trt_max_batch: int = option(
        1, "TRT_MAX_BATCH", "largest batch the TensorRT engine accepts", int_range(1, 64), "N"
    )

    def __post_init__(self) -> None:
        if self.det_model_dir is not None:
            self._use_det_dir(self.det_model_dir)
        if self.model_path is None:  # frozen: the resolved default is set once, here
            object.__setattr__(self, "model_path", self._det_model_file())
        if self.use_tensor_rt and self.engine not in ("auto", "tensorrt"):
            raise ConfigError(
                f"USE_TENSOR_RT=true contradicts ENGINE={self.engine}: unset one of them"
            )

    def _det_model_file(self) -> Path:
        """The DET_MODEL's pinned file (MODEL_PATH when nothing else names one)."""
        return LOCAL_DATA / DET_MODELS[self.det_model].name

    def _use_det_dir(self, folder: Path) -> None:
        """DET_MODEL_DIR: its model.onnx becomes the detection model (MODEL_PATH)."""
        from .detector.policy import DET_DIR_MODEL, DET_MANIFEST

        model = folder / DET_DIR_MODEL
        if self.model_path is not None and self.model_path != model:
            raise ConfigError("set DET_MODEL_DIR or MODEL_PATH, not both")
        if not model.is_file() or not (folder / DET_MANIFEST).is_file():
            raise ConfigError(
                f"DET_MODEL_DIR {folder}: no {DET_DIR_MODEL} and {DET_MANIFEST} in it "
                "(expected a folder written by train-det)"
            )
        object.__setattr__(self, "model_path", model)

    def for_run(self, frames_queue: bool, live: bool = False) -> EngineSettings:
        """These settings as the run loop uses them: OV_PERFORMANCE_HINT=auto becomes
        throughput where frames queue up (files, several sources: two inferences overlap,
        one per CPU stream; the higher fps on a file, `make bench SECTION=engines`:
        "detector_fps" in bench-results/bench_engines.json) and latency for one live
        source (each frame's result soonest). ORT_SPINNING=auto becomes off when a
        source is `live` (frames arrive in real time: the recogniser reads one frame
        while the next one's detection runs on the same cores), else on."""
        hint, spinning = self.ov_performance_hint, self.ort_spinning
        if hint == "auto":
            hint = "throughput" if frames_queue else "latency"
        if spinning == "auto":
            spinning = "off" if live else "on"
        if (hint, spinning) == (self.ov_performance_hint, self.ort_spinning):
            return self
        return replace(self, ov_performance_hint=hint, ort_spinning=spinning)

    def for_service(self) -> EngineSettings:
        """These settings as the HTTP service runs them: OV_PERFORMANCE_HINT=auto becomes
        throughput, since requests arrive concurrently and each stream serves one."""
        if self.ov_performance_hint != "auto":
            return self
        return replace(self, ov_performance_hint="throughput")

    def with_det_dir(self, folder: Path | None) -> EngineSettings:
        """These settings with another DET_MODEL_DIR (None: the DET_MODEL's own file), as
        a live `detModelDir` asks; ConfigError when MODEL_PATH names a file of one's own."""
        if self.det_model_dir is None and self.model_path != self._det_model_file():
            raise ConfigError("MODEL_PATH names a detection model of its own: unset it first")
        unset: Any = None  # __post_init__ resolves the folder's or the DET_MODEL's file
        return replace(self, det_model_dir=folder, model_path=unset)

    @property
    def model_label(self) -> str:
        """How outputs name the detection model: its file name, or with DET_MODEL_DIR
        the folder and file (`det-displays/model.onnx`: every fine-tuned folder holds a
        `model.onnx`)."""
        if self.det_model_dir is not None:
            return f"{self.model_path.parent.name}/{self.model_path.name}"
        return self.model_path.name

    @property
    def engine_name(self) -> str:
        """ENGINE with USE_TENSOR_RT=true read as tensorrt ('auto' is resolved at open)."""
        return "tensorrt" if self.use_tensor_rt else self.engine


def _pass_side(text: str) -> int:
    """DET_TILE, DET_ZOOM, DET_FRAME_MAX_SIDE_LEN: 0 (off) or a side from 320 to 8192 pixels."""
    value = int_range(0, 8192)(text)
    if 0 < value < 320:
        raise ValueError("expected 0 (off) or an integer from 320 to 8192")
    return value


@dataclass(frozen=True)
class DetectorSettings:
    """DB detection: resize rule and thresholds. Unset values come from the policy of
    the detection model (DET_MODEL; detector/policy.py)."""

    det_resize: str | None = option(
        None,
        "DET_RESIZE",
        "how the model input is sized: max = long side capped "
        "at DET_LIMIT_SIDE_LEN, never upscaled (PaddleOCR); min = "
        "short side raised to DET_LIMIT_SIDE_LEN, long side capped "
        "at DET_MAX_SIDE_LEN (RapidOCR); unset = DET_MODEL's",
        one_of("max", "min"),
        "RULE",
    )
    limit_side_len: int | None = option(
        None,
        "DET_LIMIT_SIDE_LEN",
        "the side limit DET_RESIZE applies, in pixels; "
        "unset = DET_MODEL's (ppocrv6 736, ppocrv4 960)",
        int_range(32, 4096),
        "PX",
    )
    max_side_len: int | None = option(
        None,
        "DET_MAX_SIDE_LEN",
        "DET_RESIZE=min: cap on the long side, in pixels (0 = none); unset = DET_MODEL's (1600)",
        int_range(0, 8192),
        "PX",
    )
    frame_max_side_len: int = option(
        960,
        "DET_FRAME_MAX_SIDE_LEN",
        "video frames (files, cameras, streams): cap on the detector input's long side, "
        "in pixels, over DET_MODEL's resize rule (a 720p frame goes in as 960x544 "
        "instead of 1312x736, 1.5x faster end to end); 0 = frames sized as stills",
        _pass_side,
        "PX",
    )
    det_thresh: float | None = option(
        None,
        "DET_THRESH",
        "probability above which a pixel counts as text; unset = 0.3",
        float_range(0.0, 1.0, low_open=True),
        "P",
    )
    box_thresh: float | None = option(
        None,
        "DET_BOX_THRESH",
        "minimum mean probability inside a box to keep it; "
        "unset = DET_MODEL's (ppocrv6 0.4, ppocrv4 0.6)",
        float_range(0.0, 1.0),
        "P",
    )
    unclip_ratio: float | None = option(
        None,
        "DET_UNCLIP_RATIO",
        "how far each box is grown around its text core; "
        "unset = DET_MODEL's (ppocrv6 1.6, ppocrv4 1.5)",
        float_range(0.0, 10.0, low_open=True),
        "R",
    )
    det_dilation: bool | None = option(
        None,
        "DET_DILATION",
        "grow the text bitmap by 2x2 before finding boxes; unset = DET_MODEL's (off for both)",
        parse_bool,
        "BOOL",
    )
    det_tile: int | None = option(
        None,
        "DET_TILE",
        "still images (detect, serve) the detector shrinks by 1.2x or more are also "
        "detected in overlapping tiles of this many pixels at their own size, for small "
        "text in large frames (0 = off); unset = DET_MODEL's (ppocrv6 960, ppocrv4 0)",
        _pass_side,
        "PX",
    )
    det_zoom: int | None = option(
        None,
        "DET_ZOOM",
        "still images (detect, serve) the detector raises (short side under "
        "DET_LIMIT_SIDE_LEN) are also detected with the short side raised to this many "
        "pixels (long side at most 2400), boxes found only there added (e.g. 1280; "
        "0 = off); unset = DET_MODEL's (0 for both)",
        _pass_side,
        "PX",
    )
    det_assist: str | None = option(
        None,
        "DET_ASSIST",
        "still images (detect, serve) with a short side under 614 px are also "
        "detected by a second model, its boxes added where the first found none: "
        "ppocrv4 (PP-OCRv4 det, short side raised to 736, box score 0.5) or off; "
        "CPU engines only (openvino, onnxruntime); unset = DET_MODEL's (ppocrv6: "
        "ppocrv4, ppocrv4: off)",
        one_of("ppocrv4", "off"),
        "NAME",
    )
    max_candidates: int = option(
        1000,
        "DET_MAX_CANDIDATES",
        "most text regions considered per image",
        int_range(1, 100000),
        "N",
    )

    def policy(self, model_path: Path | None = None, frames: bool = False) -> DetPolicy:
        """The detection policy for `model_path`: its model's, with these overrides;
        `frames`: for video frames (DET_FRAME_MAX_SIDE_LEN caps the long side)."""
        from .detector.policy import policy_for

        policy = policy_for(model_path, self)
        return policy.for_frames(self.frame_max_side_len) if frames else policy


@dataclass(frozen=True)
class RecognizerSettings:
    """PP-OCR text recognition of every detected region (PaddleOCR's semantics)."""

    read_text: bool = option(
        True,
        "READ_TEXT",
        "read the text in every detected region; false = detection only",
        parse_bool,
    )
    use_angle_cls: bool = option(
        False,
        "USE_ANGLE_CLS",
        "run the 0/180-degree classifier and turn upside-down lines before reading them",
        parse_bool,
    )
    rec_batch: int = option(
        6, "REC_BATCH", "text lines read per model call", int_range(1, 256), "N"
    )
    rec_padding: str = option(
        "line",
        "REC_PADDING",
        "line = each line padded to its own width (48 x its aspect, rounded up to 32 px, "
        "at least 320): a line reads the same whatever it is batched with; batch = "
        "padded to the widest line of its batch (PaddleOCR, RapidOCR)",
        one_of("line", "batch"),
        "MODE",
    )
    rec_frames: int = option(
        4,
        "REC_FRAMES",
        "files: read the text of this many frames together (their "
        "lines batched across frames); live sources never wait",
        int_range(1, 64),
        "N",
    )
    rec_min_score: float = option(
        0.5,
        "REC_MIN_SCORE",
        "readings with a lower mean confidence are dropped",
        float_range(0.0, 1.0),
        "P",
    )
    rec_min_score_short: float = option(
        0.75,
        "REC_MIN_SCORE_SHORT",
        "readings of one character need at least this confidence, and readings with "
        "no letter or digit are dropped (a lone shape reads as I, 1 or _); a reading "
        "REC_PATTERN matched is judged by REC_MIN_SCORE alone; 0 = REC_MIN_SCORE only "
        "(PaddleOCR's)",
        float_range(0.0, 1.0),
        "P",
    )
    rec_lang: str = option(
        "latin",
        "REC_LANG",
        "characters the reader may pick: latin (ASCII, accented Latin "
        "letters and common signs), en (ASCII only: no accented or CJK "
        "lookalike replaces a plain letter) or all (the model's whole "
        "dictionary, e.g. Chinese)",
        one_of("all", "latin", "en"),
        "LANG",
    )
    rec_accents: str = option(
        "auto",
        "REC_ACCENTS",
        "with REC_LANG=latin: a word read with accents its language does not use "
        "takes the accents of the most frequent known word with the same letters "
        "(dúchod -> důchod, shíp -> ship; word lists of 13 Latin-script languages, "
        "the language most of an image's words belong to), known words and words no "
        "list knows are left as read (auto), or every word stays as read (off); not "
        "with REC_ALLOWED_CHARS, REC_PATTERN or REC_LEXICON",
        one_of("auto", "off"),
        "MODE",
    )
    rec_spelling: str = option(
        "auto",
        "REC_SPELLING",
        "with REC_LANG=latin: a word of 5 letters or more that the image's language "
        "does not know is read as one or two known words where the model's second "
        "choice at one or two uncertain steps spells them (MADID -> MADRID, "
        "CANSOMEONE -> CAN SOMEONE), at least 3 %% as probable as what was read; "
        "digits, signs and other words stay; a space that split a known word is taken "
        "out when a part is unknown (Drap eries -> Draperies) (auto), or every word "
        "stays as read "
        "(off); not with REC_ALLOWED_CHARS, REC_PATTERN or REC_LEXICON",
        one_of("auto", "off"),
        "MODE",
    )
    rec_upscale: str = option(
        "auto",
        "REC_UPSCALE",
        "a still's (detect, serve) region thinner than 24 pixels that read something "
        "with a confidence under 0.9 is also cut out with its short side raised to 24 "
        "(one cubic warp, at most 4x) and read again, the more confident reading kept "
        "(auto), or read once (off); video frames are read once",
        one_of("auto", "off"),
        "MODE",
    )
    rec_stacked: str = option(
        "auto",
        "REC_STACKED",
        "a still's (detect, serve) column of boxes that each read one letter (or a few "
        "apart), three letters or more, stacked one under the next as on a vertical sign, "
        "is read again with its letters side by side and becomes one region when that "
        "reads a word of letters (auto), or stays as read (off); video frames are read as "
        "they stand; "
        "not with REC_ALLOWED_CHARS, REC_PATTERN or REC_LEXICON",
        one_of("auto", "off"),
        "MODE",
    )
    rec_upright: str = option(
        "auto",
        "REC_UPRIGHT",
        "a still (detect, serve) whose regions are mostly tall, as on a page lying on "
        "its side, is also detected turned a quarter each way and read in the turn "
        "whose largest regions read more confidently, one whose largest regions read "
        "better upside down also turned half a turn, and the turn "
        "that reads the most confident characters kept, else its few tall regions read "
        "from the still turned a quarter when that reads them better (auto), or read "
        "only as it stands (off); video frames are read as they stand",
        one_of("auto", "off"),
        "MODE",
    )
    rec_allowed_chars: str = option(
        "",
        "REC_ALLOWED_CHARS",
        "only these characters can be read, as the inside of a regular-expression "
        "class (A-Z0-9 or 0-9.,); classes outside are masked before decoding, "
        "within REC_LANG; unset = all of REC_LANG",
        allowed_chars,
        "CHARS",
    )
    rec_pattern: str = option(
        "",
        "REC_PATTERN",
        "the whole line must match: a built-in (iso6346 container codes with the "
        "check digit verified, date, meter, plate) or a regular expression "
        "([A-Z]{3}-[0-9]{3}); the most probable matching string is read, a line "
        "matching nothing keeps its raw reading; unset = no pattern",
        rec_pattern,
        "PATTERN",
    )
    rec_lexicon: Path | None = option(
        None,
        "REC_LEXICON",
        "a UTF-8 file of the words or lines that may be read, one per line: each reading "
        "becomes the most probable entry (CTC probability), or stays unknown (its raw "
        "reading, matched false) below REC_LEXICON_MIN_SCORE; not with REC_PATTERN",
        lexicon_file,
        "PATH",
    )
    rec_lexicon_min_score: float = option(
        0.5,
        "REC_LEXICON_MIN_SCORE",
        "REC_LEXICON: least per-character probability of the entry read",
        float_range(0.0, 1.0),
        "P",
    )
    zones: ZoneSet | None = option(
        None,
        "ZONES",
        "a JSON or YAML file of named polygons (frame pixels) per source id (or *), each "
        "read under its own pattern, allowed_chars or lexicon; outside: keep or drop the "
        "text outside every zone; the module twin's desired property zones changes them "
        "live; unset = no zones",
        zones_file,
        "PATH",
    )
    rec_spaces: str = option(
        "auto",
        "REC_SPACES",
        "auto = put back word spaces the model hinted at between two "
        "characters but did not pick; off = plain greedy decoding "
        "(PaddleOCR's)",
        one_of("auto", "off"),
        "MODE",
    )
    model_set: str = option(
        DEFAULT_MODEL_SET,
        "MODEL_SET",
        "pinned recognition model: "
        + ", ".join(MODEL_SETS)
        + " (PP-OCRv4 or PP-OCRv6 small; both fetched at set-up)",
        one_of(*MODEL_SETS),
        "NAME",
    )
    rec_model_path: Path | None = option(
        None,
        "REC_MODEL_PATH",
        "ONNX text recognition model file (dictionary in its metadata); unset = the MODEL_SET's",
        as_path,
        "PATH",
    )
    rec_model_dir: Path | None = option(
        None,
        "REC_MODEL_DIR",
        "a fine-tuned recogniser folder written by `train-rec` (model.onnx, its dictionary "
        "in the metadata, and manifest.json) after it passed its gates; every engine, "
        "`serve` and `export-triton` then read it; not with REC_MODEL_PATH",
        as_path,
        "DIR",
    )
    cls_model_path: Path = option(
        DEFAULT_CLS_MODEL,
        "CLS_MODEL_PATH",
        "ONNX text-line angle classifier model file",
        as_path,
        "PATH",
    )

    def __post_init__(self) -> None:
        if self.rec_pattern and self.rec_lexicon is not None:
            raise ConfigError("set REC_PATTERN or REC_LEXICON, not both")
        if self.zones is not None and not self.read_text:
            raise ConfigError("ZONES needs READ_TEXT=true: zones say how text is read")
        if self.model_set not in MODEL_SETS:
            raise ConfigError(
                f"unknown MODEL_SET {self.model_set!r}: expected one of " + ", ".join(MODEL_SETS)
            )
        if self.rec_model_dir is not None:
            if self.rec_model_path is not None:
                raise ConfigError("set REC_MODEL_DIR or REC_MODEL_PATH, not both")
            if not (self.rec_model_dir / REC_DIR_MODEL).is_file():
                raise ConfigError(
                    f"REC_MODEL_DIR {self.rec_model_dir}: no {REC_DIR_MODEL} in it "
                    "(expected a folder written by train-rec)"
                )

    @property
    def accents_on(self) -> bool:
        """Whether readings take their accents from the word lists (REC_ACCENTS)."""
        return self.rec_accents == "auto" and self._word_lists_apply

    @property
    def spelling_on(self) -> bool:
        """Whether unknown words may be respelled as known ones (REC_SPELLING)."""
        return self.rec_spelling == "auto" and self._word_lists_apply

    @property
    def _word_lists_apply(self) -> bool:
        """Latin text read with no constraint: the word lists may settle words."""
        return (
            self.rec_lang == "latin"
            and not self.rec_allowed_chars
            and not self.rec_pattern
            and self.rec_lexicon is None
        )

    @property
    def rec_model(self) -> Path:
        """The recognition model file: REC_MODEL_DIR's, REC_MODEL_PATH, else the MODEL_SET's
        in local_data."""
        if self.rec_model_dir is not None:
            return self.rec_model_dir / REC_DIR_MODEL
        return self.rec_model_path or LOCAL_DATA / MODEL_SETS[self.model_set].rec.name


@dataclass(frozen=True)
class SourceSettings:
    """Where frames come from."""

    camera_path: str = option(
        str(DEFAULT_VIDEO),
        "CAMERA_PATH",
        "video file, camera index or /dev/videoN, stream URL "
        "(rtsp/http/tcp/udp), GStreamer pipeline ending in appsink, or "
        "mqtt[s]://host:port/topic (image snapshots published to a topic); "
        "several sources separated by '|' run in one process",
        non_empty,
        "SOURCE",
    )
    loop: bool = option(False, "LOOP", "restart a video file when it ends", parse_bool)
    max_frames: int = option(
        0, "MAX_FRAMES", "stop after this many frames; 0 = no limit", int_range(0, 2**31 - 1), "N"
    )
    queue_size: int = option(
        4,
        "FRAME_QUEUE_SIZE",
        "frames buffered between the reader thread and the detector",
        int_range(1, 1024),
        "N",
    )
    source_timeout: float = option(
        10.0,
        "SOURCE_TIMEOUT",
        "seconds without a frame before a source counts as stalled",
        float_range(0.1, 3600.0),
        "S",
    )
    reconnect_delay: float = option(
        1.0,
        "RECONNECT_DELAY",
        "live sources: seconds before the first reconnect attempt; "
        "doubles (with jitter) after each failed one",
        float_range(0.0, 3600.0, low_open=True),
        "S",
    )
    reconnect_max_delay: float = option(
        30.0,
        "RECONNECT_MAX_DELAY",
        "live sources: longest wait between reconnect attempts",
        float_range(0.0, 86400.0, low_open=True),
        "S",
    )
    reconnect_attempts: int = option(
        0,
        "RECONNECT_ATTEMPTS",
        "live sources: failed reconnect attempts in a row before "
        "giving up (exit 4); 0 = retry for ever",
        int_range(0, 2**31 - 1),
        "N",
    )
    max_batch: int = option(
        4,
        "MAX_BATCH",
        "with several sources: most frames (same input size) detected in one engine call",
        int_range(1, 64),
        "N",
    )


@dataclass(frozen=True)
class OutputSettings:
    """Where results go."""

    json_output: str = option(
        "",
        "JSON_OUTPUT",
        "also write one JSON line per frame to this file ('-' = stdout)",
        text,
        "FILE",
    )
    save_video: str = option(
        "",
        "SAVE_VIDEO",
        "also write the annotated video (boxes, text, scores drawn) to this .mp4/.mkv/.avi "
        "file at the rate frames are processed (a file's own rate); several sources write "
        "FILE-0.mp4, FILE-1.mp4, ...",
        video_file,
        "FILE",
    )
    quiet: bool = option(
        False, "QUIET", "print only the periodic fps summary, not every frame", parse_bool
    )
    summary_interval: float = option(
        5.0,
        "SUMMARY_INTERVAL",
        "seconds between fps summary lines",
        float_range(0.0, 3600.0, low_open=True),
        "S",
    )
    log_level: str = option(
        "info", "LOG_LEVEL", "logging level", one_of("debug", "info", "warning", "error"), "LEVEL"
    )
    shutdown_grace: float = option(
        5.0,
        "SHUTDOWN_GRACE",
        "seconds, after a stop (SIGTERM/SIGINT) or the end, that "
        "all sinks share to deliver what they hold (IoT outbox, "
        "archive uploads); what is left is logged, not sent",
        float_range(0.0, 600.0),
        "S",
    )
    health_port: int = option(
        0,
        "HEALTH_PORT",
        "serve /v2/health/live, /v2/health/ready, /health (per-source "
        "JSON) and /metrics on this TCP port while running; 0 = off",
        int_range(0, 65535),
        "PORT",
    )
    health_host: str = option(
        "127.0.0.1",
        "HEALTH_HOST",
        "address the health endpoint listens on; 0.0.0.0 inside a "
        "container to let Prometheus or a probe reach it",
        non_empty,
        "ADDR",
    )


@dataclass(frozen=True)
class PreviewSettings:
    """The live annotated preview on the health port: /preview and /preview.mjpg."""

    preview: bool = option(
        True,
        "PREVIEW",
        "serve /preview (a page listing the sources) and /preview.mjpg?source=N (MJPEG, "
        "boxes and text drawn) on HEALTH_PORT; off on a non-loopback HEALTH_HOST "
        "unless PREVIEW_TOKEN is set",
        parse_bool,
    )
    preview_fps: float = option(
        5.0,
        "PREVIEW_FPS",
        "most preview frames encoded and sent per second per source",
        float_range(0.1, 30.0),
        "FPS",
    )
    preview_max_clients: int = option(
        4,
        "PREVIEW_MAX_CLIENTS",
        "preview streams open at once; one more gets 503",
        int_range(1, 64),
        "N",
    )
    preview_token: str = option(
        "",
        "PREVIEW_TOKEN",
        "token the preview needs (Authorization: Bearer or ?token=); required for the "
        "preview on a non-loopback HEALTH_HOST (environment only, never a flag)",
        api_key,
        secret=True,
    )


@dataclass(frozen=True)
class ArchiveSettings:
    """Frame archive to Blob Storage: confident frames annotated, uncertain frames raw."""

    connection_string: str = option(
        "",
        "ARCHIVE_CONNECTION_STRING",
        "Blob Storage connection string; the archive is off "
        "when unset (environment only, never a flag)",
        text,
        secret=True,
    )
    archive_confident_threshold: float = option(
        0.8,
        "ARCHIVE_CONFIDENT_THRESHOLD",
        "a frame is confident when every detection scores at least this (archived annotated)",
        float_range(0.0, 1.0),
        "P",
    )
    archive_uncertain_min: float = option(
        0.6,
        "ARCHIVE_UNCERTAIN_MIN",
        "detections scoring from this up to the confident threshold are uncertain; "
        "a frame with one is archived raw",
        float_range(0.0, 1.0),
        "P",
    )
    archive_jpeg_quality: int = option(
        85, "ARCHIVE_JPEG_QUALITY", "JPEG quality of archived frames", int_range(1, 100), "Q"
    )
    archive_interval: float = option(
        5.0,
        "ARCHIVE_INTERVAL",
        "at most one frame per this many seconds per container (0 = every routed frame)",
        float_range(0.0, 86400.0),
        "S",
    )
    archive_annotated_container: str = option(
        "annotated",
        "ARCHIVE_ANNOTATED_CONTAINER",
        "container for confident frames, boxes drawn",
        container_name,
        "NAME",
    )
    archive_lowconf_container: str = option(
        "lowconf",
        "ARCHIVE_LOWCONF_CONTAINER",
        "container for frames with uncertain detections, raw",
        container_name,
        "NAME",
    )
    archive_queue_size: int = option(
        16,
        "ARCHIVE_QUEUE_SIZE",
        "frames waiting for upload; more are dropped and counted",
        int_range(1, 1024),
        "N",
    )
    archive_retries: int = option(
        4, "ARCHIVE_RETRIES", "upload retries before a frame is dropped", int_range(0, 100), "N"
    )
    archive_retry_backoff: float = option(
        0.5,
        "ARCHIVE_RETRY_BACKOFF",
        "first retry delay in seconds, doubled each retry (max 30)",
        float_range(0.0, 60.0),
        "S",
    )
    archive_timeout: float = option(
        10.0,
        "ARCHIVE_TIMEOUT",
        "seconds per storage request",
        float_range(0.1, 600.0, low_open=True),
        "S",
    )

    def __post_init__(self) -> None:
        if self.archive_uncertain_min > self.archive_confident_threshold:
            raise ConfigError(
                f"ARCHIVE_UNCERTAIN_MIN ({self.archive_uncertain_min}) must not exceed "
                f"ARCHIVE_CONFIDENT_THRESHOLD ({self.archive_confident_threshold})"
            )
        if self.archive_annotated_container == self.archive_lowconf_container:
            raise ConfigError(
                "ARCHIVE_ANNOTATED_CONTAINER and ARCHIVE_LOWCONF_CONTAINER "
                f"must differ (both {self.archive_annotated_container!r})"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.connection_string)


@dataclass(frozen=True)
class IoTHubSettings:
    """Telemetry to IoT Hub / edgeHub: connection, rate control, outbox."""

    connection_string: str = option(
        "",
        "IOTHUB_CONNECTION_STRING",
        "device or module connection string for local "
        "development; inside IoT Edge the module's own "
        "identity is used",
        text,
        secret=True,
    )
    ca_cert: str = option(
        "",
        "IOTHUB_CA_CERT",
        "PEM file of a CA to trust for the hub endpoint (a gateway or a local test broker)",
        text,
        "PEM",
    )
    output_name: str = option(
        "detections",
        "IOTHUB_OUTPUT",
        "module output the messages are sent to (routes pick it up)",
        non_empty,
        "NAME",
    )
    send_mode: str = option(
        "change",
        "IOTHUB_SEND_MODE",
        "change: on material change plus interval summaries; "
        "interval: summaries only; every: every frame",
        one_of("change", "interval", "every"),
        "MODE",
    )
    send_interval: float = option(
        10.0,
        "IOTHUB_SEND_INTERVAL",
        "seconds between summary messages",
        float_range(0.0, 86400.0, low_open=True),
        "S",
    )
    change_iou: float = option(
        0.5,
        "IOTHUB_CHANGE_IOU",
        "a region counts as unchanged when it overlaps one sent before by at least this IoU",
        float_range(0.0, 1.0),
        "IOU",
    )
    outbox_size: int = option(
        1000,
        "IOTHUB_OUTBOX_SIZE",
        "messages held while offline; beyond it the oldest are dropped",
        int_range(1, 1000000),
        "N",
    )
    flush_timeout: float = option(
        10.0,
        "IOTHUB_FLUSH_TIMEOUT",
        "seconds to deliver the outbox at shutdown",
        float_range(0.0, 3600.0),
        "S",
    )
    report_interval: float = option(
        30.0,
        "IOTHUB_REPORT_INTERVAL",
        "seconds between twin reported-property updates",
        float_range(1.0, 86400.0),
        "S",
    )
    text_events: bool = option(
        False,
        "TEXT_EVENTS",
        "send one textAppearance message per line of text when it "
        "leaves the view, instead of per-frame detections messages "
        "(needs READ_TEXT)",
        parse_bool,
    )
    text_event_gap: int = option(
        5,
        "TEXT_EVENT_GAP",
        "frames a line may go unread before its appearance ends",
        int_range(0, 100000),
        "N",
    )
    text_event_min_frames: int = option(
        3,
        "TEXT_EVENT_MIN_FRAMES",
        "frames a line must be read in to be reported (fewer: flicker, not sent)",
        int_range(1, 100000),
        "N",
    )


MQTT_SCHEMES = {"mqtt": 1883, "mqtts": 8883}
TOPIC_FIELDS = ("source", "type")


def mqtt_url(value: str) -> str:
    """MQTT_URL: mqtt://host[:port] or mqtts://host[:port] (no path, no credentials); '' = off."""
    from urllib.parse import urlsplit

    value = value.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in MQTT_SCHEMES or not parts.hostname:
        raise ValueError("expected mqtt://host[:port] or mqtts://host[:port] (TLS)")
    if parts.username or parts.password:
        raise ValueError("no credentials in the URL: use MQTT_USERNAME/MQTT_PASSWORD or a token")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError("no path or query: the topic is MQTT_TOPIC")
    if port == 0:
        raise ValueError("port 0 is not a broker port")
    return value


def mqtt_topic(value: str) -> str:
    """MQTT_TOPIC: a topic name with {source} and {type} fields, no wildcards."""
    import string

    value = value.strip()
    if not value:
        raise ValueError("expected a topic such as textdetector/{source}/{type}")
    if "+" in value or "#" in value:
        raise ValueError("a topic to publish to cannot hold the wildcards + or #")
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValueError(f"bad {{field}} ({exc})") from None
    unknown = [name for name in names if name not in TOPIC_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {{{unknown[0]}}}: only {{source}} and {{type}}")
    return value


@dataclass(frozen=True)
class MqttSettings:
    """MQTT v5 broker (Azure IoT Operations, mosquitto): results out as CloudEvents; the
    TLS and authentication settings also apply to an mqtt:// or mqtts:// CAMERA_PATH."""

    mqtt_url: str = option(
        "",
        "MQTT_URL",
        "broker to publish results and text events to, as CloudEvents (QoS 1): "
        "mqtt://host[:port] or mqtts://host[:port] (TLS); unset = no MQTT output",
        mqtt_url,
        "URL",
    )
    mqtt_topic: str = option(
        "textdetector/{source}/{type}",
        "MQTT_TOPIC",
        "topic template: {source} is the source id made topic-safe, {type} the "
        "event (result, summary, textAppearance, sourceState)",
        mqtt_topic,
        "TOPIC",
    )
    mqtt_cloudevents: str = option(
        "binary",
        "MQTT_CLOUDEVENTS",
        "binary: attributes as MQTT v5 user properties, the JSON result as payload; "
        "structured: one JSON CloudEvent per message",
        one_of("binary", "structured"),
        "MODE",
    )
    mqtt_client_id: str = option(
        "", "MQTT_CLIENT_ID", "MQTT client id; unset = textdetector-<host name>", text, "ID"
    )
    mqtt_ca_file: str = option(
        "",
        "MQTT_CA_FILE",
        "PEM file of the CA that signed the broker's certificate (mqtts://); "
        "unset = the system's CAs",
        text,
        "PEM",
    )
    mqtt_cert_file: str = option(
        "",
        "MQTT_CERT_FILE",
        "client certificate (PEM) for brokers that authenticate clients by certificate",
        text,
        "PEM",
    )
    mqtt_key_file: str = option(
        "", "MQTT_KEY_FILE", "private key (PEM) of MQTT_CERT_FILE", text, "PEM"
    )
    mqtt_sat_file: str = option(
        "",
        "MQTT_SAT_FILE",
        "Kubernetes service-account token file: MQTT v5 enhanced authentication "
        "K8S-SAT (Azure IoT Operations' broker); read again at each connection",
        text,
        "FILE",
    )
    mqtt_username: str = option("", "MQTT_USERNAME", "user name (password brokers)", text, "NAME")
    mqtt_password: str = option("", "MQTT_PASSWORD", "password of MQTT_USERNAME", text, secret=True)
    mqtt_send_mode: str = option(
        "every",
        "MQTT_SEND_MODE",
        "every: every frame's result; change: on material change; "
        "interval: summaries only (every MQTT_SEND_INTERVAL in all modes)",
        one_of("every", "change", "interval"),
        "MODE",
    )
    mqtt_send_interval: float = option(
        10.0,
        "MQTT_SEND_INTERVAL",
        "seconds between summary events",
        float_range(0.0, 86400.0, low_open=True),
        "S",
    )
    mqtt_text_events: bool = option(
        False,
        "MQTT_TEXT_EVENTS",
        "also publish one textAppearance event per line of text when it leaves the "
        "view (TEXT_EVENT_GAP, TEXT_EVENT_MIN_FRAMES; needs READ_TEXT)",
        parse_bool,
    )
    mqtt_outbox_size: int = option(
        1000,
        "MQTT_OUTBOX_SIZE",
        "events held while the broker is unreachable; beyond it the oldest are dropped",
        int_range(1, 1000000),
        "N",
    )
    mqtt_flush_timeout: float = option(
        10.0,
        "MQTT_FLUSH_TIMEOUT",
        "seconds to deliver the outbox at shutdown",
        float_range(0.0, 3600.0),
        "S",
    )
    mqtt_max_snapshot_bytes: int = option(
        16 * 1024 * 1024,
        "MQTT_MAX_SNAPSHOT_BYTES",
        "mqtt:// CAMERA_PATH: larger payloads are skipped and counted (too_large)",
        int_range(1024, 256 * 1024 * 1024),
        "N",
    )


@dataclass(frozen=True)
class ServeSettings:
    """The HTTP scoring service (`main.py serve`)."""

    host: str = option(
        "127.0.0.1",
        "SERVE_HOST",
        "address to listen on; 0.0.0.0 inside a container on the module network",
        non_empty,
        "ADDR",
    )
    port: int = option(
        8080, "SERVE_PORT", "TCP port; 0 picks a free one", int_range(0, 65535), "PORT"
    )
    workers: int = option(
        0,
        "SERVE_WORKERS",
        "inference threads; 0 = sized to the engine (1: ONNX Runtime "
        "already spreads one inference over every core)",
        int_range(0, 64),
        "N",
    )
    queue_size: int = option(
        8,
        "SERVE_QUEUE_SIZE",
        "requests waiting for a worker; beyond that 503 + Retry-After",
        int_range(0, 4096),
        "N",
    )
    max_body_bytes: int = option(
        20 * 1024 * 1024,
        "SERVE_MAX_BODY_BYTES",
        "largest request body accepted (413 above)",
        int_range(1024, 1 << 30),
        "BYTES",
    )
    max_pixels: int = option(
        4096 * 4096,
        "SERVE_MAX_PIXELS",
        "largest image (width x height, read from its header before decoding) accepted (413 above)",
        int_range(1, 1 << 30),
        "N",
    )
    warmup_runs: int = option(
        2,
        "SERVE_WARMUP_RUNS",
        "inferences run before the service reports ready",
        int_range(0, 100),
        "N",
    )
    model_name: str = option(
        "textdetector",
        "SERVE_MODEL_NAME",
        "model name in /v2/models/<name> and Custom Vision answers",
        non_empty,
        "NAME",
    )
    tag: str = option(
        "text", "SERVE_TAG", "label reported for every detected region", non_empty, "LABEL"
    )
    retry_after: int = option(
        1,
        "SERVE_RETRY_AFTER",
        "seconds put in Retry-After when the queue is full or not ready",
        int_range(1, 3600),
        "S",
    )
    request_timeout: float = option(
        30.0,
        "SERVE_REQUEST_TIMEOUT",
        "seconds a request may wait for its result (504 after)",
        float_range(0.1, 3600.0),
        "S",
    )
    read_timeout: float = option(
        10.0,
        "SERVE_READ_TIMEOUT",
        "seconds to wait for the next bytes of a request body (408 "
        "and the connection closed after)",
        float_range(0.1, 3600.0),
        "S",
    )
    body_timeout: float = option(
        60.0,
        "SERVE_BODY_TIMEOUT",
        "seconds to receive a whole request body (408 after)",
        float_range(0.1, 3600.0),
        "S",
    )
    header_timeout: float = option(
        15.0,
        "SERVE_HEADER_TIMEOUT",
        "seconds a connection may take to send a request's "
        "headers, or stay idle between requests, before it is "
        "closed",
        float_range(0.1, 3600.0),
        "S",
    )
    max_connections: int = option(
        256,
        "SERVE_MAX_CONNECTIONS",
        "connections open at once; a new one beyond that gets 503 and is closed",
        int_range(1, 65535),
        "N",
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        "SERVE_ALLOWED_HOSTS",
        "Host header names accepted without SERVE_API_KEY "
        "(DNS-rebinding guard), comma-separated, besides "
        "localhost, loopback addresses and SERVE_HOST; "
        "checked when listening on loopback or when set",
        host_names,
        "NAMES",
    )
    api_key: str = option(
        "",
        "SERVE_API_KEY",
        "key every request but /v2/health/live and /v2/health/ready must "
        "carry (X-API-Key or Authorization: Bearer); unset = open "
        "(environment only, never a flag)",
        api_key,
        secret=True,
    )


@dataclass(frozen=True)
class TritonSettings:
    """A remote Triton Inference Server (KServe v2 protocol) that runs the models."""

    triton_url: str = option(
        "grpc://127.0.0.1:8001",
        "TRITON_URL",
        "Triton server: grpc://host:8001 or http://host:8000 (https/grpcs for TLS)",
        non_empty,
        "URL",
    )
    triton_timeout: float = option(
        10.0,
        "TRITON_TIMEOUT",
        "seconds per Triton request, and to wait for the models to be ready at start",
        float_range(0.1, 600.0),
        "S",
    )
    triton_protocol: str = option(
        "auto",
        "TRITON_PROTOCOL",
        "grpc or http; auto follows the TRITON_URL scheme",
        one_of("auto", "grpc", "http"),
        "NAME",
    )


@dataclass(frozen=True)
class TemporalSettings:
    """Doing less work on video: reuse results of frames and lines that did not change."""

    temporal_reuse: str = option(
        "region",
        "TEMPORAL_REUSE",
        "off = detect and read every frame; frame = a frame that did not change against "
        "the last inferred one reuses its result (marked reused); region = also, on "
        "changed frames, read only the lines that are new or whose crop changed",
        one_of("off", "frame", "region"),
        "MODE",
    )
    reuse_max_age: float = option(
        2.0,
        "REUSE_MAX_AGE",
        "seconds a result (or a line's reading) may be reused before a full refresh; "
        "sources started together take their first refresh at staggered times within it",
        float_range(0.0, 3600.0, low_open=True),
        "S",
    )


@dataclass(frozen=True)
class Settings:
    """Everything the `run` command needs, grouped by concern."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    recognizer: RecognizerSettings = field(default_factory=RecognizerSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    source: SourceSettings = field(default_factory=SourceSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    preview: PreviewSettings = field(default_factory=PreviewSettings)
    iothub: IoTHubSettings = field(default_factory=IoTHubSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    triton: TritonSettings = field(default_factory=TritonSettings)


RUN_GROUPS: dict[str, tuple[type, str]] = {
    "engine": (EngineSettings, "inference engine"),
    "detector": (DetectorSettings, "detection"),
    "recognizer": (RecognizerSettings, "text recognition"),
    "temporal": (TemporalSettings, "temporal reuse (video)"),
    "source": (SourceSettings, "video source"),
    "output": (OutputSettings, "output"),
    "preview": (PreviewSettings, "live preview (on HEALTH_PORT)"),
    "iothub": (IoTHubSettings, "IoT Hub messaging"),
    "mqtt": (MqttSettings, "MQTT v5 broker (CloudEvents out, snapshots in)"),
    "archive": (ArchiveSettings, "frame archive (Blob Storage)"),
    "triton": (TritonSettings, "remote Triton Inference Server"),
}


def check_mqtt(mqtt: MqttSettings, read_text: bool) -> None:
    """Settings that only make sense together."""
    if mqtt.mqtt_text_events and not read_text:
        raise ConfigError("MQTT_TEXT_EVENTS=true needs READ_TEXT=true")
    if bool(mqtt.mqtt_cert_file) != bool(mqtt.mqtt_key_file):
        raise ConfigError("MQTT_CERT_FILE and MQTT_KEY_FILE go together: set both or neither")
    if mqtt.mqtt_password and not mqtt.mqtt_username:
        raise ConfigError("MQTT_PASSWORD needs MQTT_USERNAME")


def load_settings(
    environ: Mapping[str, str] | None = None, args: argparse.Namespace | None = None
) -> Settings:
    """Read every settings group once, validated."""
    groups: dict[str, Any] = {
        name: load(cls, environ, args) for name, (cls, _) in RUN_GROUPS.items()
    }
    if groups["iothub"].text_events and not groups["recognizer"].read_text:
        raise ConfigError(
            "TEXT_EVENTS=true needs READ_TEXT=true: text events are made "
            "of the text read in each frame"
        )
    check_mqtt(groups["mqtt"], groups["recognizer"].read_text)
    return Settings(**groups)
