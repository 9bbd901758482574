# The two commands a newcomer types: `make run` and `make test`.
PY := .venv/bin/python
DB ?= data/dx.duckdb

.PHONY: run test setup setup-system sample bench bench-full

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
run: setup
	@if [ -f $(DB) ]; then $(PY) -m etl rebuild --db $(DB) --if-outdated; else $(PY) -m etl sample --db $(DB); fi
	$(PY) -m streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT)

# Installs everything the tests need (Debian chromium + fonts-noto-cjk, pip packages) and runs every test
test: setup-system
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run_all.py --scale small

bench-full: setup
	$(PY) benchmarks/run_all.py --scale full --write-docs
