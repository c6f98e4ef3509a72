#!/usr/bin/env bash
# Creates .venv (if needed) and installs the project with its test tools.
# On a machine without an NVIDIA GPU it first installs the CPU build of torch, so pip does not
# fetch a multi-GB CUDA build; with a GPU, pip resolves torch normally. Override the torch
# requirement with TORCH_SPEC (e.g. TORCH_SPEC="torch==2.13.0").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
if ! "$VPY" -c "import torch" 2>/dev/null; then
  if [ -n "${TORCH_SPEC:-}" ]; then
    "$VPY" -m pip install -q "$TORCH_SPEC"
  elif ! command -v nvidia-smi >/dev/null 2>&1; then
    "$VPY" -m pip install -q "torch==2.13.0"
  fi
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  "$VPY" -m pip install -q -e ".[dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
