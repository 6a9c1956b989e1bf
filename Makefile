# Two commands on a fresh machine:  `make demo`  and  `make test`  (each creates .venv if missing).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mocap demo

# The full suite: what CI runs (.ci/run).
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup --durations=10 tests

# The inner loop: everything but the tests marked slow (real footage, whole pipeline runs), under a minute.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not slow" tests

bench: $(STAMP)
	$(PY) bench/calibration.py

clean:
	rm -rf out .pytest_cache
