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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from simulators.cache import file_sha256
from simulators.catalog.attributes import compute_attributes
from simulators.catalog.catalog import Catalog
from simulators.catalog.params import ShoeParams
from simulators.human_captions import (
    ImageCaption,
    RelativeCaption,
    find_caption_file,
    read_image_captions,
    read_relative_captions,
)
from simulators.language.claims import SAME_ITEM_PHRASE, claim_holds
from simulators.language.corpus import (
    PAPER_N_RELATIVE,
    PAPER_N_SINGLE,
    RELATIVE,
    SINGLE,
    Corpus,
    distinct_references,
    relative_pairs,
)
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


def replay_captions(records: Iterable[RelativeCaption | ImageCaption], part: Part | None = None) -> list[CaptionMatch]:
    """The distinct usable captions of `records` (relative or single-image ones; of the `part` their target
    image falls in, or all), in file order."""
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    def image(r: RelativeCaption | ImageCaption) -> str:
        return r.target if isinstance(r, RelativeCaption) else r.image

    texts = dict.fromkeys(r.text for r in records if part is None or caption_part(image(r)) == part)
    return [m for m in match_captions(texts) if m.usable]


def replay_corpus(params: ShoeParams, split_ids: np.ndarray, relative: Sequence[CaptionMatch],
                  single: Sequence[CaptionMatch] = (), n_relative: int = 0, n_single: int = 0,
                  same_category_share: float = 0.93, seed: int = 0, attributes: np.ndarray | None = None,
                  chunk: int = 8192) -> Corpus:
    """People's captions as training rows of SynthShoes pairs: what a `HumanReplayUser` would answer.

    Relative rows: pairs of items of `split_ids` drawn as the grammar corpus draws them (`relative_pairs`,
    `same_category_share` of them within a category), each captioned with one of the `relative` captions
    that is true and informative for it (`caption_truth`), drawn uniformly; pairs none fits are skipped, so
    the rows follow the replay user's answers, not the file's. Single rows (kind SINGLE): targets with one
    visually distinct reference each (`distinct_references`, as the paper reused its single-image captions),
    captioned with one of the `single` captions true and informative for the pair. Raises ValueError when
    fewer than the asked rows can be found in 100 rounds of `chunk` pairs.
    """
    split = np.unique(np.asarray(split_ids, dtype=np.int64))
    if min(n_relative, n_single) < 0:
        raise ValueError("corpus sizes must be non-negative")
    attributes = compute_attributes(params) if attributes is None else attributes
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[CaptionMatch]]] = []
    for kind, matches, n in ((RELATIVE, relative, n_relative), (SINGLE, single, n_single)):
        if n == 0:
            continue
        if not matches:
            raise ValueError(f"asked for {n} {('relative', 'single')[kind]} rows but got no usable captions")
        pairs_rng = make_rng(seed, "replay-corpus", kind, "pairs")
        pick_rng = make_rng(seed, "replay-corpus", kind, "pick")
        targets, refs, chosen = [], [], []
        found = 0
        for _ in range(100):
            if found >= n:
                break
            if kind == RELATIVE:
                t, r = relative_pairs(params, split, chunk, same_category_share, pairs_rng)
            else:
                t = split[pairs_rng.integers(len(split), size=chunk)]
                r = distinct_references(params, split, t, 1, pairs_rng)[:, 0]
            fits = caption_truth(matches, params, t, r, attributes).informative.T  # (chunk, M)
            counts = fits.sum(axis=1)
            keep = np.flatnonzero(counts)[: n - found]
            # The k-th fitting caption of row b, k uniform in [0, counts[b]).
            k = (pick_rng.random(len(keep)) * counts[keep]).astype(np.int64)
            order = np.cumsum(fits[keep], axis=1)
            chosen.append((order >= (k + 1)[:, None]).argmax(axis=1))
            targets.append(t[keep])
            refs.append(r[keep])
            found += len(keep)
        if found < n:
            raise ValueError(f"found only {found} of {n} pairs that a usable caption fits in the given items")
        picked = np.concatenate(chosen)
        rows.append((np.concatenate(targets), np.concatenate(refs), np.full(n, kind, dtype=np.int8),
                     [matches[i] for i in picked.tolist()]))
    meta = {"source": "human-replay", "seed": seed, "n_relative": n_relative, "n_single": n_single,
            "relative_captions": len(relative), "single_captions": len(single), "n_items": len(split)}
    if not rows:
        return Corpus(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8), [], [], meta)
    return Corpus(np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
                  np.concatenate([r[2] for r in rows]), [m.text for r in rows for m in r[3]],
                  [m.claims for r in rows for m in r[3]], meta)


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


