"""The agent interface, in the shape of Stable-Baselines3's, so an SB3 model plugs into the benchmark unchanged.

The benchmark only ever calls `predict(observation, state, episode_start, deterministic)` on a
batch of observations (the vector env's Dict of arrays) and uses the first returned value as the
batch of actions. `episode_start[i]` is True on the first observation of a dialog: the hook that
agents keeping dialog state use to forget the previous one. The benchmark learns which action
type to evaluate with from an SB3 model's `action_space`, and from `Agent.action_type` here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from envs.shoe_retrieval import ACTION_TYPES


class Agent(ABC):
    """Base class for the project's agents.

    Every concrete subclass sets the class attribute `action_type`, the env action type it emits:
    "query", "candidate" or "query_and_candidate" (`envs.shoe_retrieval.ACTION_TYPES`). There is no
    default, so an agent is never evaluated on an env it was not written for; defining a concrete
    subclass without it is a TypeError.
    """

    action_type: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _has_abstract_methods(cls):
            return  # an intermediate base class: its concrete subclasses are checked
        action_type = getattr(cls, "action_type", None)
        if action_type not in ACTION_TYPES:
            raise TypeError(f"{cls.__name__} must set the class attribute action_type to one of {ACTION_TYPES}, "
                            f"got {action_type!r}")

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


def _has_abstract_methods(cls: type) -> bool:
    """Whether `cls` leaves an abstract method unimplemented.

    `__init_subclass__` runs before ABCMeta fills in `cls.__abstractmethods__`, so look for yourself.
    """
    return any(getattr(getattr(cls, name, None), "__isabstractmethod__", False) for name in dir(cls))


def dialog_starts(observation: dict[str, np.ndarray], episode_start: np.ndarray | None) -> np.ndarray:
    """(B,) rows of a batched observation where a new dialog begins: `episode_start`, or a first
    observation (`turn == 0`), so agents with dialog state also work when the caller passes none."""
    b = len(observation["turn"])
    starting = np.asarray(observation["turn"]).reshape(b) == 0
    if episode_start is not None:
        starting |= np.asarray(episode_start, dtype=bool).reshape(b)
    return starting


def as_batch(observation: dict[str, Any]) -> tuple[dict[str, np.ndarray], bool]:
    """(batched observation, whether the input was a single unbatched observation); the split-free
    observations of `agents.sb3.split_free` (no "candidate") are told by their "turn"."""
    single = np.asarray(observation["candidate" if "candidate" in observation else "turn"]).ndim == 0
    if not single:
        return {k: np.asarray(v) for k, v in observation.items()}, False
    return {k: np.asarray(v)[None] for k, v in observation.items()}, True
