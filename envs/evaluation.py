"""Fixed dialogs run greedily: the turn loop of the evaluation protocol, shared by the benchmark and training.

`benchmarks.protocol` runs every test item once and adds metrics and intervals; the training
methods of `agents` run a fixed subset of the same dialogs after every epoch. Both call
`run_dialogs`, so an agent's curve during training and on the leaderboard come from the same code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators.seeding import make_rng


def protocol_first_candidates(n: int, seed: int) -> np.ndarray:
    """The protocol's seeded first image for each of the n targets of a split: uniform over the other items."""
    offsets = make_rng(seed, "protocol", "first-candidate").integers(1, n, size=n)
    return (np.arange(n) + offsets) % n


def run_dialogs(agent: Any, env: ShoeRetrievalVectorEnv, targets: np.ndarray, first_candidates: np.ndarray,
                seed: int | np.ndarray, max_turns: int, progress: bool = False, desc: str = "dialogs") -> np.ndarray:
    """(len(targets), max_turns + 1) target ranks per dialog and turn, the agent acting greedily.

    `seed`: one seed per dialog (an array like `targets`: dialog i's user generator is seeded with
    seed[i]), or an int s standing for s + i. The results do not depend on `env.num_envs`, the
    number of dialogs run side by side. Turn 0 is the first image. Once the target has been shown
    the dialog is over and counts as rank 0 for the remaining turns. The env's `max_turns` must be
    at least `max_turns`.
    """
    targets = np.asarray(targets, dtype=np.int64)
    first_candidates = np.asarray(first_candidates, dtype=np.int64)
    if targets.shape != first_candidates.shape or targets.ndim != 1:
        raise ValueError("targets and first_candidates must be 1-D arrays of the same length")
    if np.ndim(seed) == 0:
        seeds = int(seed) + np.arange(len(targets), dtype=np.int64)
    else:
        seeds = np.asarray(seed, dtype=np.int64)
        if seeds.shape != targets.shape:
            raise ValueError(f"got {seeds.shape} seeds for {targets.shape} dialogs")
    num_envs = env.num_envs
    ranks = np.zeros((len(targets), max_turns + 1), dtype=np.int64)
    reset_state = getattr(agent, "reset_state", None)
    for start in tqdm(range(0, len(targets), num_envs), desc=desc, disable=not progress):
        rows = np.arange(start, min(start + num_envs, len(targets)))
        pad = num_envs - len(rows)
        batch_targets = np.concatenate([targets[rows], targets[rows[:1]].repeat(pad)])
        batch_first = np.concatenate([first_candidates[rows], first_candidates[rows[:1]].repeat(pad)])
        batch_seeds = np.concatenate([seeds[rows], seeds[rows[:1]].repeat(pad)]).tolist()
        obs, info = env.reset(seed=batch_seeds, options={"target": batch_targets, "first_candidate": batch_first})
        if callable(reset_state):
            reset_state()
        found = np.zeros(num_envs, dtype=bool)
        turn_ranks = [info["rank"].copy()]
        episode_start = np.ones(num_envs, dtype=bool)
        for _ in range(max_turns):
            action, _ = agent.predict(obs, episode_start=episode_start, deterministic=True)
            episode_start[:] = False
            obs, _, terminated, _, info = env.step(action)
            step_rank = np.where(found, 0, info["rank"])
            found |= terminated
            turn_ranks.append(np.where(found, 0, step_rank))
        ranks[rows] = np.stack(turn_ranks, axis=1)[: len(rows)]
    return ranks
