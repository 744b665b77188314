"""The module's tools: set-up (models, demo video, evaluation set, INT8 models), reading
evaluation and benchmarks, run from the module folder as `python -m tools.NAME`
(`make bench SECTION=...` runs the benchmarks). `tools.harness` holds what the benchmarks
share."""
