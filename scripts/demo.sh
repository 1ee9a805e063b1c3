#!/usr/bin/env bash
# Set everything up, then run the main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --model
.venv/bin/opsgen dryrun --twice examples/prune-var-tmp.sh
# The main job: the embedded model writes the script; lint, dry-run twice and repair.
exec .venv/bin/opsgen new "install a cron job that prunes /var/tmp every night"
