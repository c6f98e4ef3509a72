#!/usr/bin/env bash
# The main job: set up, then build the SynthShoes catalog and run the benchmark on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m benchmarks.main "$@"
