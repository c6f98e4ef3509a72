"""RL-SCST: self-critical policy gradient for the dialog manager (Guo et al. 2018, Sec. 3.2), from triplet SL.

    python -m agents.scst                       # starts from runs/triplet_sl-<user>-s<seed>/checkpoint
    python -m agents.scst --user grammar --init runs/triplet_sl-grammar-s0/checkpoint

For each training target two dialogs run side by side from the same first image: one whose
candidates are sampled from the candidate generator and one whose candidates are greedy (the
nearest unseen image). The advantage is the sampled dialog's return minus the greedy one's (the
self-critical baseline); the loss is minus the advantage times the summed log-probability of the
sampled candidates, plus the SL triplet loss of the sampled dialogs' states as an anchor.

Why the anchor: s_t is both the point the candidates are sampled around and the query that earns
the reward. The policy gradient moves s_t toward sampled candidates that did well and away from
those that did not, and nothing in it keeps s_t a good query; with the paper's summed rank
percentile the advantages are tiny (|mean| < 0.003) and Adam turns them into full-size steps, so the
query drifts (the captioner-trained run fell from 98.8% to 63.8% at turn 2). Two things stop that by
default: the anchor keeps s_t a good query, and a selection head (`--selection-head`, on by
default) gives the point the candidates are sampled around, read through a stopped gradient, so
the policy gradient trains which image is shown and cannot move the query at all.
`--anchor none --no-selection-head --return percentile --hard-negatives 0` is the paper's SCST.
The return (`--return`, agents.returns) is computed from the target's rank; a dialog that shows
its target earns 1 for every turn left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent, anchor_loss
from agents.returns import check_return, dialog_value
from agents.training import TrainingRun, command_line, deterministic_algorithms, sl_checkpoint

METHOD = "scst"
ANCHORS = ("triplet", "none")


@dataclass(frozen=True)
class SCSTArgs:
    """Self-critical sequence training (the paper's RL baseline; Adam 1e-4), with the SL loss as an anchor."""

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
    epochs: int = 5
    """Passes over the train split's targets."""
    batch_size: int = 128
    """Dialogs per gradient step."""
    lr: float = 1e-4
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
    init: str = ""
    """Checkpoint to start from (default: the SL run of the same user and seed, runs/triplet_sl-<user>-s<seed>)."""
    top_k: int = 4
    """Candidates per turn: the K nearest unseen images to s_t."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this."""
    return_name: Literal["percentile", "log-rank", "top-10"] = field(default="top-10", metadata={"flag": "return"})
    """`--return`: what a dialog's turns earn (agents.returns): "percentile", the paper's summed rank percentile
    (the env's reward); "log-rank", 1 - log(1 + rank) / log(N); "top-10", 1 when the target is in the top 10
    (the default: the percentile is saturated here and barely tells a rank of 3 from one of 300)."""
    selection_head: bool = True
    """Choose the image to show with a selection head (DialogManagerConfig.selection_head, started as a copy of
    the query head) that the policy's loss trains, while only the anchor trains the query; False: the paper's
    manager, where the policy's loss moves s_t itself."""
    candidate_scorer: int = 0
    """Choose the image to show with a residual candidate scorer of this width instead of the selection head
    (DialogManagerConfig.candidate_scorer; 0: none). It reads the candidates' rank, distance to s_t and to the
    images already shown, which a point in feature space cannot."""
    selection_lr: float = 1e-3
    """Adam learning rate of the selection head or scorer (a new objective, learnt faster than the rest)."""
    temperature: float = 0.2
    """Softmax temperature of the candidate generator over negative distances (model units) while sampling."""
    anchor: str = "triplet"
    """What keeps s_t a good query while the policy gradient moves it: "triplet", the SL loss of the sampled
    dialogs' states (with `hard_negatives` as SL had them), or "none" (the paper's SCST, which drifts:
    docs/results/headroom.md)."""
    anchor_weight: float = 1.0
    """Weight of the anchor term."""
    margin: float = 0.1
    """Triplet margin of the anchor (model units)."""

    def __post_init__(self) -> None:
        check_return(self.return_name)
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {self.anchor!r}")

    def train(self, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
        return train(self, agent)


def train(args: SCSTArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD, copies=2)  # each target's dialog twice: sampled and greedy
    agent, optimizer = run.start(agent, init=args.init or sl_checkpoint(run.run_dir, args.user, args.seed),
                                 lr=args.lr, selection_head=args.selection_head, selection_lr=args.selection_lr,
                                 candidate_scorer=args.candidate_scorer)
    model, device, watch, turns = agent.model, run.device, run.watch, args.max_turns
    with deterministic_algorithms(device):
        for epoch in run.remaining_epochs(agent):
            gen = run.torch_generator(epoch)  # candidate sampling and negatives
            for targets, firsts, seed in run.batches(epoch):
                model.eval()  # batch norm keeps the SL statistics while the policy is fine-tuned
                with watch("env"):
                    obs, info = run.reset(targets, firsts, seed)  # rows [0, B): sampled dialogs; [B, 2B): greedy
                b = len(targets)
                target_t = torch.as_tensor(info["target"][:b], device=device)
                hidden = model.initial_hidden(2 * b, device)
                shown = torch.as_tensor(obs["candidate"], device=device)[:, None]
                found = np.zeros(2 * b, dtype=bool)
                returns = np.zeros(2 * b)
                log_prob = torch.zeros(b, device=device)
                anchor = torch.zeros((), device=device)
                for _ in range(turns):
                    with watch("network"):
                        image = torch.as_tensor(obs["candidate_features"], device=device)
                        tokens = torch.as_tensor(obs["feedback"], device=device)
                        state, hidden = model.step(image, tokens, hidden)  # (2B, D)
                        candidates = agent.topk_candidates(state, shown, k=args.top_k)
                        own = agent.config.chooses  # the manager's own choice logits, else the paper's around s_t
                        sampled, sampled_log_prob = agent.sample_candidates(
                            state[:b], candidates[:b], generator=gen, temperature=args.temperature,
                            hidden=hidden[:b] if own else None, shown=shown[:b] if own else None)
                        chosen = torch.cat([sampled, agent.choose(state[b:], hidden[b:], candidates[b:], shown[b:])])
                        live = torch.as_tensor(~found[:b], device=device)
                        log_prob = log_prob + sampled_log_prob * live
                        if args.anchor == "triplet":
                            loss, _ = anchor_loss(agent, state[:b], target_t, run.features, args.margin,
                                                  args.hard_negatives, gen)
                            anchor = anchor + (loss * live).sum() / b
                    with watch("env"):
                        obs, _, terminated, _, info = run.env.step(
                            {"query": state.detach().cpu().numpy(), "candidate": chosen.cpu().numpy()})
                    found |= terminated
                    returns += dialog_value(args.return_name, info["rank"], found, run.n_items)
                    shown = torch.cat([shown, chosen[:, None]], dim=1)
                with watch("network"):
                    advantage = torch.as_tensor(returns[:b] - returns[b:], dtype=torch.float32, device=device)
                    policy_gradient = -(advantage * log_prob).mean()
                    loss = policy_gradient + args.anchor_weight * anchor
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
                    optimizer.step()
                run.log_step({"policy_gradient": float(policy_gradient.detach()),
                              "anchor": float(anchor.detach()) / turns,
                              "charts/advantage": float(advantage.mean()),
                              "charts/advantage_nonzero": float((advantage != 0).float().mean()),
                              "charts/train_return": float(returns[:b].mean() / turns),
                              "charts/greedy_return": float(returns[b:].mean() / turns)})
            run.end_epoch(agent, optimizer)
    run.finish()
    return agent


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(SCSTArgs, argv, __doc__)


if __name__ == "__main__":
    main()
