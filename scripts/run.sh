#!/usr/bin/env bash
# The main job: set up, then build what is missing (catalog, captioner, agents), evaluate every agent, print the
# leaderboard. Arguments go to benchmarks.main (e.g. --profile paper, --catalog tiny).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m benchmarks.main "$@"
