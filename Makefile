# The two commands of the README. Both set everything up first (idempotent).
.PHONY: setup demo test lint bench

setup:
	scripts/setup.sh

demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint: setup
	.venv/bin/ruff check opsgen tests bench
	.venv/bin/mypy opsgen
