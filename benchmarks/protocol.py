"""The fixed evaluation protocol (DESIGN.md section 5).

Every item of the split is the target exactly once, the first image is seeded, dialogs last
`max_turns` turns (10 in the protocol), agents act greedily. Metrics at each turn t = 0..T:
mean target rank percentile (the paper's Fig. 4), Recall@1/10/50 and success (target shown by
turn t), with 95% bootstrap confidence intervals. Once the target has been shown the dialog is
over and counts as rank 0 for the remaining turns.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators.cache import write_json
from simulators.catalog.catalog import Catalog
from simulators.seeding import make_rng

RECALL_AT = (1, 10, 50)


@dataclass(frozen=True)
class ProtocolConfig:
    split: str = "test"
    """Split whose every item is the target once."""
    max_turns: int = 10
    """Dialog length at evaluation (the paper plots 10 turns)."""
    seed: int = 0
    """Seeds the first candidates and the users' randomness."""
    num_envs: int = 256
    """Dialogs run side by side (does not change the results)."""
    bootstrap: int = 1000
    """Bootstrap resamples for the 95% confidence intervals."""


@dataclass
class EvalResult:
    """Per-turn metrics of one agent with one user; index t of each list is turn t (0 = the first image)."""

    agent: str
    user: str
    episodes: int
    mean_rank_percentile: list[float]
    ci95: list[tuple[float, float]]
    recall: dict[str, list[float]]
    success: list[float]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(agent: Any, catalog: Catalog, user: Any, config: ProtocolConfig = ProtocolConfig(),
             agent_name: str | None = None, user_name: str | None = None, device: str = "auto",
             vocabulary: Any = None, progress: bool = True) -> EvalResult:
    """Run the protocol for `agent` (anything with SB3's predict and an `action_type`) against `user`."""
    t0 = time.perf_counter()
    targets = np.arange(len(catalog.split_ids(config.split)))
    n_total = len(targets)
    num_envs = min(config.num_envs, n_total)
    env = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=catalog, split=config.split, user=user,
                                 action_type=getattr(agent, "action_type", "query"), max_turns=config.max_turns,
                                 device=device, vocabulary=vocabulary)
    first = _first_candidates(n_total, config.seed)
    ranks = np.zeros((n_total, config.max_turns + 1), dtype=np.int64)
    n_items = env.core.n
    batches = range(0, n_total, num_envs)
    for start in tqdm(batches, desc=f"eval {agent_name or type(agent).__name__}", disable=not progress):
        rows = targets[start:start + num_envs]
        pad = num_envs - len(rows)
        batch_targets = np.concatenate([rows, rows[:1].repeat(pad)])
        batch_first = np.concatenate([first[rows], first[rows[:1]].repeat(pad)])
        obs, info = env.reset(seed=config.seed + start, options={"target": batch_targets,
                                                                  "first_candidate": batch_first})
        found = np.zeros(num_envs, dtype=bool)
        turn_ranks = [info["rank"].copy()]
        episode_start = np.ones(num_envs, dtype=bool)
        for _ in range(config.max_turns):
            action, _ = agent.predict(obs, episode_start=episode_start, deterministic=True)
            episode_start[:] = False
            obs, _, terminated, truncated, info = env.step(action)
            step_rank = np.where(found, 0, info["rank"])
            found |= terminated
            turn_ranks.append(np.where(found, 0, step_rank))
        ranks[start:start + len(rows)] = np.stack(turn_ranks, axis=1)[:len(rows)]
    env.close()
    percentile = 1.0 - ranks / (n_items - 1)
    means = percentile.mean(axis=0)
    ci = _bootstrap_ci(percentile, config.bootstrap, config.seed)
    return EvalResult(
        agent=agent_name or type(agent).__name__,
        user=user_name or (user if isinstance(user, str) else type(user).__name__),
        episodes=n_total,
        mean_rank_percentile=[float(m) for m in means],
        ci95=[(float(lo), float(hi)) for lo, hi in ci],
        recall={f"@{k}": [float(v) for v in (ranks < k).mean(axis=0)] for k in RECALL_AT},
        success=[float(v) for v in (ranks == 0).mean(axis=0)],
        seconds=round(time.perf_counter() - t0, 2),
        config=asdict(config),
    )


def _first_candidates(n: int, seed: int) -> np.ndarray:
    """The protocol's seeded first image for each target: uniform over the other items."""
    offsets = make_rng(seed, "protocol", "first-candidate").integers(1, n, size=n)
    return (np.arange(n) + offsets) % n


def _bootstrap_ci(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(T, 2) percentile-bootstrap 95% interval of the per-turn mean over episodes."""
    rng = make_rng(seed, "protocol", "bootstrap")
    n = len(values)
    means = np.empty((resamples, values.shape[1]))
    for r in range(resamples):
        means[r] = values[rng.integers(0, n, size=n)].mean(axis=0)
    return np.percentile(means, [2.5, 97.5], axis=0).T


def format_table(results: list[EvalResult], turns: tuple[int, ...] | None = None) -> str:
    """Mean rank percentile per turn, one row per (agent, user)."""
    if not results:
        return "(no results)"
    t_max = len(results[0].mean_rank_percentile) - 1
    turns = turns or tuple(range(t_max + 1))
    head = f"{'agent':<24} {'user':<14}" + "".join(f" {'t=' + str(t):>7}" for t in turns)
    lines = [head, "-" * len(head)]
    for r in results:
        cells = "".join(f" {100 * r.mean_rank_percentile[t]:>6.1f}%" for t in turns)
        lines.append(f"{r.agent:<24} {r.user:<14}{cells}")
    return "\n".join(lines)


def save_results(results: list[EvalResult], path: str | Path) -> Path:
    return write_json([r.to_json() for r in results], path)
