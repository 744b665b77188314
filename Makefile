# The commands the README documents; VS Code tasks call these same targets.
# `make help` lists every target with the text after its `##`.
.DEFAULT_GOAL := help
PY := $(CURDIR)/.venv/bin/python
MODULE := iot-edge-solution/modules/textdetector
ARGS ?=
ARCH ?= amd64

.PHONY: help setup run lint test coverage eval bench bench-post bench-gpu bench-http \
	bench-streams bench-triton soak soak-streams stack images quantize bench-engines fuzz

help: ## list every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

setup: ## create .venv, install the pinned requirements and the modules, fetch models, render the demo video and the evaluation set
	@bash scripts/setup.sh

run: setup ## run the text detector on the demo video (CPU); ARGS="..." passes flags
	cd $(MODULE) && $(PY) main.py $(ARGS)

lint: setup ## ruff (lint, import order, format check)
	$(PY) -m ruff check --output-format concise .
	$(PY) -m ruff format --check .

test: ## lint + the whole test suite with coverage (installs what the tests run against)
	@bash scripts/setup.sh --test
	$(PY) -m ruff check --output-format concise .
	$(PY) -m ruff format --check .
	$(PY) -m pytest --cov --cov-report=term-missing:skip-covered --cov-fail-under=85 $(ARGS)

fuzz: ## fuzz the parsers (image headers, multipart, settings, twin): FUZZ_EXAMPLES per target (40000, >= 10 min)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-40000} $(PY) -m pytest -q -p no:cacheprovider \
		--hypothesis-show-statistics $(MODULE)/tests/unit/test_fuzz_parsers.py \
		$(MODULE)/tests/unit/test_serve_fuzz.py \
		iot-edge-solution/modules/reviewdashboard/tests/unit/test_dashboard_fuzz.py $(ARGS)

coverage: setup ## tests with an HTML coverage report in htmlcov/
	$(PY) -m pytest --cov --cov-report=term --cov-report=html:htmlcov $(ARGS)
	@echo "HTML report: htmlcov/index.html"

eval: setup ## reading quality: demo video, rendered set, and real photos per category against RapidOCR 3.10 (targets MET/MISSED)
	cd $(MODULE) && $(PY) tools/eval.py $(ARGS)
	cd $(MODULE) && $(PY) tools/eval_real.py

bench: setup ## benchmark: detection, OCR and every engine x precision; model-only vs pipeline vs RapidOCR 1.4.4 and 3.10 (ratios); the demo video end to end
	cd $(MODULE) && $(PY) tools/bench.py $(ARGS)
	cd $(MODULE) && $(PY) tools/bench_e2e.py

bench-post: setup ## dense-text (500+ words) post-process: fast vs reference, ms
	cd $(MODULE) && $(PY) tools/bench_postprocess.py $(ARGS)

bench-streams: setup ## multi-stream benchmark: N = 1, 2, 4, 8 sources, fps and batch sizes (ARGS="--engine triton": through Triton)
	cd $(MODULE) && PYTHONPATH=$(CURDIR)/testing $(PY) tools/bench_streams.py $(ARGS)

soak: setup ## soak run: fps and RSS over 10,000 frames (ARGS="--seconds 600" for time)
	cd $(MODULE) && $(PY) tools/soak.py $(ARGS)

soak-streams: setup ## live-stream soak: a test stream crashed every 30 s for 10 min, RSS and thread drift (not in CI)
	cd $(MODULE) && PYTHONPATH=$(CURDIR)/testing $(PY) tools/soak_streams.py $(ARGS)

bench-gpu: setup ## GPU benchmark: TensorRT FP16/FP32, ORT CUDA vs ORT CPU (skips what is absent)
	cd $(MODULE) && $(PY) tools/bench_gpu.py $(ARGS)

stack: setup ## Azurite + textdetector archiving + review dashboard (http://127.0.0.1:8090)
	@bash scripts/stack.sh $(ARGS)

bench-http: setup ## HTTP service vs in-process vs a Flask baseline (concurrency 1/4/16)
	cd $(MODULE) && $(PY) tools/bench_http.py $(ARGS)

bench-triton: setup ## N = 1, 2, 4, 8 sources through a local Triton server vs local ONNX Runtime
	cd $(MODULE) && PYTHONPATH=$(CURDIR)/testing $(PY) tools/bench_triton.py $(ARGS)

images: ## build the module images and the CPU dev container with podman (ARCH=arm64 for ARM)
	@ARCH=$(ARCH) bash scripts/build-images.sh $(ARGS)

quantize: setup ## INT8 models for OpenVINO (NNCF), cached with their checksums
	cd $(MODULE) && $(PY) tools/quantize.py $(ARGS)

bench-engines: setup ## ONNX Runtime vs OpenVINO FP32/BF16/INT8: ms, ratios, parity gate
	cd $(MODULE) && $(PY) tools/bench_engines.py $(ARGS)
