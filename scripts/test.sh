#!/usr/bin/env bash
# Set everything up, then run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
# The model tests run the real embedded models: CI fails (never skips) without them.
scripts/setup.sh --model "$@"
.venv/bin/opsgen model install --model qwen2.5-coder-0.5b --hf-runtime  # reference runtime
exec .venv/bin/python -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]:-}" tests
