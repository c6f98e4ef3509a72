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

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.returns import dialog_value
from agents.training import FineTuneArgs, TrainingRun, command_line
from agents.triplet_sl import anchor_loss

METHOD = "scst"


ANCHORS = ("triplet", "none")


@dataclass(frozen=True)
class SCSTArgs(FineTuneArgs):
    """Self-critical sequence training (the paper's RL baseline; Adam 1e-4), with the SL loss as an anchor."""

    epochs: int = 5
    """Passes over the train split's targets."""
    temperature: float = 0.2
    """Softmax temperature of the candidate generator over negative distances (model units) while sampling."""
    anchor: str = "triplet"
    """What keeps s_t a good query while the policy gradient moves it: "triplet", the SL loss of the sampled
    dialogs' states (with `hard_negatives` as SL had them), or "none" (the paper's SCST, which drifts: README)."""
    anchor_weight: float = 1.0
    """Weight of the anchor term."""
    margin: float = 0.1
    """Triplet margin of the anchor (model units)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {self.anchor!r}")

    def train(self, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
        return train(self, agent)


def train(args: SCSTArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD, copies=2)
    agent, optimizer = run.start(agent, init=args.init_checkpoint(run.run_dir), lr=args.lr,
                                 selection_head=args.selection_head, selection_lr=args.selection_lr,
                                 candidate_scorer=args.candidate_scorer)
    model, device, watch = agent.model, run.device, run.watch

    def iteration(epoch: int, index: int, batch: tuple[np.ndarray, np.ndarray, int],
                  gen: torch.Generator) -> dict[str, Any]:
        targets, firsts, seed = batch
        model.eval()  # batch norm keeps the SL statistics while the policy is fine-tuned
        with watch("env"):
            obs, info = run.reset(targets, firsts, seed)  # rows [0, B): sampled dialogs; [B, 2B): greedy ones
        b = len(targets)
        target_t = torch.as_tensor(info["target"][:b], device=device)
        hidden = model.initial_hidden(2 * b, device)
        shown = torch.as_tensor(obs["candidate"], device=device)[:, None]
        found = np.zeros(2 * b, dtype=bool)
        returns = np.zeros(2 * b)
        log_prob = torch.zeros(b, device=device)
        anchor = torch.zeros((), device=device)
        for _ in range(args.max_turns):
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
        turns = args.max_turns
        return {"policy_gradient": float(policy_gradient.detach()), "anchor": float(anchor.detach()) / turns,
                "charts/advantage": float(advantage.mean()),
                "charts/advantage_nonzero": float((advantage != 0).float().mean()),
                "charts/train_return": float(returns[:b].mean() / turns),
                "charts/greedy_return": float(returns[b:].mean() / turns)}

    return run.epochs(agent, optimizer, iteration)


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(SCSTArgs, argv, __doc__)


if __name__ == "__main__":
    main()
