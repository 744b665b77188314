"""MODEL_SET: the setting, each pinned set on the demo video, the wheels' checksums."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest
from components import need
from test_cli import assert_one_line_error, run

from textdetector import config
from textdetector.config import RecognizerSettings, add_arguments, load
from textdetector.errors import ConfigError, ModelError
from textdetector.models import (
    DEFAULT_MODEL_SET,
    DET_MODELS,
    MODEL_SETS,
    REC_V6_MODEL,
    verify_model,
)
from textdetector.recognizer import TextRecognizer

MODULE_DIR = Path(__file__).resolve().parents[2]
LOCAL_DATA = MODULE_DIR / "local_data"


def test_default_set_and_its_model():
    settings = RecognizerSettings()
    assert settings.model_set == DEFAULT_MODEL_SET in MODEL_SETS
    assert settings.rec_model == LOCAL_DATA / MODEL_SETS[DEFAULT_MODEL_SET].rec.name


def test_environment_and_flag_choose_the_set():
    assert (
        load(RecognizerSettings, {"MODEL_SET": " PPOCRv4 "}).rec_model.name
        == "ch_PP-OCRv4_rec_infer.onnx"
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser, RecognizerSettings, "text recognition")
    args = parser.parse_args(["--model-set", "ppocrv6"])
    chosen = load(RecognizerSettings, {"MODEL_SET": "ppocrv4"}, args)  # the flag wins
    assert chosen.rec_model.name == REC_V6_MODEL.name


def test_rec_model_path_overrides_the_set(tmp_path):
    mine = tmp_path / "mine.onnx"
    settings = load(RecognizerSettings, {"MODEL_SET": "ppocrv4", "REC_MODEL_PATH": str(mine)})
    assert settings.rec_model == mine


def test_unknown_set_is_one_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as raised:
        load(RecognizerSettings, {"MODEL_SET": "ppocrv9"})
    message = str(raised.value)
    assert "MODEL_SET" in message and "ppocrv4" in message and "ppocrv6" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="ppocrv4, ppocrv6"):
        RecognizerSettings(model_set="ppocrv9")  # built in code, not parsed


def test_cli_refuses_an_unknown_set(python):
    done = run(python, "--model-set", "v5", "--max-frames", "1")
    assert_one_line_error(done, 2, "MODEL_SET")


def test_missing_model_of_the_chosen_set_says_run_setup(monkeypatch, tmp_path):
    """The set's file absent (a set-up that fetched another set): ModelError, exit code 3.
    LOCAL_DATA is pointed at an empty folder in-process; the real one must stay intact."""
    monkeypatch.setattr(config, "LOCAL_DATA", tmp_path)
    with pytest.raises(ModelError, match=r"PP-OCRv6_rec_small\.onnx.*make setup") as raised:
        TextRecognizer.open(RecognizerSettings(model_set="ppocrv6"))
    assert raised.value.exit_code == 3


def first_text_frame(demo_truth: list[dict]) -> tuple[int, list[str]]:
    record = next(r for r in demo_truth if r["lines"])
    return record["frame"], sorted(line["text"] for line in record["lines"])


@pytest.mark.parametrize("model_set", sorted(MODEL_SETS))
@pytest.mark.slow
def test_each_set_reads_the_first_text_frame(model_set, detector, demo_video, demo_truth):
    """Real models: each set's recogniser reads every line of the demo's first text frame."""
    settings = RecognizerSettings(model_set=model_set)
    need(settings.rec_model.is_file(), f"{settings.rec_model.name} missing: run `make setup`")
    number, truth = first_text_frame(demo_truth)
    capture = cv2.VideoCapture(str(demo_video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, number)
    ok, image = capture.read()
    capture.release()
    assert ok
    with TextRecognizer.open(settings) as recognizer:
        readings = recognizer.recognize(image, detector.detect(image)[0].boxes)
    assert recognizer.engine.metadata["character"]  # dictionary from the model itself
    assert sorted(t for t in readings.texts if t) == truth


# --- the set-up step: pinned wheels, verified before and after extraction ---


def test_fetch_one_set_extracts_only_its_models(dest_with_cached_wheels):
    from tools import fetch_models

    paths = fetch_models.fetch(dest_with_cached_wheels, "ppocrv6")
    wanted = [*MODEL_SETS["ppocrv6"].files, *DET_MODELS.values()]  # both detectors
    names = [*dict.fromkeys(m.name for m in wanted), fetch_models.ACCENTS_FILE]
    assert [p.name for p in paths] == names
    for path in paths:
        verify_model(path)
    assert not (dest_with_cached_wheels / "ch_PP-OCRv4_rec_infer.onnx").exists()


def test_corrupt_newer_model_fails_its_checksum(dest_with_cached_wheels):
    from tools import fetch_models

    [path] = [
        p
        for p in fetch_models.fetch(dest_with_cached_wheels, "ppocrv6")
        if p.name == REC_V6_MODEL.name
    ]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model(path)
    assert (
        fetch_models.main(["--dest", str(dest_with_cached_wheels), "--model-set", "ppocrv6"]) == 0
    )  # set-up replaces it
    verify_model(path)


def impostor_wheel(folder: Path) -> Path:
    """A valid wheel with the pinned name and version but other bytes."""
    wheel = folder / REC_V6_MODEL.package.wheel
    info = f"rapidocr-{REC_V6_MODEL.package.version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: rapidocr\nVersion: {REC_V6_MODEL.package.version}\n",
        )
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_downloaded_wheel_with_other_bytes_is_refused(
    dest_with_cached_wheels, tmp_path, monkeypatch, capsys
):
    """Real pip, offline: the only 'index' is a folder holding an impostor wheel. The
    tampered cached copy is discarded, the download fails its sha256, exit 3, one line."""
    from tools import fetch_models

    links = tmp_path / "links"
    links.mkdir()
    impostor_wheel(links)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    dest = dest_with_cached_wheels
    (dest / ".cache" / REC_V6_MODEL.package.wheel).write_bytes(b"tampered")
    assert fetch_models.main(["--dest", str(dest), "--model-set", "ppocrv6"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "checksum mismatch" in err and "\n" not in err
    assert not (dest / REC_V6_MODEL.name).exists()


def test_every_pinned_file_names_its_wheel_member(dest_with_cached_wheels):
    """Each model is looked up in its own wheel: the pins and the members agree."""
    from tools import fetch_models

    for wheel in sorted((dest_with_cached_wheels / ".cache").iterdir()):
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
        if wheel.name == fetch_models.WORDFREQ.wheel:  # the word lists REC_ACCENTS reads
            prefix = f"{fetch_models.WORDFREQ.models_dir}/large_"
            assert all(f"{prefix}{lang}.msgpack.gz" in names for lang in fetch_models.ACCENT_LANGS)
            continue
        mine = [m for m in fetch_models.MODELS if m.package.wheel == wheel.name]
        assert mine and all(m.member in names for m in mine)


def test_fetch_tool_refuses_an_unknown_set():
    done = subprocess.run(
        [sys.executable, str(MODULE_DIR / "tools" / "fetch_models.py"), "--model-set", "nope"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr


# --- the measuring tools take MODEL_SET lists ---


def test_eval_refuses_an_unknown_set(capsys):
    from tools import eval as evaluation

    with pytest.raises(SystemExit):
        evaluation.main(["--model-set", "ppocrv4,nope", "--no-parity"])
    assert "MODEL_SET" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_ocr_measures_both_sets_in_one_run(model_path, demo_video, tmp_path, capsys):
    """One frame, one round: each set gets its own table and ratios; RapidOCR's defaults
    contender (the same for both) is measured once and shown in both."""
    from tools import bench_ocr

    pytest.importorskip("rapidocr_onnxruntime")
    need(
        all((LOCAL_DATA / s.rec.name).is_file() for s in MODEL_SETS.values()),
        "a model set is missing: run `make setup`",
    )
    out, table = tmp_path / "ocr.json", tmp_path / "ocr.md"
    argv = ["--model-set", "ppocrv4,ppocrv6", "--frames", "1", "--rounds", "1"]
    assert bench_ocr.main([*argv, "--json", str(out), "--table", str(table)]) == 0
    header = "|  | MODEL_SET=ppocrv4 | MODEL_SET=ppocrv6 | target |"
    assert header in table.read_text(encoding="utf-8").splitlines()
    report = json.loads(out.read_text())
    assert set(report) == {"ppocrv4", "ppocrv6"}
    for figures in report.values():
        assert set(figures["results"]) == {
            "ocr-model-only",
            "ocr-pipeline",
            "rapidocr-ocr-defaults",
            "rapidocr-ocr-matched",
            "rapidocr3-ocr-defaults",
        }
        assert figures["crops"]["model_rec_ms_per_crop"] > 0
    for contender in ("rapidocr-ocr-defaults", "rapidocr3-ocr-defaults"):
        shared = [f["results"][contender] for f in report.values()]
        assert shared[0] == shared[1]
    assert capsys.readouterr().out.count("MODEL_SET=") == 2


@pytest.mark.slow
def test_engine_auto_reads_each_set_on_its_measured_fastest_cpu_engine(rec_model_path):
    """ENGINE=auto: PP-OCRv6's recogniser on ONNX Runtime (measured faster there), the
    PP-OCRv4 one on the CPU default; an explicit ENGINE or REC_MODEL_PATH is obeyed."""
    from textdetector.config import EngineSettings
    from textdetector.engines import CPU_AUTO_ORDER, installed, resolve_engine

    need(
        all((LOCAL_DATA / s.rec.name).is_file() for s in MODEL_SETS.values()),
        "model sets missing: run `make setup`",
    )

    def engine_of(engine=EngineSettings(), **settings):
        with TextRecognizer.open(RecognizerSettings(**settings), engine) as recognizer:
            return recognizer.engine.name

    assert MODEL_SETS["ppocrv6"].rec_cpu_engine == "onnxruntime"
    assert engine_of(model_set="ppocrv6") == "onnxruntime"
    assert engine_of(model_set="ppocrv4") == resolve_engine(EngineSettings())
    if installed("openvino") and CPU_AUTO_ORDER[0] == "openvino":
        assert engine_of(EngineSettings(engine="openvino"), model_set="ppocrv6") == "openvino"
        assert (
            engine_of(
                model_set="ppocrv6", rec_model_path=LOCAL_DATA / MODEL_SETS["ppocrv6"].rec.name
            )
            == "openvino"
        )
