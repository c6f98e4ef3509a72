"""WhittleSearch (Kovashka et al., 2012): relative-attribute feedback as constraints, no learning.

The paper's relative-attribute baseline (Guo et al., NeurIPS 2018, sections 5.2-5.3). The user
says, for some of the ten attributes, whether the target is "more X", "less X" or "as X" as the
image on show; each phrase is a constraint on the target's attribute values relative to that
image's. Every turn the agent shows the unseen image that satisfies the most constraints stated
so far in the dialog, ties broken by nearness to the image on show.

The agent reads the feedback from the observation's token ids through the project's vocabulary,
so it works with any user whose sentences contain "more/less/as <attribute word>" pairs (the
attribute users of `simulators.users`); other words are ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import Agent, as_batch, dialog_starts
from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES
from simulators.language.vocab import Vocabulary

LESS, AS, MORE = 0, 1, 2
RELATIONS = ("less", "as", "more")
"""Relation codes, in the order AttributeUser phrases them (index = code)."""
DEFAULT_TOLERANCE = 0.05
"""How close two attribute values must be for "as X" to hold (AttributeUser's default)."""


class WhittleSearchAgent(Agent):
    """Shows the unseen image satisfying the most relative-attribute constraints (candidate actions).

    `attributes` (N, 10): attribute values of the split's items, in the order of `ATTRIBUTES`, the
    values the agent believes (estimated, or the catalog's true scores for an oracle). `features`
    (N, D): the split's retrieval vectors, used to break ties by distance to the image on show; if
    None, ties are broken by attribute distance. `tolerance`: "as X" holds when the values differ
    by at most this much.

    Per dialog it keeps `satisfied` (N,), the number of stated constraints each item satisfies,
    updated as feedback arrives, and `n_constraints`, how many constraints were stated. A dialog is
    cleared on `episode_start[i]`, and on any observation with `turn == 0` (a dialog's first
    observation), so it also works when the caller passes no `episode_start`.
    """

    action_type = "candidate"

    def __init__(self, attributes: np.ndarray, vocabulary: Vocabulary, features: np.ndarray | None = None,
                 tolerance: float = DEFAULT_TOLERANCE):
        attributes = np.asarray(attributes, dtype=np.float32)
        if attributes.ndim != 2 or attributes.shape[1] != len(ATTRIBUTES) or len(attributes) < 2:
            raise ValueError(f"attributes must be (N, {len(ATTRIBUTES)}) with N >= 2, got {attributes.shape}")
        if not np.isfinite(attributes).all():
            raise ValueError("attributes contain NaN or infinite values")
        if not tolerance >= 0:
            raise ValueError(f"tolerance must be non-negative, got {tolerance}")
        tie_space = attributes if features is None else np.asarray(features, dtype=np.float32)
        if tie_space.ndim != 2 or len(tie_space) != len(attributes):
            raise ValueError(f"features must be (N, D) with N = {len(attributes)}, got {tie_space.shape}")
        self.attributes, self.tolerance = attributes, float(tolerance)
        self.n_items = len(attributes)
        self.vocabulary = vocabulary
        self._tie_space = tie_space.astype(np.float64)
        self._tie_sq_norms = (self._tie_space ** 2).sum(axis=1)  # (N,)
        # Token id -> relation code / attribute index (-1: not such a word), for parsing whole batches.
        self._relation_of = np.full(len(vocabulary), -1, dtype=np.int64)
        self._attribute_of = np.full(len(vocabulary), -1, dtype=np.int64)
        for code, word in enumerate(RELATIONS):
            if word in vocabulary:
                self._relation_of[vocabulary.index[word]] = code
        for k, name in enumerate(ATTRIBUTES):
            if ATTRIBUTE_WORDS[name] in vocabulary:
                self._attribute_of[vocabulary.index[ATTRIBUTE_WORDS[name]]] = k
        self.satisfied: np.ndarray = np.zeros((0, self.n_items), dtype=np.int64)
        """(B, N) constraints stated in dialog b that item n satisfies."""
        self.n_constraints: np.ndarray = np.zeros(0, dtype=np.int64)
        """(B,) constraints stated in dialog b."""
        self.shown: np.ndarray = np.zeros((0, self.n_items), dtype=bool)
        """(B, N) images shown in dialog b (the first image included)."""

    def parse(self, feedback: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(relation, attribute, valid), each (B, T - 1): token t and t + 1 of row b form "relation attribute".

        Ids outside the vocabulary count as unknown words.
        """
        ids = np.asarray(feedback, dtype=np.int64)
        ids = np.where((ids >= 0) & (ids < len(self._relation_of)), ids, 0)  # 0 is <pad>: neither table's word
        relation = self._relation_of[ids[:, :-1]]
        attribute = self._attribute_of[ids[:, 1:]]
        return relation, attribute, (relation >= 0) & (attribute >= 0)

    def observe(self, candidates: np.ndarray, feedback: np.ndarray) -> None:
        """Add the constraints of each dialog's feedback (B, T) about the image it is showing (B,)."""
        relation, attribute, valid = self.parse(feedback)
        row, pos = np.nonzero(valid)  # the M constraints stated this turn, grouped by dialog
        relation, attribute = relation[row, pos, None], attribute[row, pos]  # (M, 1), (M,)
        diff = self.attributes.T[attribute] - self.attributes[candidates[row], attribute][:, None]  # (M, N)
        holds = np.where(relation == MORE, diff > 0,
                         np.where(relation == LESS, diff < 0, np.abs(diff) <= self.tolerance))
        np.add.at(self.satisfied, row, holds.astype(np.int64))
        self.n_constraints += valid.sum(axis=1)

    def _tie_distances(self, candidates: np.ndarray) -> np.ndarray:
        """(B, N) squared distance of every item to each dialog's image on show."""
        anchor = self._tie_space[candidates]  # (B, D)
        dist = self._tie_sq_norms[None, :] - 2.0 * anchor @ self._tie_space.T + self._tie_sq_norms[candidates, None]
        return np.maximum(dist, 0.0)

    def _reset(self, b: int, rows: np.ndarray) -> None:
        if len(self.satisfied) != b:
            self.satisfied = np.zeros((b, self.n_items), dtype=np.int64)
            self.n_constraints = np.zeros(b, dtype=np.int64)
            self.shown = np.zeros((b, self.n_items), dtype=bool)
            return
        self.satisfied[rows] = 0
        self.n_constraints[rows] = 0
        self.shown[rows] = False

    def predict(self, observation: dict[str, Any], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[Any, Any]:
        obs, single = as_batch(observation)
        candidates = obs["candidate"].astype(np.int64)
        b = len(candidates)
        self._reset(b, dialog_starts(obs, episode_start))
        rows = np.arange(b)
        self.shown[rows, candidates] = True
        self.observe(candidates, obs["feedback"])
        # Most constraints first; among equals the nearest to the image on show (distance scaled into [0, 1)).
        dist = self._tie_distances(candidates)  # (B, N)
        score = self.satisfied - dist / (dist.max(axis=1, keepdims=True) + 1.0)
        # Once every image has been shown there is nothing new left: the best one is shown again.
        exhausted = self.shown.all(axis=1)
        score = np.where(self.shown & ~exhausted[:, None], -np.inf, score)
        actions = score.argmax(axis=1).astype(np.int64)
        self.shown[rows, actions] = True
        return (int(actions[0]) if single else actions), None
