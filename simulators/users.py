"""Simulated shoppers behind one batched interface.

A user looks at the target it has in mind and the image it was shown, and says in text how the
target differs. `describe(target_ids, candidate_ids, rngs=None)` answers a whole batch at once
(ids are catalog indices). Randomness: with `rngs` (one generator per row, as the environment
passes its per-dialog generators) row b's answer depends only on rngs[b]; without, the user's own
generator, seeded at construction and by `reset(seed)`. When the candidate is the target, every
user answers the fixed phrase SAME_ITEM_PHRASE.

- `GrammarUser`: relative captions from the caption grammar (the human proxy).
- `AttributeUser`: WhittleSearch-style relative-attribute feedback ("more shiny less pointy").
- `RelevanceUser`: binary relevance ("more like this" / "less like this"): whether the image on show
  is closer to the target than the image shown before it.
- `simulators.captioner.CaptionerUser`: the trained relative captioner (the paper's user model).
- `UserMixture`: a population of users; each dialog's shopper is one of them, drawn when the dialog starts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES
from simulators.catalog.params import ShoeParams
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.language.grammar import CaptionGrammar, GrammarConfig
from simulators.seeding import make_rng

ATTRIBUTE_COUNTS = (1, 3, 10)
ATTRIBUTE_FEEDBACK_WORDS: frozenset[str] = frozenset(
    {"more", "less", "as", *(ATTRIBUTE_WORDS[a] for a in ATTRIBUTES), *SAME_ITEM_PHRASE.split()})
"""Every word an AttributeUser can say (for building a vocabulary that covers it)."""


class User(ABC):
    """A simulated shopper: batched relative feedback about shown images.

    A user whose answer depends on the image shown before the current one sets the class attribute
    `compares_with_previous = True`; the environment then calls `describe(..., previous_ids=...)`
    with the catalog index of each dialog's previous image, or -1 on a dialog's first image.

    A user that draws something once per dialog (a `UserMixture` draws which member speaks) sets
    `draws_per_dialog = True` and implements `draw_dialog(rng) -> int`: the environment calls it with
    the dialog's generator when the dialog starts, keeps the number with the dialog (forks copy it) and
    passes it back each turn as `describe(..., dialog_draws=...)`.
    """

    compares_with_previous: ClassVar[bool] = False
    draws_per_dialog: ClassVar[bool] = False

    @abstractmethod
    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        """One feedback text per row: how target_ids[b] differs from candidate_ids[b]."""

    @abstractmethod
    def reset(self, seed: int) -> None:
        """Reseed the user's own generator (used when `rngs` is not given)."""