@dataclass(frozen=True)
class HumanCorpusConfig:
    """People's captions of one part of the human caption files, replayed on pairs of one split of a catalog."""

    split: str = "train"
    """The catalog split the pairs are drawn from."""
    part: str = "train"
    """The part of the human captions (`simulators.replay.caption_part`): "train" (80%) or "heldout" (20%)."""
    seed: int = 0
    n_relative: int = 2 * PAPER_N_RELATIVE
    """Pairs answered with a relative caption (twice the paper's human count: the grammar corpus keeps 2/3)."""
    n_single: int = PAPER_N_SINGLE
    """(target, visually distinct reference) pairs answered with a single-image caption."""
    same_category_share: float = 0.93

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {self.part!r}")

    @classmethod
    def tiny(cls, **overrides) -> HumanCorpusConfig:
        """A few hundred rows, for tiny catalogs (tests, smoke runs)."""
        return cls(**{"n_relative": 200, "n_single": 20, **overrides})


def load_human_corpus(catalog: Catalog, config: HumanCorpusConfig | None = None,
                      captions: str | Path | None = None) -> tuple[Corpus, dict[str, str]]:
    """(the replayed corpus, the sha256 of each caption file read) for `config` over `catalog`. `captions` is
    the relative-caption file or its folder (else `$SHOE_RETRIEVAL_HUMAN_CAPTIONS`, else the shared folder);
    the single-image file is looked for in the same folder, and without it the corpus has no single rows.
    Built in seconds, so not cached: the caller's artifact key holds the config and the files' hashes."""
    config = config or HumanCorpusConfig()
    if catalog.params is None:
        raise ValueError(f"catalog {catalog.name!r} has no generative parameters to check human captions against")
    relative_file = read_relative_captions(find_caption_file("relative", captions))
    files = {"relative": file_sha256(relative_file.path)}
    single: list = []
    n_single = config.n_single
    try:
        single_file = read_image_captions(find_caption_file("single", relative_file.path.parent))
        single = replay_captions(single_file.unique(), config.part)  # type: ignore[arg-type]
        files["single"] = file_sha256(single_file.path)
    except FileNotFoundError:
        n_single = 0
    corpus = replay_corpus(catalog.params, catalog.split_ids(config.split),
                           replay_captions(relative_file.unique(), config.part), single, config.n_relative,
                           n_single, config.same_category_share, config.seed, catalog.attributes)
    return corpus, files


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


class PairReplayUser(User):
    """On a catalog built from a dataset's files: the people's caption of a (target, shown) pair when the corpus has
    one for that very pair (drawn with the row's generator among its captions), else the `fallback` user's answer.

    `answers` counts the rows described (the same-item phrase aside), `fallbacks` those the fallback answered.
    """

    def __init__(self, corpora: Sequence[Corpus], fallback: User, n_items: int, seed: int = 0,
                 name: str = "human-replay"):
        self.pairs: dict[tuple[int, int], list[str]] = {}
        for corpus in corpora:
            for t, s, k, text in zip(corpus.target_ids, corpus.reference_ids, corpus.kind, corpus.captions,
                                     strict=True):
                if k == RELATIVE:
                    self.pairs.setdefault((int(t), int(s)), []).append(text)
        self.texts = sorted({text for texts in self.pairs.values() for text in texts})
        self.fallback, self.n_items, self.name = fallback, n_items, name
        self.answers = self.fallbacks = 0
        self.reset(seed)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "pair-replay")
        self.fallback.reset(seed)

    @property
    def fallback_rate(self) -> float:
        """The share of rows described so far that the fallback answered (0 before any)."""
        return self.fallbacks / self.answers if self.answers else 0.0

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        out: list[str | None] = []
        fallback: list[int] = []
        for b, (t, s) in enumerate(zip(targets.tolist(), candidates.tolist(), strict=True)):
            texts = self.pairs.get((t, s))
            if t == s:
                out.append(SAME_ITEM_PHRASE)
            elif texts:
                rng = rngs[b] if rngs is not None else self.rng
                out.append(texts[int(rng.integers(len(texts)))])
            else:
                out.append(None)
                fallback.append(b)
        if fallback:
            rows = np.array(fallback)
            said = self.fallback.describe(targets[rows], candidates[rows],
                                          rngs=None if rngs is None else [rngs[b] for b in fallback])
            for b, text in zip(fallback, said, strict=True):
                out[b] = text
        self.answers += int((targets != candidates).sum())
        self.fallbacks += len(fallback)
        return out  # type: ignore[return-value]
