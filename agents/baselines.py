"""Baselines that need no training: the floors every learning agent must beat.

- `RandomAgent` shows a uniformly random image not yet shown in this dialog.
- `NearestNeighbourAgent` ignores the feedback and asks for the image nearest to the one on show
  (its query is the candidate's own vector; the env shows the nearest unseen image). Any agent
  that uses the language must beat it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import Agent, as_batch
from simulators.seeding import make_rng


class RandomAgent(Agent):
    """Shows a random unseen image (candidate actions)."""

    action_type = "candidate"

    def __init__(self, n_items: int, seed: int = 0):
        if n_items < 2:
            raise ValueError(f"n_items must be at least 2, got {n_items}")
        self.n_items = n_items
        self.rng = make_rng(seed, "agents", "random")
        self._shown: np.ndarray | None = None  # (B, N) bool: images shown in each dialog so far

    def predict(self, observation: dict[str, Any], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[Any, Any]:
        obs, single = as_batch(observation)
        b = len(obs["candidate"])
        if self._shown is None or len(self._shown) != b:
            self._shown = np.zeros((b, self.n_items), dtype=bool)
            episode_start = np.ones(b, dtype=bool)
        if episode_start is not None:
            self._shown[np.asarray(episode_start, dtype=bool)] = False
        self._shown[np.arange(b), obs["candidate"]] = True
        # Uniform over unseen items: the argmax of random keys with seen items pushed below zero.
        keys = self.rng.random((b, self.n_items)) - self._shown
        actions = keys.argmax(axis=1).astype(np.int64)
        self._shown[np.arange(b), actions] = True
        return (int(actions[0]) if single else actions), None


class NearestNeighbourAgent(Agent):
    """Feedback-blind: queries with the shown image's own vector (query actions)."""

    action_type = "query"

    def predict(self, observation: dict[str, Any], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[Any, Any]:
        obs, single = as_batch(observation)
        queries = obs["candidate_features"].astype(np.float32)
        return (queries[0] if single else queries), None