def check_pairs(target_ids: Any, candidate_ids: Any, rngs: Sequence[np.random.Generator] | None,
                n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets, candidates) as int64 arrays after checking lengths, generator count and id ranges."""
    targets = np.asarray(target_ids, dtype=np.int64).reshape(-1)
    candidates = np.asarray(candidate_ids, dtype=np.int64).reshape(-1)
    if len(targets) != len(candidates):
        raise ValueError(f"got {len(targets)} targets but {len(candidates)} candidates")
    if rngs is not None and len(rngs) != len(targets):
        raise ValueError(f"got {len(rngs)} generators for {len(targets)} rows")
    for name, ids in (("target", targets), ("candidate", candidates)):
        if len(ids) and (ids.min() < 0 or ids.max() >= n_items):
            raise ValueError(f"{name} ids must be catalog indices in [0, {n_items}), got range "
                             f"[{ids.min()}, {ids.max()}]")
    return targets, candidates


class GrammarUser(User):
    """The caption grammar as a shopper: true, human-like relative captions ("are red with a higher heel")."""

    def __init__(self, params: ShoeParams, seed: int = 0, config: GrammarConfig | None = None):
        self.params = params
        self.n_items = len(params["category"])
        self.grammar = CaptionGrammar(seed, config)
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "grammar")

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        return self.grammar.describe(self.params, targets, candidates, rng=self.rng, rngs=rngs)


class AttributeUser(User):
    """Relative-attribute feedback: each turn `n_attributes` of the ten WhittleSearch attributes, in
    their fixed order, each as "more X" / "less X" than the shown image, or "as X" when the scores
    differ by at most `tolerance`. Example with 3 attributes: "more pointy as shiny less formal"."""

    def __init__(self, attributes: np.ndarray, n_attributes: int = 3, seed: int = 0, tolerance: float = 0.05):
        attributes = np.asarray(attributes, dtype=np.float32)
        if attributes.ndim != 2 or attributes.shape[1] != len(ATTRIBUTES):
            raise ValueError(f"attributes must be (N, {len(ATTRIBUTES)}), got {attributes.shape}")
        if np.isnan(attributes).any():
            raise ValueError("attribute scores contain NaN: a real catalog built without an attribute file has no "
                             "attribute values to speak from (python -m simulators.build catalog --attributes FILE)")
        if n_attributes not in ATTRIBUTE_COUNTS:
            raise ValueError(f"n_attributes must be one of {ATTRIBUTE_COUNTS}, got {n_attributes}")
        if not tolerance >= 0:
            raise ValueError(f"tolerance must be non-negative, got {tolerance}")
        self.attributes, self.n_attributes, self.tolerance = attributes, n_attributes, float(tolerance)
        self.n_items = len(attributes)
        words = [ATTRIBUTE_WORDS[a] for a in ATTRIBUTES]
        self._phrases = [[f"less {w}", f"as {w}", f"more {w}"] for w in words]
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "attributes", self.n_attributes)

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        b, k = len(targets), len(ATTRIBUTES)
        if b == 0:
            return []
        keys = self.rng.random((b, k)) if rngs is None else np.stack([r.random(k) for r in rngs])
        chosen = np.sort(np.argsort(keys, axis=1)[:, : self.n_attributes], axis=1)  # (B, n)
        diff = self.attributes[targets] - self.attributes[candidates]  # (B, 10)
        sign = np.where(diff > self.tolerance, 2, np.where(diff < -self.tolerance, 0, 1))
        picked = np.take_along_axis(sign, chosen, axis=1)
        phrases = self._phrases
        same = targets == candidates
        return [SAME_ITEM_PHRASE if same[row] else " ".join(phrases[a][s] for a, s in zip(attrs, signs, strict=True))
                for row, (attrs, signs) in enumerate(zip(chosen.tolist(), picked.tolist(), strict=True))]


RELEVANCE_FEEDBACK_WORDS: frozenset[str] = frozenset({"more", "less", "like", "this", *SAME_ITEM_PHRASE.split()})
"""Every word a RelevanceUser can say."""
MORE_LIKE_THIS, LESS_LIKE_THIS = "more like this", "less like this"


class RelevanceUser(User):
    """Binary relevance feedback, the first channel of the paper's figure 1.

    The user answers "more like this" when the image on show is closer to the target than the image
    shown before it, and "less like this" otherwise, closeness being the Euclidean distance in the
    retrieval space `features` (N, D), the space the environment ranks in: "more like this" means
    that showing this image brought the target nearer. On a dialog's first image there is nothing
    before it; the user then compares with a typical image: "more like this" when the image is
    closer to the target than `reference_distance`, the median distance between two catalog items
    (estimated once from 4,096 seeded random pairs unless given). The answer is deterministic; the
    generators are accepted (and checked) for the interface's sake.
    """

    compares_with_previous: ClassVar[bool] = True

    def __init__(self, features: np.ndarray, seed: int = 0, reference_distance: float | None = None):
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"features must be (N, D) with N >= 2, got {features.shape}")
        if not np.isfinite(features).all():
            raise ValueError("features contain NaN or infinite values")
        self.features = features
        self.n_items = len(features)
        if reference_distance is None:
            rng = make_rng(0, "users", "relevance", "reference")
            a, b = rng.integers(self.n_items, size=(2, 4096))
            keep = a != b
            reference_distance = float(np.median(self.distances(a[keep], b[keep])))
        if not reference_distance > 0:
            raise ValueError(f"reference_distance must be positive, got {reference_distance}")
        self.reference_distance = float(reference_distance)
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "relevance")  # unused: the answers are deterministic

    def distances(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Retrieval-space distance between items a[i] and b[i]."""
        return np.linalg.norm(self.features[a] - self.features[b], axis=1)

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None,
                 previous_ids: np.ndarray | None = None) -> list[str]:
        """`previous_ids[b]`: the image shown before candidate_ids[b] (-1 or None: the dialog's first image)."""
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        if previous_ids is None:
            previous = np.full(len(targets), -1, dtype=np.int64)
        else:
            previous = np.asarray(previous_ids, dtype=np.int64).reshape(-1)
            if len(previous) != len(targets):
                raise ValueError(f"got {len(previous)} previous images for {len(targets)} rows")
            if len(previous) and (previous.min() < -1 or previous.max() >= self.n_items):
                raise ValueError(f"previous ids must be catalog indices in [0, {self.n_items}) or -1 (none), got "
                                 f"range [{previous.min()}, {previous.max()}]")
        if len(targets) == 0:
            return []
        closer = self.distances(targets, candidates) < self.reference(targets, previous)
        return [SAME_ITEM_PHRASE if t == c else (MORE_LIKE_THIS if near else LESS_LIKE_THIS)
                for t, c, near in zip(targets.tolist(), candidates.tolist(), closer.tolist(), strict=True)]

    def reference(self, targets: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """The distance each shown image is compared with: the previous image's, else `reference_distance`."""
        has = previous >= 0
        out = np.full(len(targets), self.reference_distance, dtype=np.float32)
        if has.any():
            out[has] = self.distances(targets[has], previous[has])
        return out


class UserMixture(User):
    """A population of users: each dialog's shopper is one member, drawn with weights `weights` (normalised;
    equal by default) from the dialog's generator when the dialog starts (`draw_dialog`), and kept for the
    whole dialog. The environment passes each row's member back as `dialog_draws`; a call without them (a
    user called outside the environment) draws a member per row from that row's generator, else from the
    mixture's own. Members are seeded by their own constructors; `reset(seed)` reseeds them all.
    """

    draws_per_dialog: ClassVar[bool] = True

    def __init__(self, users: Sequence[User], weights: Sequence[float] | None = None,
                 names: Sequence[str] | None = None, seed: int = 0):
        if len(users) < 1:
            raise ValueError("a UserMixture needs at least one user")
        weights = [1.0] * len(users) if weights is None else [float(w) for w in weights]
        if len(weights) != len(users):
            raise ValueError(f"got {len(weights)} weights for {len(users)} users")
        if not all(np.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"mixture weights must be non-negative, finite and not all zero, got {weights}")
        self.names = list(names) if names is not None else [type(u).__name__ for u in users]
        if len(self.names) != len(users):
            raise ValueError(f"got {len(self.names)} names for {len(users)} users")
        self.users = list(users)
        self.weights = np.asarray(weights, dtype=np.float64) / sum(weights)
        self._edges = np.cumsum(self.weights)[:-1]
        self.compares_with_previous = any(getattr(u, "compares_with_previous", False) for u in users)  # type: ignore[misc]
        self.counts = np.zeros(len(users), dtype=np.int64)
        """Dialogs each member was drawn for so far."""
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "mixture")
        for user in self.users:
            user.reset(seed)

    def draw_dialog(self, rng: np.random.Generator) -> int:
        """The member that speaks in a dialog starting now (one uniform draw from the dialog's generator)."""
        member = int(np.searchsorted(self._edges, rng.random(), side="right"))
        self.counts[member] += 1
        return member

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None, dialog_draws: np.ndarray | None = None,
                 previous_ids: np.ndarray | None = None) -> list[str]:
        """Row b is answered by member `dialog_draws[b]`, with rngs[b]; each member answers its rows in one call."""
        targets, candidates = np.asarray(target_ids).reshape(-1), np.asarray(candidate_ids).reshape(-1)
        if rngs is not None and len(rngs) != len(targets):
            raise ValueError(f"got {len(rngs)} generators for {len(targets)} rows")
        if dialog_draws is None:
            members = np.array([self.draw_dialog(rngs[b] if rngs is not None else self.rng)
                                for b in range(len(targets))], dtype=np.int64)
        else:
            members = np.asarray(dialog_draws, dtype=np.int64).reshape(-1)
            if len(members) != len(targets):
                raise ValueError(f"got {len(members)} dialog draws for {len(targets)} rows")
            if len(members) and (members.min() < 0 or members.max() >= len(self.users)):
                raise ValueError(f"dialog draws must be member indices in [0, {len(self.users)})")
        out: list[str] = [""] * len(targets)
        for m, user in enumerate(self.users):
            rows = np.flatnonzero(members == m)
            if not len(rows):
                continue
            context = {}
            if getattr(user, "compares_with_previous", False) and previous_ids is not None:
                context["previous_ids"] = np.asarray(previous_ids).reshape(-1)[rows]
            said = user.describe(targets[rows], candidates[rows],
                                 rngs=None if rngs is None else [rngs[b] for b in rows], **context)
            for b, text in zip(rows.tolist(), said, strict=True):
                out[b] = text
        return out
