# `make demo` and `make test` work on a fresh clone: they create .venv when missing and
# (re)install the project whenever pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/warroom validate playbooks/
	$(BIN)/warroom exercise run breach-drill-q4 --out exercise-reports

test: $(STAMP)
	$(BIN)/pytest -q

# everything but the releases to thousands of recipients (marked `slow`)
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict warroom
	$(BIN)/mypy --strict tests

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/validate_library.py
	$(BIN)/python bench/incidents.py
	$(BIN)/python bench/trigger.py
	$(BIN)/python bench/page.py
	$(BIN)/python bench/readiness.py
	$(BIN)/python bench/sms.py
	$(BIN)/python bench/sms.py --latency --messages 2000
	$(BIN)/python bench/emails.py
	$(BIN)/python bench/pacing.py
	$(BIN)/python bench/cli.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
