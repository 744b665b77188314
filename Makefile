# The commands the README documents; VS Code tasks call these same targets.
#   make run   - run the text detector on the demo video (CPU); ARGS="..." passes flags
#   make test  - lint + the whole test suite with coverage
#   make lint  - flake8 only
#   make coverage - tests with an HTML coverage report in htmlcov/
#   make bench - benchmark: model-only vs pipeline vs RapidOCR (ratios)
#   make bench-post - dense-text (500+ words) post-process: fast vs reference, ms
#   make bench-streams - multi-stream benchmark: N = 1, 2, 4, 8 sources, fps and batch sizes
#   make soak  - soak run: fps and RSS over 10,000 frames (ARGS="--seconds 600" for time)
#   make bench-gpu - GPU benchmark: TensorRT FP16/FP32, ORT CUDA vs ORT CPU (skips what is absent)
#   make stack - Azurite + textdetector archiving + review dashboard (http://127.0.0.1:8090)
#   make bench-http - HTTP service vs in-process vs a Flask baseline (concurrency 1/4/16)
#   make quantize - INT8 detection model for OpenVINO (NNCF), cached with its checksums
#   make bench-engines - ONNX Runtime vs OpenVINO FP32/BF16/INT8: ms, ratios, parity gate
.DEFAULT_GOAL := help
PY := $(CURDIR)/.venv/bin/python
MODULE := iot-edge-solution/modules/textdetector
ARGS ?=

.PHONY: help setup run detect lint test coverage bench bench-post bench-gpu bench-http bench-streams soak stack quantize bench-engines
help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

setup:
	@bash scripts/setup.sh

run: setup
	cd $(MODULE) && $(PY) main.py $(ARGS)

lint: setup
	$(PY) -m flake8

test:
	@bash scripts/setup.sh --test
	$(PY) -m flake8
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered --cov-fail-under=85 $(ARGS)

coverage: setup
	$(PY) -m pytest --cov --cov-report=term --cov-report=html:htmlcov $(ARGS)
	@echo "HTML report: htmlcov/index.html"

bench: setup
	cd $(MODULE) && $(PY) tools/bench.py $(ARGS)

bench-post: setup
	cd $(MODULE) && $(PY) tools/bench_postprocess.py $(ARGS)

bench-streams: setup
	cd $(MODULE) && $(PY) tools/bench_streams.py $(ARGS)

soak: setup
	cd $(MODULE) && $(PY) tools/soak.py $(ARGS)

bench-gpu: setup
	cd $(MODULE) && $(PY) tools/bench_gpu.py $(ARGS)

stack: setup
	@bash scripts/stack.sh $(ARGS)

bench-http: setup
	cd $(MODULE) && $(PY) tools/bench_http.py $(ARGS)

quantize: setup
	cd $(MODULE) && $(PY) tools/quantize.py $(ARGS)

bench-engines: setup
	cd $(MODULE) && $(PY) tools/bench_engines.py $(ARGS)
