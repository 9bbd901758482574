# The two commands a newcomer types: `make run` and `make test`.
PY := .venv/bin/python
DB ?= data/dx.duckdb

.PHONY: run test test-fast lint setup setup-system sample bench bench-full

setup:
	scripts/setup.sh

setup-system:
	scripts/setup.sh --system

sample: setup
	$(PY) -m etl sample --db $(DB)

# Installs, builds the sample database when there is none, and serves the dashboard on http://localhost:8501
# (an existing database whose marts an earlier version built gets them rebuilt; its records stay).
# Local use without sign-in: it listens on 127.0.0.1 only (PORT=8502 make run for another port; Ctrl+C stops it).
PORT ?= 8501
run:
	scripts/setup.sh --system-if-missing
	@if [ -f $(DB) ]; then $(PY) -m etl rebuild --db $(DB) --if-outdated; else $(PY) -m etl sample --db $(DB); fi
	@echo "地域DX支援モニターを起動します: ブラウザーで http://localhost:$(PORT) を開いてください（終了は Ctrl+C）"
	$(PY) -m streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT)

# Installs everything the tests need (Debian chromium + fonts-noto-cjk, pip packages), lints, and runs every test
# (three workers on two cores — the browser and load tests wait on other processes —: pytest-xdist;
# PYTEST_WORKERS=0 runs them in one process).
PYTEST_WORKERS ?= 3
test: setup-system lint
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# The quick loop while working: every test but the browser (Chromium) and slow (large data, killed or concurrent
# loads) ones — see the markers in pyproject.toml. Its time: docs/performance.md. `make lint` separately.
test-fast: setup
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not browser and not slow"

lint:
	$(PY) -m ruff check .

bench: setup
	$(PY) benchmarks/run_all.py --scale small

bench-full: setup
	$(PY) benchmarks/run_all.py --scale full --write-docs
