"""agents.training: the helpers the three training methods share, and the run arguments each method declares."""

from __future__ import annotations

import torch

from agents.policy_improvement import PolicyImprovementArgs
from agents.scst import SCSTArgs
from agents.training import deterministic_algorithms
from agents.triplet_sl import TripletSLArgs
from simulators.cli import field_docs

# What TrainingRun reads, declared by every method (epochs and lr too, with a default of each method's own).
RUN_ARGUMENTS = ("catalog", "user", "seed", "device", "threads", "batch_size", "max_turns", "eval_dialogs",
                 "run_dir", "captions", "resume", "hard_negatives", "max_batches", "progress")
FINE_TUNING_ARGUMENTS = ("init", "top_k", "grad_clip", "selection_head", "candidate_scorer", "selection_lr")


def declared(cls: type, name: str) -> tuple[object, str]:
    return getattr(cls(), name), field_docs(cls)[name]


def test_each_method_declares_the_run_arguments_alike():
    # Each method's file holds its whole argument list; this keeps the copies from drifting apart.
    for name in RUN_ARGUMENTS:
        assert len({declared(cls, name) for cls in (TripletSLArgs, SCSTArgs, PolicyImprovementArgs)}) == 1, name
    for name in FINE_TUNING_ARGUMENTS:
        assert declared(SCSTArgs, name) == declared(PolicyImprovementArgs, name), name
    assert (TripletSLArgs().lr, SCSTArgs().lr, PolicyImprovementArgs().lr) == (1e-3, 1e-4, 1e-4)


def test_deterministic_algorithms_restores_the_previous_mode():
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic_algorithms(torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before
