"""Supervised pre-training of the dialog manager with the triplet loss (Guo et al. 2018, Sec. 3.2).

    python -m agents.triplet_sl                       # full catalog, captioner user; --help lists every argument
    python -m agents.triplet_sl --user grammar --epochs 5
    python -m agents.triplet_sl --resume              # continue an interrupted run

Dialogs are run by the policy itself: at every turn the manager reads the image on show and the
feedback, outputs s_t, and its candidate generator samples the next image among the K nearest
unseen ones. The loss sums over turns the triplet loss of s_t against the target's vector and a
random image's: max(0, margin + |s_t - target| - |s_t - random|), distances in the model's unit.
With `--hard-negatives M` each turn adds the same term against an image drawn from the M nearest to
s_t other than the target: the random negative keeps the whole ranking in order, the hard one
sharpens its top, where Hits@10 is decided.
The checkpoint in `runs/triplet_sl-<user>-s<seed>/checkpoint` is where RL-SCST and policy
improvement start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.training import TrainArgs, TrainingRun, command_line

METHOD = "triplet_sl"


@dataclass(frozen=True)
class TripletSLArgs(TrainArgs):
    """Triplet-loss supervised learning (the paper's SL; Adam 1e-3, batch 128, 5-turn dialogs)."""

    epochs: int = 16
    """Passes over the train split's targets (16: with hard negatives Hits@10 still rose from epoch 8 to 16)."""
    margin: float = 0.1
    """Triplet margin, in the model's unit of distance (the RMS norm of the catalog's vectors)."""
    top_k: int = 4
    """Candidates the generator samples among while training (the K nearest unseen images)."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this."""
    init: str = ""
    """Checkpoint to continue from (e.g. at a lower --lr: the fine-tuning methods' budget without their RL term)."""

    def train(self, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
        return train(self, agent)


def triplet_loss(state: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, scale: torch.Tensor,
                 margin: float) -> torch.Tensor:
    """(B,) max(0, margin + |s - positive| - |s - negative|), distances divided by `scale`."""
    d_pos = torch.linalg.vector_norm((state - positive) / scale, dim=1)
    d_neg = torch.linalg.vector_norm((state - negative) / scale, dim=1)
    return torch.relu(margin + d_pos - d_neg)


def anchor_loss(agent: DialogManagerAgent, state: torch.Tensor, targets: torch.Tensor, features: torch.Tensor,
                margin: float, hard_negatives: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """((B,) the SL triplet loss of s_t, (B,) its random negatives): against a random train image and, with
    `hard_negatives` = M > 0, also against one drawn from the M nearest images to s_t other than the target
    (a top-of-ranking objective: it pays for every near miss that outranks the target)."""
    b, scale = len(state), agent.model.feature_scale
    negatives = torch.randint(0, len(features), (b,), generator=gen, device=state.device)
    loss = triplet_loss(state, features[targets], features[negatives], scale, margin)
    if hard_negatives:
        pool = agent.topk_candidates(state, targets[:, None], k=hard_negatives)  # (B, M) nearest non-targets
        pick = torch.randint(0, pool.shape[1], (b, 1), generator=gen, device=state.device)
        loss = loss + triplet_loss(state, features[targets], features[pool.gather(1, pick)[:, 0]], scale, margin)
    return loss, negatives


def train(args: TripletSLArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD)
    agent, optimizer = run.start(agent, init=args.init, lr=args.lr, top_k=args.top_k)
    model, device, watch = agent.model, run.device, run.watch
    features = run.features

    def iteration(epoch: int, index: int, batch: tuple[np.ndarray, np.ndarray, int],
                  gen: torch.Generator) -> dict[str, Any]:
        targets, firsts, seed = batch
        model.train()
        with watch("env"):
            obs, info = run.reset(targets, firsts, seed)
        b = len(targets)
        target_t = torch.as_tensor(info["target"], device=device)
        hidden = model.initial_hidden(b, device)
        shown = torch.as_tensor(obs["candidate"], device=device)[:, None]  # (B, 1) images shown so far
        alive = torch.ones(b, dtype=torch.bool, device=device)
        total, percentile = torch.zeros((), device=device), np.zeros(b)
        for _ in range(args.max_turns):
            with watch("network"):
                image = torch.as_tensor(obs["candidate_features"], device=device)
                tokens = torch.as_tensor(obs["feedback"], device=device)
                state, hidden = model.step(image, tokens, hidden)  # (B, D)
                loss, _ = anchor_loss(agent, state, target_t, features, args.margin, args.hard_negatives, gen)
                total = total + (loss * alive).sum() / b
                candidates = agent.topk_candidates(state, shown)
                chosen, _ = agent.sample_candidates(state, candidates, generator=gen)
            with watch("env"):
                obs, reward, terminated, truncated, info = run.env.step(
                    {"query": state.detach().cpu().numpy(), "candidate": chosen.cpu().numpy()})
            percentile += np.where(alive.cpu().numpy(), reward, 1.0)
            alive = alive & ~torch.as_tensor(terminated, device=device)
            shown = torch.cat([shown, chosen[:, None]], dim=1)
        with watch("network"):
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            optimizer.step()
        return {"triplet": float(total.detach()) / args.max_turns, "charts/train_rank_percentile":
                float(percentile.mean() / args.max_turns)}

    return run.epochs(agent, optimizer, iteration)


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(TripletSLArgs, argv, __doc__)


if __name__ == "__main__":
    main()
