"""Labelling lines and exporting the dataset: real headless Chromium, real Azurite, the
textdetector's archive sink writing the frame, and the textdetector's dataset reader
reading the export (the contract `train-rec` reads)."""

from __future__ import annotations

import http.client
import io
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.parse
import zipfile
from pathlib import Path

import azurite_harness
import cv2
import dashboard_server
import numpy as np
import pytest
from azure.storage.blob import BlobServiceClient
from PIL import Image

from reviewdashboard.auth import COOKIE
from reviewdashboard.labels import parse_sidecar

TOKEN = "label-test-token-0123456789"
READ = ("GATE 1", "EXIT", "NOISE")  # what the detector read (the first is a misreading)
DRAWN = ("GATE 7", "EXIT", "~~~~")
BOXES = [
    [[15, 20], [235, 20], [235, 80], [15, 80]],
    [[15, 110], [160, 110], [160, 165], [15, 165]],
    [[180, 120], [300, 126], [298, 170], [178, 164]],
]
MODULE = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parents[5] / "test-artifacts"


def seed_three_lines(connection_string: str) -> str:
    """One uncertain frame (raw JPEG in `lowconf`) with three read lines; its blob name."""
    from textdetector.config import ArchiveSettings
    from textdetector.config import load as load_archive
    from textdetector.results import Detections, FrameResult
    from textdetector.sinks.archive import ArchiveSink

    settings = load_archive(
        ArchiveSettings, {"ARCHIVE_CONNECTION_STRING": connection_string, "ARCHIVE_INTERVAL": "0"}
    )
    image = np.full((200, 320, 3), 245, np.uint8)
    for (x, y), text in zip([(22, 68), (22, 155), (186, 158)], DRAWN):
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3)
    clock = itertools.count()
    with ArchiveSink(settings, "test", clock=lambda: 1_800_000_000.0 + next(clock)) as sink:
        det = Detections(
            np.array(BOXES, np.float32), np.array([0.7, 0.9, 0.65], np.float32), (200, 320)
        ).with_texts(READ, np.array([0.6, 0.95, 0.3], np.float32))
        sink.write(FrameResult(0, 0.0, "gate-cam", det, image=image))
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client(
        "lowconf"
    )
    return next(b.name for b in container.list_blobs() if "_gate-cam_" in b.name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        dashboard_server.seed(server.connection_string, frames=2)
        name = seed_three_lines(server.connection_string)
        with dashboard_server.serving(server.connection_string, DASHBOARD_TOKEN=TOKEN) as url:
            yield server, url, name


@pytest.fixture(scope="module")
def browser():
    with dashboard_server.chromium() as chromium:
        yield chromium


def blob(server, name: str) -> bytes:
    client = BlobServiceClient.from_connection_string(server.connection_string)
    return client.get_blob_client("lowconf", name).download_blob().readall()


def body_of(response) -> str:
    try:
        return response.body().decode("latin-1")
    except Exception:  # redirects and downloads have no body here
        return ""


def statuses(page) -> list[str]:
    return page.eval_on_selector_all("#labels li", "els => els.map(e => e.dataset.status)")


def focused_index(page) -> str:
    return page.evaluate("document.activeElement.closest('form.line').dataset.index")


def label_with_keyboard(page, base: str, name: str) -> list[float]:
    """Correct, confirm and ignore the three lines with keys only; seconds from each key
    to its saved status on the page."""
    page.goto(f"{base}/c/lowconf/f/{name}", wait_until="networkidle")
    assert statuses(page) == ["unlabelled"] * 3
    assert focused_index(page) == "0"  # the first unlabelled line has the focus
    page.keyboard.press("Control+A")
    page.keyboard.type("GATE 7")
    seconds = []
    for key, status, next_index in (
        ("Enter", "corrected", "1"),
        ("Enter", "confirmed", "2"),
        ("Escape", "ignored", "2"),
    ):
        start = time.perf_counter()
        page.keyboard.press(key)
        page.wait_for_selector(f"#labels li[data-status={status}]")
        seconds.append(time.perf_counter() - start)
        assert focused_index(page) == next_index  # the next line (the last stays)
    return seconds


@pytest.mark.slow
def test_label_three_lines_reload_and_export(browser, stack, tmp_path):
    server, base, name = stack
    image_before = blob(server, name)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    seen: list[str] = []
    page.on("response", lambda r: seen.append(f"{r.url}\n{r.all_headers()}\n{body_of(r)}"))
    page.goto(f"{base}/signin", wait_until="networkidle")
    page.fill("#token", TOKEN)
    page.click("#submit")
    page.wait_for_url(f"{base}/")
    seconds = label_with_keyboard(page, base, name)
    print(f"key to saved label: {', '.join(f'{t * 1000:.0f} ms' for t in seconds)}")
    assert max(seconds) < 3.0  # the reviewer never waits on the save
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-dashboard-labels.png"), full_page=True)

    page.reload(wait_until="networkidle")  # persisted in storage, not in the page
    assert statuses(page) == ["corrected", "confirmed", "ignored"]
    values = page.eval_on_selector_all("#labels input[name=text]", "els => els.map(e => e.value)")
    assert values[:2] == ["GATE 7", "EXIT"]
    assert blob(server, name) == image_before  # never written into the image
    sidecar = parse_sidecar(blob(server, name + ".labels.json"), "lowconf", name)
    assert [(x.index, x.read_text, x.label, x.status, x.by) for x in sidecar.lines] == [
        (0, "GATE 1", "GATE 7", "corrected", "reviewer"),
        (1, "EXIT", "EXIT", "confirmed", "reviewer"),
        (2, "NOISE", "", "ignored", "reviewer"),
    ]
    assert sidecar.lines[2].polygon == BOXES[2]

    page.goto(f"{base}/", wait_until="networkidle")
    with page.expect_download() as download:
        page.click("#export button")
    archive = tmp_path / "export.zip"
    download.value.save_as(archive)
    page.close()
    everything = "\n".join(seen) + archive.read_bytes().decode("latin-1")
    posts = [entry for entry in seen if entry.split("\n", 1)[0].endswith("/labels")]
    assert len(posts) == 3  # the three label POSTs' answers were seen too
    for secret in (server.key, server.connection_string, "AccountKey", "sig="):
        assert secret not in everything
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path / "unzipped")
    (root,) = (tmp_path / "unzipped").iterdir()
    check_dataset(root, name)


