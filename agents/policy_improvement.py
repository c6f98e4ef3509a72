"""Model-based policy improvement, the paper's method (Guo et al. 2018, Sec. 3.2), from the triplet-SL manager.

    python -m agents.policy_improvement                    # starts from runs/triplet_sl-<user>-s<seed>/checkpoint
    python -m agents.policy_improvement --user grammar --init runs/triplet_sl-grammar-s0/checkpoint

The user simulator is known dynamics, so the value of showing each of the policy's top-K candidates
can be estimated by rolling the dialog out. At every turn of every training dialog the env is
forked once per top-K candidate (`ShoeRetrievalVectorEnv.fork`: B x K branches stepped together,
one ranking and one user call per simulated turn); each branch is rolled out greedily to the last
turn by a frozen copy of the current policy (refreshed every epoch) and scored by the rank
percentiles it earns (a branch that shows the target earns 1 for every turn left). The policy is
trained with cross-entropy to choose the best branch's candidate against random negatives and (by
default) the other top-K candidates (softmax over negative squared distances at temperature 0.2),
plus an anchor that keeps s_t a good query, and the dialog continues with the best candidate.

The paper's anchor is the squared distance of s_t to the target's vector (`--anchor squared`). On
SynthShoes it pulls s_t toward the mean of the plausible targets and the ranking collapses (docs/agents.md,
"What was tried"), so the default anchor is the SL triplet loss, which keeps the
geometry the SL manager learned.

By default (`--selection-head`) the cross-entropy trains a selection head, the point the manager
chooses the image to show around among s_t's top-K, through a stopped gradient, while the anchor
alone trains the query: improving which image is shown then cannot spoil the ranking. The branches
are scored by `--return` (agents.returns; the paper's summed rank percentile is `--return
percentile`). `--anchor squared --no-selection-head --no-contrast-candidates --return percentile
--hard-negatives 0` is the paper's method as stated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from agents.dialog_manager import DialogManagerAgent, anchor_loss
from agents.returns import check_return, dialog_value
from agents.training import Stopwatch, TrainingRun, command_line, deterministic_algorithms, sl_checkpoint
from envs.shoe_retrieval import ShoeRetrievalVectorEnv

METHOD = "policy_improvement"
ANCHORS = ("triplet", "squared")


@dataclass(frozen=True)
class PolicyImprovementArgs:
    """Policy improvement with rollouts (the paper's: top-4, 5 negatives, temperature 0.2, Adam 1e-4, batch 128)."""

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
    epochs: int = 3
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
    return_name: Literal["percentile", "log-rank", "top-10"] = field(default="percentile", metadata={"flag": "return"})
    """`--return` (agents.returns): "percentile", the paper's summed rank percentile (the default here: on the
    protocol it measured 82.1% Hits@10 at turn 5 against 81.4% for "top-10", grammar user), "log-rank" or
    "top-10"."""
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
    negatives: int = 5
    """Random images the best candidate is contrasted with in the cross-entropy."""
    contrast_candidates: bool = True
    """Also contrast the best candidate with the other top-K candidates, the set the greedy policy picks from,
    so the improved choice becomes the nearest one (False: random negatives only)."""
    temperature: float = 0.2
    """Softmax temperature of the cross-entropy over negative distances (model units)."""
    anchor: str = "triplet"
    """What keeps s_t a good query while the choice of candidate is improved: "squared" (the paper's squared
    distance of s_t to the target's vector) or "triplet" (the SL triplet loss against a random image; the
    default, because on SynthShoes the squared distance pulls s_t to the mean of the targets: docs/agents.md)."""
    distance_weight: float = 1.0
    """Weight of the anchor term."""
    margin: float = 0.1
    """Triplet margin of the "triplet" anchor (model units)."""

    def __post_init__(self) -> None:
        check_return(self.return_name)
        if self.anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {self.anchor!r}")

    def train(self, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
        return train(self, agent)


def rollout_scores(env: ShoeRetrievalVectorEnv, policy: torch.nn.Module, hidden: torch.Tensor,
                   candidates: torch.Tensor, states: torch.Tensor, rows: np.ndarray,
                   watch: Stopwatch | None = None, return_name: str = "percentile",
                   chooser: DialogManagerAgent | None = None, top_k: int = 4) -> torch.Tensor:
    """(B, K) value of showing each candidate next in the dialogs `rows` of `env`: the return (agents.returns)
    of a greedy rollout of `policy` (from its dialog state `hidden`, (B, H)) from the current turn to the env's
    last, in B x K forked branches (the real dialogs are untouched), the forking turn included. A branch that
    shows the target earns 1 for that turn and every turn it did not need. A `policy` that chooses its
    images (selection head or scorer) shows, in its rollouts, its own choice among each query's `top_k`
    unseen images (searched in `chooser`'s index); otherwise the env shows the nearest unseen image."""
    b, k = candidates.shape
    device = hidden.device
    watch = watch or Stopwatch()
    with watch("rollout_env"):
        queries = states.detach().cpu().numpy()[:, None, :].repeat(k, axis=1)
        branches = env.fork(candidates.cpu().numpy(), queries=queries, env_indices=rows)
    # The forking turn counts too: the same for every branch of a dialog unless the branch shows the target,
    # which then earns 1 at once (finding the target now beats finding it next turn).
    score = dialog_value(return_name, branches.ranks, branches.terminated, branches.n_items)
    h = hidden.detach().repeat_interleave(k, dim=0)  # (B*K, H)
    while not branches.done.all():
        live = ~branches.done
        with watch("rollout_network"), torch.no_grad():
            obs = branches.observation()
            query, h = policy.step(torch.as_tensor(obs["candidate_features"], device=device),
                                   torch.as_tensor(obs["feedback"], device=device), h)
            chosen = None
            if policy.config.chooses and chooser is not None:
                shown = branches.shown_indices
                options = chooser.topk_candidates(query, shown, k=top_k)  # (B*K, k)
                logits = policy.choice_logits(query, h, chooser.features[options], chooser.features[shown])
                chosen = options.gather(1, logits.argmax(dim=1, keepdim=True))[:, 0].cpu().numpy()
        with watch("rollout_env"):
            branches.step(queries=query.cpu().numpy(), candidates=chosen)
        score += np.where(live, dialog_value(return_name, branches.ranks, branches.terminated, branches.n_items), 0.0)
    score += np.where(branches.terminated, branches.turns_left, 0)
    return torch.as_tensor(score.reshape(b, k), dtype=torch.float32, device=device)


def frozen_copy(agent: DialogManagerAgent) -> torch.nn.Module:
    """A copy of the agent's network for rollouts: eval mode, no gradients."""
    model = copy.deepcopy(agent.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def train(args: PolicyImprovementArgs, agent: DialogManagerAgent | None = None) -> DialogManagerAgent:
    run = TrainingRun(args, METHOD)
    agent, optimizer = run.start(agent, init=args.init or sl_checkpoint(run.run_dir, args.user, args.seed),
                                 lr=args.lr, selection_head=args.selection_head, selection_lr=args.selection_lr,
                                 candidate_scorer=args.candidate_scorer)
    model, device, watch, turns = agent.model, run.device, run.watch, args.max_turns
    features, scale = run.features, model.feature_scale
    with deterministic_algorithms(device):
        for epoch in run.remaining_epochs(agent):
            gen = run.torch_generator(epoch)  # negatives
            policy = frozen_copy(agent)  # the rollout policy: the current one, refreshed every epoch
            for targets, firsts, seed in run.batches(epoch):
                model.eval()  # batch norm keeps the SL statistics while the policy is fine-tuned
                with watch("env"):
                    obs, info = run.reset(targets, firsts, seed)
                b = len(targets)
                target_t = torch.as_tensor(info["target"], device=device)
                hidden = model.initial_hidden(b, device)
                rollout_hidden = policy.initial_hidden(b, device)
                shown = torch.as_tensor(obs["candidate"], device=device)[:, None]
                alive = torch.ones(b, dtype=torch.bool, device=device)
                ce_total = dist_total = torch.zeros((), device=device)
                percentile, best_is_nearest = np.zeros(b), 0.0
                for _ in range(turns):
                    with watch("network"):
                        image = torch.as_tensor(obs["candidate_features"], device=device)
                        tokens = torch.as_tensor(obs["feedback"], device=device)
                        state, hidden = model.step(image, tokens, hidden)  # (B, D)
                        with torch.no_grad():
                            _, rollout_hidden = policy.step(image, tokens, rollout_hidden)
                        candidates = agent.topk_candidates(state, shown, k=args.top_k)  # (B, K) nearest first
                    # Dialogs that already showed their target are over (the env resets them): nothing to roll out.
                    rows = np.flatnonzero(alive.cpu().numpy())
                    scores = torch.zeros(candidates.shape, device=device)
                    if len(rows):
                        rows_t = torch.as_tensor(rows, device=device)
                        scores[rows_t] = rollout_scores(run.env, policy, rollout_hidden[rows_t], candidates[rows_t],
                                                        state[rows_t], rows, watch, args.return_name, agent,
                                                        args.top_k)  # (B, K)
                    with watch("network"):
                        best_k = scores.argmax(dim=1, keepdim=True)  # (B, 1): ties go to the nearest
                        best = candidates.gather(1, best_k)
                        best_is_nearest += float((best[:, 0] == candidates[:, 0]).float().mean())
                        negatives = run.random_items((b, args.negatives), gen)
                        others = [candidates.masked_fill(candidates == best, -1)] if args.contrast_candidates else []
                        # (B, 1 [+ K] + n); -1: the best itself
                        options = torch.cat([best, *others, negatives], dim=1)
                        valid = options >= 0
                        options = options.clamp(min=0)
                        # The scorer ranks the top-K only: choose the best among them.
                        if agent.config.candidate_scorer:
                            logits = agent.choice_logits(state, hidden, candidates, shown) * (1.0 / args.temperature)
                            ce = F.cross_entropy(logits, best_k[:, 0], reduction="none")
                        else:
                            point = model.selection_point(state, hidden)  # s_t, or the selection head's point
                            d2 = (((features[options] - point[:, None, :]) / scale) ** 2).sum(dim=2)  # (B, 1 + n)
                            logits = (-d2 / args.temperature).masked_fill(~valid, float("-inf"))
                            ce = F.cross_entropy(logits, torch.zeros(b, dtype=torch.long, device=device),
                                                 reduction="none")
                        if args.anchor == "squared":
                            dist = (((state - features[target_t]) / scale) ** 2).sum(dim=1)
                        else:
                            dist, _ = anchor_loss(agent, state, target_t, features, args.margin, args.hard_negatives,
                                                  gen)
                        ce_total = ce_total + (ce * alive).sum() / b
                        dist_total = dist_total + (dist * alive).sum() / b
                    with watch("env"):
                        obs, reward, terminated, _, info = run.env.step(
                            {"query": state.detach().cpu().numpy(), "candidate": best[:, 0].cpu().numpy()})
                    percentile += np.where(alive.cpu().numpy(), reward, 1.0)
                    alive = alive & ~torch.as_tensor(terminated, device=device)
                    shown = torch.cat([shown, best], dim=1)
                with watch("network"):
                    loss = ce_total + args.distance_weight * dist_total
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
                    optimizer.step()
                run.log_step({"cross_entropy": float(ce_total.detach()) / turns,
                              "anchor": float(dist_total.detach()) / turns,
                              "charts/train_rank_percentile": float(percentile.mean() / turns),
                              "charts/best_is_nearest": best_is_nearest / turns})
            run.end_epoch(agent, optimizer)
    run.finish()
    return agent


def main(argv: list[str] | None = None) -> DialogManagerAgent:
    return command_line(PolicyImprovementArgs, argv, __doc__)


if __name__ == "__main__":
    main()
