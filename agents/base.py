"""The agent interface, in the shape of Stable-Baselines3's, so an SB3 model plugs into the benchmark unchanged.

The benchmark only ever calls `predict(observation, state, episode_start, deterministic)` on a
batch of observations (the vector env's Dict of arrays) and uses the first returned value as the
batch of actions. `episode_start[i]` is True on the first observation of a dialog: the hook that
agents keeping dialog state use to forget the previous one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class Agent(ABC):
    """Base class for the project's agents."""

    action_type: str = "candidate"
    """The env action type the agent emits: "query", "candidate" or "query_and_candidate"."""

    @abstractmethod
    def predict(self, observation: dict[str, np.ndarray], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[Any, Any]:
        """A batch of actions for a batch of observations (and the recurrent state, None if unused)."""

    def learn(self, *args: Any, **kwargs: Any) -> Agent:
        """Agents without training return themselves, like a fitted model."""
        return self

    def save(self, path: str) -> None:
        raise TypeError(f"{type(self).__name__} has no learned parameters to save")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Agent:
        raise TypeError(f"{cls.__name__} has no learned parameters to load")


def as_batch(observation: dict[str, Any]) -> tuple[dict[str, np.ndarray], bool]:
    """(batched observation, whether the input was a single unbatched observation)."""
    single = np.asarray(observation["candidate"]).ndim == 0
    if not single:
        return {k: np.asarray(v) for k, v in observation.items()}, False
    return {k: np.asarray(v)[None] for k, v in observation.items()}, True