def check_dataset(root: Path, name: str) -> None:
    """Two lines exported (the corrected text, not the reading), the ignored line absent,
    crops as tall and wide as their polygons, the detection labels, and the dataset read
    by the textdetector's reader."""
    from textdetector.training.dataset import load_dataset

    rows = [
        line.split("\t")
        for split in ("train", "val")
        for line in (root / f"{split}.txt").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(text for _, text in rows) == ["EXIT", "GATE 7"]
    crops = {text: path for path, text in rows}
    with Image.open(root / crops["GATE 7"]) as crop:
        assert crop.size == (220, 60)
        dark = sum(crop.convert("L").histogram()[:128])
        assert dark > 300  # the drawn text is in the crop
    with Image.open(root / crops["EXIT"]) as crop:
        assert crop.size == (145, 55)
    assert not any("NOISE" in t or "~" in t for _, t in rows)
    info = json.loads((root / "dataset.json").read_text())
    assert (info["format"], info["version"], info["train"] + info["val"]) == (
        "paddleocr-rec",
        1,
        2,
    )
    det = (root / "detection" / "det_labels.txt").read_text(encoding="utf-8").splitlines()
    (path, entries) = det[0].split("\t")
    assert path == f"images/lowconf_{name}" and (root / "detection" / path).is_file()
    assert [e["transcription"] for e in json.loads(entries)] == ["GATE 7", "EXIT", "###"]
    dataset = load_dataset(root)  # the reader train-rec uses: both splits, crops decode
    assert {s.text for s in dataset.train + dataset.val} == {"GATE 7", "EXIT"}


def run_export(
    server, out: Path, containers: str = "annotated,lowconf"
) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        DASHBOARD_STORAGE_CONNECTION_STRING=server.connection_string,
        DASHBOARD_CONTAINERS=containers,
    )
    return subprocess.run(
        [sys.executable, "main.py", "export-labels", "--out", str(out)],
        cwd=MODULE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_export_command_is_deterministic_and_refuses_nothing(browser, stack, tmp_path):
    """The command writes the same dataset twice (same split), and with no labels says
    so in one line with exit 1, leaving nothing behind."""
    server, base, name = stack
    client = BlobServiceClient.from_connection_string(server.connection_string)
    if not client.get_blob_client("lowconf", name + ".labels.json").exists():
        page = browser.new_page()
        page.goto(f"{base}/signin")
        page.fill("#token", TOKEN)
        page.click("#submit")
        page.wait_for_url(f"{base}/")
        label_with_keyboard(page, base, name)
        page.close()
    first, second = run_export(server, tmp_path / "a"), run_export(server, tmp_path / "b")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "exported 1 train and 1 val lines from 1 frames (1 ignored" in first.stdout
    check_dataset(tmp_path / "a", name)
    for split in ("train.txt", "val.txt"):
        assert (tmp_path / "a" / split).read_text() == (tmp_path / "b" / split).read_text()
    again = run_export(server, tmp_path / "a")
    assert again.returncode == 1 and "exists and is not empty" in again.stderr
    empty = run_export(server, tmp_path / "none", containers="annotated")
    assert empty.returncode == 1
    assert empty.stderr.strip().splitlines() == [
        "error: no confirmed or corrected lines in annotated: label lines on a frame's page first"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temp dirs left


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str, str]:
    """One POST with exactly these headers: status, content type and body."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", parts.path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def scratch(stack):
    """A copy of the three-line frame in its own container, served by its own dashboard
    (so these writes never meet the browser test's labels)."""
    server, _, name = stack
    client = BlobServiceClient.from_connection_string(server.connection_string)
    source = client.get_blob_client("lowconf", name)
    client.create_container("scratch")
    client.get_blob_client("scratch", name).upload_blob(
        source.download_blob().readall(), metadata=source.get_blob_properties().metadata
    )
    with dashboard_server.serving(
        server.connection_string, DASHBOARD_TOKEN=TOKEN, DASHBOARD_CONTAINERS="scratch"
    ) as url:
        yield url, name, dashboard_server.sign_in(url, TOKEN)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "body, headers, status, message",
    [
        ("index=0&action=confirm&text=A", {"Sec-Fetch-Site": "cross-site"}, 403, "another site"),
        ("index=0&action=confirm&text=A", {"Origin": "http://evil.example"}, 403, "another site"),
        ("index=0&action=confirm&text=A", {"Content-Type": "text/plain"}, 415, FORM),
        ("index=0&action=confirm&text=A%0Ab", {}, 400, "control character (U+000A)"),
        ("index=0&action=confirm&text=" + "A" * 201, {}, 400, "at most 200"),
        ("index=9&action=confirm&text=A", {}, 400, "the frame has 3 lines"),
        ("index=0&action=rename&text=A", {}, 400, "is not one of confirm, ignore"),
        ("x" * 5000, {}, 413, "over 4096 bytes"),
    ],
)
def test_bad_label_posts_get_one_line_4xx(scratch, body, headers, status, message):
    base, name, session = scratch
    sent = {"Content-Type": FORM, "Cookie": f"{COOKIE}={session}", **headers}
    got, _, text = post(f"{base}/c/scratch/f/{name}/labels", body, sent)
    assert (got, message in text, text.count("\n")) == (status, True, 0), text


def test_label_post_needs_a_session_and_answers_json_or_redirect(stack, scratch):
    server, _, name = stack
    base, _, session = scratch
    url = f"{base}/c/scratch/f/{name}/labels"
    cookie = {"Content-Type": FORM, "Cookie": f"{COOKIE}={session}"}
    assert post(url, "index=1&action=confirm&text=EXIT", {"Content-Type": FORM})[0] == 401
    as_json = {**cookie, "Accept": "application/json"}
    status, kind, text = post(url, "index=1&action=confirm&text=EXIT", as_json)
    assert (status, kind.split(";")[0]) == (200, "application/json")
    assert json.loads(text)["status"] == "confirmed" and json.loads(text)["by"] == "reviewer"
    assert post(url, "index=2&action=ignore&text=", cookie)[0] == 303  # a plain form
    assert post(f"{base}/c/scratch/f/0000000000000_x_1.jpg/labels", "index=0", cookie)[0] == 404
    stored = parse_sidecar(blob_in(server, "scratch", name + ".labels.json"), "scratch", name)
    assert [(x.index, x.status) for x in stored.lines] == [(1, "confirmed"), (2, "ignored")]
    status, _, text = post(f"{base}/export", "", {**cookie, "Sec-Fetch-Site": "cross-site"})
    assert status == 403
    # labels whose frame is gone (retention) are skipped, the rest exported
    client = BlobServiceClient.from_connection_string(server.connection_string)
    orphan = "0000000000001_gone_1.jpg.labels.json"
    client.get_blob_client("scratch", orphan).upload_blob(
        blob_in(server, "scratch", name + ".labels.json")
    )
    exported = export_zip(f"{base}/export", {**cookie, "Sec-Fetch-Site": "same-origin"})
    assert exported == {"EXIT"}


def export_zip(url: str, headers: dict[str, str]) -> set[str]:
    """POST the export; the texts of the zip's train.txt and val.txt."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", parts.path, body=b"", headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body[:300]
    assert response.getheader("Content-Type") == "application/zip"
    assert "default-src 'self'" in response.getheader("Content-Security-Policy", "")
    texts = set()
    with zipfile.ZipFile(io.BytesIO(body)) as zipped:
        for member in zipped.namelist():
            if member.endswith(("/train.txt", "/val.txt")):
                lines = zipped.read(member).decode().splitlines()
                texts |= {line.split("\t")[1] for line in lines}
    return texts


def blob_in(server, container: str, name: str) -> bytes:
    client = BlobServiceClient.from_connection_string(server.connection_string)
    return client.get_blob_client(container, name).download_blob().readall()


def test_labels_posted_at_once_are_all_kept(stack, scratch):
    """Three reviewers label three lines of one frame at the same moment: the sidecar is
    written only if unchanged since read (ETag), so no label overwrites another."""
    from concurrent.futures import ThreadPoolExecutor

    server, _, name = stack
    base, _, session = scratch
    url = f"{base}/c/scratch/f/{name}/labels"
    headers = {"Content-Type": FORM, "Cookie": f"{COOKIE}={session}", "Accept": "application/json"}
    bodies = [f"index={i}&action=confirm&text=L{i}" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda body: post(url, body, headers), bodies))
    assert [status for status, _, _ in replies] == [200, 200, 200], replies
    stored = parse_sidecar(blob_in(server, "scratch", name + ".labels.json"), "scratch", name)
    assert [(x.index, x.label) for x in stored.lines] == [(0, "L0"), (1, "L1"), (2, "L2")]
