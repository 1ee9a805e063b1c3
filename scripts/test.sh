#!/usr/bin/env bash
# Set everything up, then run the whole test suite (what CI runs).
#   scripts/test.sh [PYTEST ARGS...]     e.g. scripts/test.sh -m "not model" tests/sandbox
set -euo pipefail
cd "$(dirname "$0")/.."
# The model tests run the real embedded models: CI fails (never skips) without them.
scripts/setup.sh --model
.venv/bin/opsgen model install --model qwen2.5-coder-0.5b --hf-runtime  # reference runtime
if [ $# -eq 0 ]; then set -- tests; fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
