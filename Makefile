# Two commands on a fresh machine: `make run` (set up + run the benchmark) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch is pinned for installs here (a local CPU wheel); the code supports torch >= 2.3.
TORCH  ?= torch==2.13.0
ARGS   ?= --all

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m suites.run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy spindrop hardware

bench: $(STAMP)
	$(PY) -m pytest -q tests/benchmarks --benchmark-enable --benchmark-only

clean:
	rm -rf $(VENV) runs .pytest_cache .benchmarks
