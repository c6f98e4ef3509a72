"""The human-replay user: people's own relative captions, replayed where they are true of the pair.

A published human caption ("is darker and has a lower heel") written for a pair of photographs is a true
answer for any (target, shown) pair of SynthShoes whose truth makes all of its claims hold
(`simulators.language.matching`). `HumanReplayUser` answers each pair with such a caption, one that also
states a difference the shown shoe lacks, drawn uniformly with the row's generator; where no caption fits it
answers as the grammar user would and counts the fallback.

The captions are split once by target image name (`caption_part`, a stable hash, so the split never depends
on the file's order): the "train" part (80%) is what training may see, the "heldout" part (20%) the
evaluation user that says how an agent does with human wording it never saw.

    >>> user = HumanReplayUser.from_file(catalog.params, part="heldout")  # doctest: +SKIP
    >>> user.describe(np.array([3]), np.array([7]))  # doctest: +SKIP
    ['has a lower heel']
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from simulators.catalog.attributes import compute_attributes
from simulators.catalog.params import ShoeParams
from simulators.human_captions import RelativeCaption, find_caption_file, read_relative_captions
from simulators.language.claims import SAME_ITEM_PHRASE, claim_holds
from simulators.language.matching import CaptionMatch, caption_truth, match_caption, match_captions
from simulators.seeding import make_rng
from simulators.users import GrammarUser, User, check_pairs

Part = Literal["train", "heldout"]
PARTS: tuple[str, ...] = ("train", "heldout")
HELDOUT_SHARE = 0.2
"""The share of target image names whose captions are held out from training."""


def caption_part(image_name: str) -> Part:
    """"heldout" for a stable 20% of target image names (by sha256 of the name), else "train"."""
    digest = hashlib.sha256(image_name.encode("utf-8")).digest()
    return "heldout" if int.from_bytes(digest[:8], "big") < HELDOUT_SHARE * 2**64 else "train"


def replay_captions(records: Iterable[RelativeCaption], part: Part | None = None) -> list[CaptionMatch]:
    """The distinct usable captions of `records` (of the `part` their target falls in, or all), in file order."""
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    texts = dict.fromkeys(r.text for r in records if part is None or caption_part(r.target) == part)
    return [m for m in match_captions(texts) if m.usable]


def scalar_truth(text: str, params: ShoeParams, target: int, shown: int) -> tuple[bool, bool]:
    """(holds, states a difference) of a usable caption for one pair, by a second code path: the scalar
    `claim_holds`, claim by claim (a strong comparative with twice the gap), not `caption_truth`'s tables.
    A difference: a relative claim, or an absolute one the shown shoe does not have (a weaker test than
    `caption_truth`'s salience, which also asks the shown shoe to lack it clearly)."""
    match = match_caption(text)
    if not match.usable:
        raise ValueError(f"caption {text!r} is not usable ({match.cause.value})")
    holds = (all(claim_holds(c, params, target, shown, strong=c in match.strong) for c in match.claims)
             and all(claim_holds(c, params, shown, shown) for c in match.reference_claims))
    differs = any(c.kind.endswith("_rel") or not claim_holds(c, params, shown, shown) for c in match.claims)
    return holds, holds and differs


class HumanReplayUser(User):
    """Answers each (target, shown) pair with a usable human caption that is true and informative for it.

    `captions` are usable matches (`replay_captions`). Row b draws one of the captions that fit with
    `rngs[b]` (else the user's own generator); a row none fits is answered by a `GrammarUser` with the same
    generator. `answers` counts the rows described (the same-item phrase aside), `fallbacks` those the
    grammar answered.
    """

    def __init__(self, params: ShoeParams, captions: Sequence[CaptionMatch], seed: int = 0,
                 attributes: np.ndarray | None = None, name: str = "human-replay"):
        unusable = [m.text for m in captions if not m.usable]
        if unusable:
            raise ValueError(f"{len(unusable)} captions are not usable, e.g. {unusable[0]!r}")
        self.params, self.captions, self.name = params, list(captions), name
        self.texts = [m.text for m in self.captions]
        self.attributes = compute_attributes(params) if attributes is None else attributes
        self.n_items = len(params["category"])
        self.grammar = GrammarUser(params, seed)
        self.answers = self.fallbacks = 0
        self.reset(seed)

    @classmethod
    def from_file(cls, params: ShoeParams, path: str | Path | None = None, part: Part = "train", seed: int = 0,
                  attributes: np.ndarray | None = None) -> HumanReplayUser:
        """The user replaying the `part` of the relative-caption file found by `find_caption_file` (`path`, else
        the environment variable, else the shared folder; FileNotFoundError when there is none)."""
        captions = read_relative_captions(find_caption_file("relative", path))
        name = "human-replay" if part == "train" else f"human-replay-{part}"
        return cls(params, replay_captions(captions.unique(), part), seed, attributes, name)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "human-replay")
        self.grammar.reset(seed)

    @property
    def fallback_rate(self) -> float:
        """The share of rows described so far that the grammar answered (0 before any)."""
        return self.fallbacks / self.answers if self.answers else 0.0

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        if len(targets) == 0:
            return []
        if self.captions:
            fits = caption_truth(self.captions, self.params, targets, candidates, self.attributes).informative.T
        else:
            fits = np.zeros((len(targets), 0), dtype=bool)  # (B, M)
        out: list[str | None] = []
        fallback: list[int] = []
        for b in range(len(targets)):
            if targets[b] == candidates[b]:
                out.append(SAME_ITEM_PHRASE)
                continue
            options = np.flatnonzero(fits[b])
            if len(options):
                rng = rngs[b] if rngs is not None else self.rng
                out.append(self.texts[options[rng.integers(len(options))]])
            else:
                out.append(None)
                fallback.append(b)
        if fallback:
            rows = np.array(fallback)
            said = self.grammar.describe(targets[rows], candidates[rows],
                                         rngs=None if rngs is None else [rngs[b] for b in fallback])
            for b, text in zip(fallback, said, strict=True):
                out[b] = text
        self.answers += int((targets != candidates).sum())
        self.fallbacks += len(fallback)
        return out  # type: ignore[return-value]
