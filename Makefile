# Two commands: `make demo` (run) and `make test`. Each installs what it needs first.
# `make test-fast`: the edit loop (lint, types, every test not marked slow: about 4-5 min here, against 12-13 for `make test`).
.PHONY: install demo test test-fast bench

install:
	@bash scripts/bootstrap

demo: install
	.venv/bin/lgd demo --out out/demo

test: install
	@bash scripts/ensure-redis
	.venv/bin/ruff check core media diarize interaction analysis hr dashboard server lgd testkit benchmarks tests
	.venv/bin/mypy
	.venv/bin/pytest -q

test-fast: install
	@bash scripts/ensure-redis
	.venv/bin/ruff check core media diarize interaction analysis hr dashboard server lgd testkit benchmarks tests
	.venv/bin/mypy
	.venv/bin/pytest -q -m "not slow"

bench: install
	.venv/bin/python benchmarks/speed.py
	.venv/bin/python benchmarks/accuracy.py
