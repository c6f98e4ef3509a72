"""The relative captioner (Show, Attend and Tell over fused target/reference maps): the paper's user simulator.

    from simulators.captioner import load_captioner
    user = load_captioner(catalog, vocabulary)   # trains and caches on first use; python -m simulators.build captioner
    user.describe(target_ids, candidate_ids)

Most code asks for it by name instead: `simulators.registry.make_user("captioner", catalog)`.
Names are imported lazily, so importing the package stays cheap.
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
