"""RL-SCST: self-critical policy gradient for the dialog manager (Guo et al. 2018, Sec. 3.2), from triplet SL.

    python -m agents.scst                       # starts from runs/triplet_sl-<user>-s<seed>/checkpoint
    python -m agents.scst --user grammar --init runs/triplet_sl-grammar-s0/checkpoint

For each training target two dialogs run side by side from the same first image: one whose
candidates are sampled from the candidate generator and one whose candidates are greedy (the
nearest unseen image). The advantage is the sampled dialog's summed rank percentile minus the
greedy one's (the self-critical baseline); the loss is minus the advantage times the summed
log-probability of the sampled candidates. A dialog that shows its target earns 1 for every turn
left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.training import FineTuneArgs, TrainingRun, command_line

METHOD = "scst"


@dataclass(frozen=True)
class SCSTArgs(FineTuneArgs):
    """Self-critical sequence training (the paper's RL baseline; Adam 1e-4)."""

    epochs: int = 5
    """Passes over the train split's targets."""
    temperature: float = 0.2
    """Softmax temperature of the candidate generator over negative distances (model units) while sampling."""

    def train(self, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
        return train(self, agent)


def train(args: SCSTArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD, copies=2)
    agent, optimizer = run.start(agent, init=args.init_checkpoint(run.run_dir), lr=args.lr)
    model, device, watch = agent.model, run.device, run.watch

    def iteration(epoch: int, index: int, batch: tuple[np.ndarray, np.ndarray, int],
                  gen: torch.Generator) -> dict[str, Any]:
        targets, firsts, seed = batch
        model.eval()  # batch norm keeps the SL statistics while the policy is fine-tuned
        with watch("env"):
            obs, _ = run.reset(targets, firsts, seed)  # rows [0, B): sampled dialogs; [B, 2B): greedy ones
        b = len(targets)
        hidden = model.initial_hidden(2 * b, device)
        shown = torch.as_tensor(obs["candidate"], device=device)[:, None]
        alive = np.ones(2 * b, dtype=bool)
        returns = np.zeros(2 * b)
        log_prob = torch.zeros(b, device=device)
        for _ in range(args.max_turns):
            with watch("network"):
                image = torch.as_tensor(obs["candidate_features"], device=device)
                tokens = torch.as_tensor(obs["feedback"], device=device)
                state, hidden = model.step(image, tokens, hidden)  # (2B, D)
                candidates = agent.topk_candidates(state, shown, k=args.top_k)
                sampled, sampled_log_prob = agent.sample_candidates(state[:b], candidates[:b], generator=gen,
                                                                    temperature=args.temperature)
                chosen = torch.cat([sampled, candidates[b:, 0]])  # greedy rows: the nearest
                log_prob = log_prob + sampled_log_prob * torch.as_tensor(alive[:b], device=device)
            with watch("env"):
                obs, reward, terminated, _, _ = run.env.step(
                    {"query": state.detach().cpu().numpy(), "candidate": chosen.cpu().numpy()})
            returns += np.where(alive, reward, 1.0)
            alive &= ~terminated
            shown = torch.cat([shown, chosen[:, None]], dim=1)
        with watch("network"):
            advantage = torch.as_tensor(returns[:b] - returns[b:], dtype=torch.float32, device=device)
            loss = -(advantage * log_prob).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            optimizer.step()
        turns = args.max_turns
        return {"policy_gradient": float(loss.detach()), "charts/advantage": float(advantage.mean()),
                "charts/train_rank_percentile": float(returns[:b].mean() / turns),
                "charts/greedy_rank_percentile": float(returns[b:].mean() / turns)}

    return run.epochs(agent, optimizer, iteration)


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(SCSTArgs, argv, __doc__)


if __name__ == "__main__":
    main()
