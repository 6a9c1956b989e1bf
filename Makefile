# Two commands on a fresh machine:  `make demo`  and  `make test`  (each creates .venv if missing).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mocap demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --durations=10 tests

bench: $(STAMP)
	$(PY) bench/calibration.py

clean:
	rm -rf out .pytest_cache
