#!/usr/bin/env bash
# The test suite: set up, lint, check the import contracts (pyproject.toml), then run pytest on tiny catalogs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
