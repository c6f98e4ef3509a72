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

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent, anchor_loss
from agents.training import TrainingRun, command_line, deterministic_algorithms

METHOD = "triplet_sl"


@dataclass(frozen=True)
class TripletSLArgs:
    """Triplet-loss supervised learning (the paper's SL; Adam 1e-3, batch 128, 5-turn dialogs)."""

    catalog: str = "full"
    """Catalog name: "full" (the protocol's SynthShoes) or "tiny" (64 items, for smoke runs)."""
    user: str = "captioner"
    """Simulated user to train with: a name in simulators.registry.USER_NAMES or HUMAN_USER_NAMES, or a population
    of them joined by "+" ("captioner+grammar", weights after a colon: "captioner:3+grammar:1"; one per dialog)."""
    seed: int = 0
    """Seed of initialisation, dialogs, sampling and the users' generators."""
    device: str = "cpu"
    """"cpu", "cuda" or "auto"."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""
    epochs: int = 16
    """Passes over the train split's targets (16: with hard negatives Hits@10 still rose from epoch 8 to 16)."""
    batch_size: int = 128
    """Dialogs per gradient step."""
    lr: float = 1e-3
    """Adam learning rate."""
    max_turns: int = 5
    """Turns of a training dialog."""
    eval_dialogs: int = 512
    """Protocol dialogs of the test split (a fixed subset) evaluated after every epoch (0: none)."""
    run_dir: str = ""
    """Folder of the run (default runs/<method>-<user>-s<seed>)."""
    captions: str = ""
    """The human caption files' folder, for users that replay people's captions (default:
    $SHOE_RETRIEVAL_HUMAN_CAPTIONS, else the shared data folder)."""
    resume: bool = False
    """Continue an interrupted run from its last checkpoint."""
    hard_negatives: int = 16
    """Hard-negative pool M of the triplet loss (SL's loss, the fine-tuning methods' anchor): each turn adds a
    term against an image drawn from the M nearest to s_t other than the target (0: random negatives only,
    the paper's; 16, the default, nearly doubled SL's Hits@10 at turn 5: docs/results/headroom.md)."""
    max_batches: int = 0
    """Stop each epoch after this many batches (0: the whole split; for smoke runs and tests)."""
    progress: bool = True
    """Show a progress bar."""
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


def train(args: TripletSLArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD)
    agent, optimizer = run.start(agent, init=args.init, lr=args.lr, top_k=args.top_k)
    model, device, watch, features = agent.model, run.device, run.watch, run.features
    with deterministic_algorithms(device):
        for epoch in run.remaining_epochs(agent):
            gen = run.torch_generator(epoch)  # candidate sampling and negatives
            for targets, firsts, seed in run.batches(epoch):
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
                run.log_step({"triplet": float(total.detach()) / args.max_turns,
                              "charts/train_rank_percentile": float(percentile.mean() / args.max_turns)})
            run.end_epoch(agent, optimizer)
    run.finish()
    return agent


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(TripletSLArgs, argv, __doc__)


if __name__ == "__main__":
    main()
