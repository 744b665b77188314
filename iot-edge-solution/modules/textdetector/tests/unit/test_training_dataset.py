"""The recognition dataset train-rec reads (train.txt / val.txt / crops), and the
command's readable refusals of bad input before any training (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from textdetector.cli import main
from textdetector.training.dataset import (
    DatasetError,
    Sample,
    load_dataset,
    parse_line,
    write_info,
    write_split,
)
from textdetector.training.labels import Dictionary, needed_characters


def crop(path: Path, text: str = "AB") -> None:
    image = np.full((32, 96, 3), 255, np.uint8)
    cv2.putText(image, text, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


def dataset(root: Path, train: list[str], val: list[str]) -> Path:
    samples = {}
    for split, texts in (("train", train), ("val", val)):
        samples[split] = []
        for i, text in enumerate(texts):
            name = f"crops/{split}-{i}.png"
            crop(root / name, text)
            samples[split].append(Sample(name, text))
        write_split(root, split, samples[split])
    write_info(root, source="test")
    return root


def test_reads_the_label_format_with_spaces_and_a_bom(tmp_path: Path) -> None:
    root = dataset(tmp_path, ["AB 12", "C-3"], ["XY"])
    (root / "val.txt").write_text("\ufeffcrops/val-0.png\tX Y\n\n", encoding="utf-8")
    loaded = load_dataset(root)
    assert [s.text for s in loaded.train] == ["AB 12", "C-3"]
    assert loaded.val == (Sample("crops/val-0.png", "X Y"),)
    assert loaded.info["format"] == "paddleocr-rec"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("crops/a.png AB", "expected '<crop path><TAB><text>'"),
        ("crops/a.png\t ", "empty text"),
        ("../outside.png\tAB", "relative inside the dataset"),
        ("/etc/passwd\tAB", "relative inside the dataset"),
    ],
)
def test_malformed_lines_are_named(line: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_line(line, "train.txt line 1")


def test_bad_datasets_are_refused_with_one_line(tmp_path: Path) -> None:
    root = dataset(tmp_path / "a", ["AB"], ["CD"])
    (root / "val.txt").write_text("")
    with pytest.raises(DatasetError, match="val.txt has no labelled crops"):
        load_dataset(root)
    (root / "train.txt").write_text("")
    with pytest.raises(DatasetError, match="train.txt has no labelled crops"):
        load_dataset(root)
    broken = dataset(tmp_path / "b", ["AB"], ["CD"])
    (broken / "crops/val-0.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="not a readable image: .*val-0.png"):
        load_dataset(broken)
    (broken / "crops/val-0.png").unlink()
    with pytest.raises(DatasetError, match="val-0.png"):
        load_dataset(broken)
    (broken / "dataset.json").write_text('{"format": "coco"}')
    with pytest.raises(DatasetError, match="format 'coco'"):
        load_dataset(broken)


def test_unknown_characters_are_named_or_added(tmp_path: Path) -> None:
    root = dataset(tmp_path, ["AB€", "A"], ["B"])
    loaded = load_dataset(root)
    dictionary = Dictionary.of_symbols(["A", "B"])
    with pytest.raises(DatasetError, match=r"'€' \(U\+20AC\).*--add-chars"):
        needed_characters(loaded, dictionary, add=False)
    added = needed_characters(loaded, dictionary, add=True)
    assert added == ["€"]
    grown = dictionary.grown(added)
    assert grown.labels == ("", "A", "B", "€", " ")
    assert grown.encode("A€ B") == [1, 3, 4, 2]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["train-rec", *args])
    return code, capsys.readouterr().err


def test_train_rec_refuses_bad_input_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each refusal is one `error:` line, exit 2, and nothing at --out."""
    out = tmp_path / "model"
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        "train.txt not found": ["--data", str(empty)],
        "'ꙮ' (U+A66E)": ["--data", str(dataset(tmp_path / "odd", ["Aꙮ"], ["A"]))],
        "--epochs must be at least 1": ["--data", str(empty), "--epochs", "0"],
    }
    for message, args in cases.items():
        code, err = run_cli([*args, "--out", str(out)], capsys)
        assert code == 2, err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
        assert not out.exists()
    (out / "x").parent.mkdir()
    (out / "x").write_text("keep")
    code, err = run_cli(["--data", str(empty), "--out", str(out)], capsys)
    assert code == 2 and "already exists and is not empty" in err
    assert (out / "x").read_text() == "keep"
