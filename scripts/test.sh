#!/usr/bin/env bash
# Set everything up, then run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]:-}" tests
