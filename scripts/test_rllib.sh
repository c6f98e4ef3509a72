#!/usr/bin/env bash
# RLlib's test (tests/agents/test_rllib.py) in a venv of its own, .venv-rllib: ray[rllib] pins gymnasium==1.2.2
# exactly, and the project's own venv (.venv, scripts/setup.sh) keeps the newer gymnasium it is developed with.
# The venv is created and filled on first use (the CPU build of torch on a machine without an NVIDIA GPU,
# TORCH_SPEC overrides it), then reused while pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-rllib
RLLIB_SPEC=${RLLIB_SPEC:-"ray[rllib]==2.60.0"}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
VPY=$VENV/bin/python
if ! "$VPY" -c "import torch" 2>/dev/null; then
  if [ -n "${TORCH_SPEC:-}" ]; then
    "$VPY" -m pip install -q "$TORCH_SPEC"
  elif ! command -v nvidia-smi >/dev/null 2>&1; then
    "$VPY" -m pip install -q "torch==2.13.0"
  fi
fi
stamp=$VENV/.installed-$(cat pyproject.toml scripts/test_rllib.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  # The project (its core: the environment and the agents) with RLlib's gymnasium, and the test runner.
  "$VPY" -m pip install -q -e . "$RLLIB_SPEC" "gymnasium==1.2.2" "pytest>=7"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
"$VPY" -c "import gymnasium, ray; print(f'RLlib test venv: ray {ray.__version__}, gymnasium {gymnasium.__version__}')"
SHOE_RETRIEVAL_REQUIRE_RLLIB=1 exec "$VPY" -m pytest tests/agents/test_rllib.py -p no:cacheprovider "$@"
