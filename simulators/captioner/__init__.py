"""The relative captioner (Show, Attend and Tell over fused target/reference maps): the paper's user simulator.

    from simulators.captioner import load_captioner
    user = load_captioner(catalog)          # trains and caches on first use; python -m simulators.captioner.train
    user.describe(target_ids, candidate_ids)

Names are imported lazily, so `python -m simulators.captioner.train` runs its module only once.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CaptionerConfig": "model", "RelativeCaptioner": "model", "FUSIONS": "model",
    "TrainConfig": "train", "train_captioner": "train",
    "CheckpointMismatchError": "checkpoint", "read_checkpoint": "checkpoint",
    "CaptionerUser": "user", "CaptionerUserConfig": "user", "load_captioner": "user", "CAPTIONER_CORPUS": "user",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"simulators.captioner.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'simulators.captioner' has no attribute {name!r}")
