# The commands the README documents; VS Code tasks call these same targets.
# `make help` lists every target with the text after its `##`.
.DEFAULT_GOAL := help
PY := $(CURDIR)/.venv/bin/python
MODULE := iot-edge-solution/modules/textdetector
ARGS ?=
# The lane `make quick` runs: tests that need nothing beyond `make setup`.
UNIT_TESTS := $(MODULE)/tests/unit iot-edge-solution/modules/reviewdashboard/tests/unit \
	iot-edge-solution/modules/common/tests/unit
ARCH ?= amd64
SECTION ?= all

.PHONY: help setup run lint quick test coverage eval bench stack images quantize fuzz demo-train demo-train-det

help: ## list every target
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) \
		| sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

setup: ## create .venv, install the pinned requirements and the modules, fetch models, render the demo video and the evaluation set
	@bash scripts/setup.sh

run: ## set up what running needs (runtime requirements, models, demo video), then run the text detector on the demo video (CPU); ARGS="..." passes flags
	@bash scripts/setup.sh --run
	cd $(MODULE) && $(PY) main.py $(ARGS)

lint: setup ## ruff (lint, import order, format check) and mypy (the packages' types)
	$(PY) -m ruff check --output-format concise .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

quick: setup ## the unit tests of every module (tests/unit) without the slow ones (a second or more), no coverage, on two cores: the check after each edit (target 60 s)
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" -n 2 $(UNIT_TESTS) $(ARGS)

# Processes for `make test`: one more than two cores, so that a test waiting on a server, a
# stream or a container leaves its core to the others (measured in docs/testing.md).
TEST_WORKERS ?= 3

test: ## lint + the whole test suite with coverage (installs what the tests run against), on three processes
	@bash scripts/setup.sh --test
	$(PY) -m ruff check --output-format concise .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --cov \
		--cov-report=term-missing:skip-covered --cov-fail-under=85 --durations=25 $(ARGS)

fuzz: ## fuzz the parsers (image headers, multipart, settings, twin, REC_PATTERN, ZONES, MQTT snapshots, dashboard labels, detection labels): FUZZ_EXAMPLES per target (40000, >= 10 min)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-40000} $(PY) -m pytest -q -p no:cacheprovider \
		--hypothesis-show-statistics $(MODULE)/tests/unit/test_fuzz_parsers.py \
		$(MODULE)/tests/unit/test_serve_fuzz.py $(MODULE)/tests/unit/test_fuzz_patterns.py \
		$(MODULE)/tests/unit/test_fuzz_zones.py $(MODULE)/tests/unit/test_fuzz_det_labels.py \
		$(MODULE)/tests/unit/test_mqtt_units.py::test_fuzz_snapshot_payloads_never_raise \
		iot-edge-solution/modules/reviewdashboard/tests/unit/test_dashboard_fuzz.py \
		iot-edge-solution/modules/reviewdashboard/tests/unit/test_dashboard_labels.py::test_fuzz_label_post_bodies \
		$(ARGS)

coverage: setup ## tests with an HTML coverage report in htmlcov/
	$(PY) -m pytest --cov --cov-report=term --cov-report=html:htmlcov $(ARGS)
	@echo "HTML report: htmlcov/index.html"

eval: setup ## reading quality: demo video, rendered set, real photos per category against RapidOCR 3.10 (test split also turned 90/180/270 degrees), and REC_PATTERN on container codes and a segment display (targets MET/MISSED)
	cd $(MODULE) && $(PY) -m tools.eval $(ARGS)
	cd $(MODULE) && $(PY) -m tools.eval_real --json $(CURDIR)/bench-results/eval-real.json
	cd $(MODULE) && for turn in 90 180 270; do $(PY) -m tools.eval_real --split test --turn $$turn || exit 1; done
	bash scripts/test-deps.d/70-fonts-dseg.sh
	cd $(MODULE) && $(PY) -m tools.eval_expected
	cd $(MODULE) && $(PY) -m tools.charts

bench: setup ## benchmarks (tools/, figures to bench-results/); SECTION=all (default: detection, ocr, matrix, then e2e) | detection | ocr | matrix | e2e | engines | constrain | post | streams | cameras | reuse | drawing | preview | http | triton | gpu | soak | soak-streams; ARGS="..." to its tool
	cd $(MODULE) && PYTHONPATH=$(CURDIR)/testing $(PY) -m tools.sections $(SECTION) $(ARGS)

# The bench targets before `make bench SECTION=...`: aliases for one release.
BENCH_ALIASES := bench-post bench-streams bench-gpu bench-http bench-triton bench-engines \
	soak soak-streams
SECTION_OF_bench-post := post
SECTION_OF_bench-streams := streams
SECTION_OF_bench-gpu := gpu
SECTION_OF_bench-http := http
SECTION_OF_bench-triton := triton
SECTION_OF_bench-engines := engines
SECTION_OF_soak := soak
SECTION_OF_soak-streams := soak-streams
.PHONY: $(BENCH_ALIASES)
$(BENCH_ALIASES):
	@echo "warning: make $@ is deprecated (removed in the next release): use make bench SECTION=$(SECTION_OF_$@)" >&2
	@$(MAKE) --no-print-directory bench SECTION=$(SECTION_OF_$@)

stack: setup ## Azurite + textdetector archiving + review dashboard (http://127.0.0.1:8090)
	@bash scripts/stack.sh $(ARGS)

images: ## build the module images, the CPU dev container and the trainer with podman (ARCH=arm64 for ARM; ARGS=trainer for one)
	@ARCH=$(ARCH) bash scripts/build-images.sh $(ARGS)

demo-train: setup ## fine-tune the recogniser on rendered fourteen-segment displays (train-rec, the gates; installs the train extra): figures to bench-results/train-demo.md
	bash scripts/test-deps.d/70-fonts-dseg.sh
	bash scripts/test-deps.d/80-train.sh
	cd $(MODULE) && $(PY) -m tools.demo_train $(ARGS)

demo-train-det: setup ## fine-tune the detector on the real photos' tune split (train-det; installs the train extra), read the test split with both: figures to bench-results/train-det-real.md
	bash scripts/test-deps.d/80-train.sh
	cd $(MODULE) && $(PY) -m tools.demo_train_det $(ARGS)

quantize: setup ## INT8 models for OpenVINO (NNCF), cached with their checksums
	cd $(MODULE) && $(PY) -m tools.quantize $(ARGS)
