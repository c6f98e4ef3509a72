"""The trained relative captioner as a simulated shopper: the environment's default user.

>>> user = load_captioner(catalog, vocabulary)  # trains and caches on first use (minutes), then loads
>>> user.describe(np.array([3]), np.array([7]))  # doctest: +SKIP
['is darker with a higher heel']

Greedy decoding is deterministic, so captions are memoised in a bounded LRU cache keyed by
(target, candidate): rollouts and repeated evaluations never decode the same pair twice.
Sampling (decoding="sample") draws each row's words from that row's generator instead, and skips
the cache.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simulators.cache import ArtifactCache
from simulators.captioner.checkpoint import KIND, read_checkpoint, write_checkpoint
from simulators.captioner.model import RelativeCaptioner
from simulators.captioner.train import TrainConfig, load_image_table, train_captioner
from simulators.catalog.catalog import Catalog
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.language.corpus import PAPER_N_RELATIVE, Corpus
from simulators.language.vocab import Vocabulary
from simulators.replay import HumanCorpusConfig, load_human_corpus
from simulators.seeding import make_rng
from simulators.users import User, check_pairs

DECODINGS = ("greedy", "beam", "sample")
SMALL_CATALOG = 1000
"""Catalogs with fewer items get the tiny captioner and corpus by default (see load_captioner)."""
CAPTIONER_CORPUS = CorpusConfig(split="train", n_relative=4 * PAPER_N_RELATIVE)
"""The captioner's default training corpus: the train split's grammar captions with four times the
paper's 10,751 relative pairs (the single-image captions as in the paper). The synthetic world can
draw more captions than the human dataset holds, and trained on the paper's count the captioner says
something false, or misses every real difference, markedly more often (measured in
docs/results/captioner.md)."""


@dataclass(frozen=True)
class CaptionerUserConfig:
    """How the trained captioner answers (does not change the trained weights)."""

    decoding: str = "greedy"
    """"greedy" (deterministic, cached), "beam" (deterministic, cached) or "sample" (seeded, not cached)."""
    beam_size: int = 3
    length_penalty: float = 0.0
    """Beam scores are summed log-probabilities divided by length ** this (0: none). 0.75-1.0 makes beam
    search say more (more real differences) while keeping most of its truthfulness gain over greedy;
    beam_size=2 with 0.75 is the fastest setting that meets both quality targets (docs/results/captioner.md)."""
    temperature: float = 1.0
    """Softmax temperature for decoding="sample"."""
    top_p: float = 1.0
    """Nucleus for decoding="sample": each word is drawn among the most probable words whose probabilities
    reach `top_p` together (1: every word)."""
    cache_size: int = 200_000
    """Most (target, candidate) captions kept; the least recently used are dropped first (0: no cache)."""
    batch_size: int = 1024
    """Most pairs decoded in one forward pass (bounds memory on large requests)."""

    def __post_init__(self) -> None:
        if self.decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {self.decoding!r}")
        if self.beam_size < 1 or self.batch_size < 1 or self.cache_size < 0 or not self.temperature > 0:
            raise ValueError("beam_size and batch_size must be positive, cache_size >= 0, temperature > 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not self.length_penalty >= 0:
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty}")


class CaptionerUser(User):
    """A shopper who speaks through a trained RelativeCaptioner (the paper's user simulator)."""

    def __init__(self, model: RelativeCaptioner, vocabulary: Vocabulary, catalog: Catalog,
                 config: CaptionerUserConfig | None = None, seed: int = 0, device: str | torch.device | None = None,
                 meta: dict[str, Any] | None = None, path: Path | None = None, cache: ArtifactCache | None = None):
        self.config = config or CaptionerUserConfig()
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device).eval()
        self.vocabulary = vocabulary
        self.n_items = len(catalog)
        self.images = load_image_table(catalog, model.config, self.device, cache)  # maps (and colour histograms)
        self.meta = meta or {}
        self.path = path
        self._cache: OrderedDict[tuple[int, int], str] = OrderedDict()
        self.decoded_pairs = 0
        """Pairs sent through the model so far (cache misses), for checking the cache works."""
        self.reset(seed)

    def with_config(self, config: CaptionerUserConfig, seed: int = 0) -> CaptionerUser:
        """The same captioner answering with another config: model and image table shared, its own cache."""
        other = copy.copy(self)
        other.config = config
        other._cache = OrderedDict()
        other.decoded_pairs = 0
        other.reset(seed)
        return other

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "captioner")

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        out: list[str | None] = [SAME_ITEM_PHRASE if t == c else None for t, c in zip(targets, candidates, strict=True)]
        todo = [b for b, text in enumerate(out) if text is None]
        if not todo:
            return out  # type: ignore[return-value]
        if self.config.decoding == "sample":
            if rngs is not None:
                uniforms = np.stack([rngs[b].random(self.model.config.max_len) for b in todo])
            else:
                uniforms = self.rng.random((len(todo), self.model.config.max_len))
            texts = self.caption(targets[todo], candidates[todo], uniforms)
            for b, text in zip(todo, texts, strict=True):
                out[b] = text
            return out  # type: ignore[return-value]
        cache = self._cache
        missing: dict[tuple[int, int], list[int]] = {}
        for b in todo:
            key = (int(targets[b]), int(candidates[b]))
            text = cache.get(key)
            if text is None:
                missing.setdefault(key, []).append(b)
            else:
                cache.move_to_end(key)
                out[b] = text
        if missing:
            keys = list(missing)
            texts = self.caption(np.array([k[0] for k in keys]), np.array([k[1] for k in keys]))
            for key, text in zip(keys, texts, strict=True):
                for b in missing[key]:
                    out[b] = text
                if self.config.cache_size:
                    cache[key] = text
            while len(cache) > self.config.cache_size:
                cache.popitem(last=False)
        return out  # type: ignore[return-value]

    def caption(self, target_ids: np.ndarray, reference_ids: np.ndarray,
                uniforms: np.ndarray | None = None) -> list[str]:
        """Decode captions for pairs straight through the model (no cache, no same-item phrase), in chunks."""
        texts: list[str] = []
        step = self.config.batch_size
        for start in range(0, len(target_ids), step):
            t, r, colours = self.images.pair(target_ids[start : start + step], reference_ids[start : start + step])
            if uniforms is not None:
                u = torch.as_tensor(uniforms[start : start + step], dtype=torch.float32, device=self.device)
                ids = self.model.greedy(t, r, uniforms=u, temperature=self.config.temperature, colours=colours,
                                        top_p=self.config.top_p)
            elif self.config.decoding == "beam":
                ids = self.model.beam_search(t, r, beam_size=self.config.beam_size,
                                             length_penalty=self.config.length_penalty, colours=colours)
            else:
                ids = self.model.greedy(t, r, colours=colours)
            texts.extend(self.vocabulary.decode_batch(ids.cpu().numpy()))
            self.decoded_pairs += len(t)
        return texts

    def cache_info(self) -> dict[str, int]:
        return {"size": len(self._cache), "max_size": self.config.cache_size, "decoded_pairs": self.decoded_pairs}

    def clear_cache(self) -> None:
        self._cache.clear()


def load_captioner(catalog: Catalog, vocabulary: Vocabulary, config: TrainConfig | None = None, *,
                   corpus: CorpusConfig | None = None, human: HumanCorpusConfig | None = None,
                   captions: str | Path | None = None, user_config: CaptionerUserConfig | None = None,
                   cache: ArtifactCache | None = None,
                   device: str | torch.device = "cpu", seed: int = 0, progress: bool = True,
                   on_corrupt: str = "raise") -> CaptionerUser:
    """The trained captioner of `catalog` speaking `vocabulary` (the catalog's one vocabulary,
    `simulators.registry.load_vocabulary`), as a user; trained and cached on first use.

    Defaults: the full model and CAPTIONER_CORPUS (four times the paper's relative pairs); on
    catalogs under SMALL_CATALOG items (the tiny test catalog) `TrainConfig.tiny()` and
    `CorpusConfig.tiny()`, which train in seconds.

    `human` adds people's captions replayed on the catalog's pairs (`simulators.replay.load_human_corpus`,
    reading the human caption files at `captions`) to the grammar corpus: the human-taught captioner. Its key
    holds the files' sha256, so a different file trains a different captioner.

    The artifact key covers the catalog, its vocabulary, the corpus and the training config. On
    load every file is checksummed and the checkpoint's catalog and vocabulary hash are compared
    with the given catalog's: a corrupt file raises CorruptArtifactError (on_corrupt="rebuild"
    retrains instead) and a mismatch raises CheckpointMismatchError.
    """
    small = len(catalog) < SMALL_CATALOG
    config = config or (TrainConfig.tiny() if small else TrainConfig())
    corpus = corpus or (CorpusConfig.tiny() if small else CAPTIONER_CORPUS)
    cache = cache or ArtifactCache()

    human_rows: Corpus | None = None
    key_extra: dict[str, Any] = {}
    if human is not None:
        human_rows, files = load_human_corpus(catalog, human, captions)
        key_extra = {"human": asdict(human), "human_files_sha256": files}

    def write(staging: Path) -> dict[str, Any]:
        rows = load_corpus(catalog, corpus, cache)
        if human_rows is not None:
            rows = Corpus.concat(rows, human_rows)
        model, history = train_captioner(catalog, rows, vocabulary, config, device=device, progress=progress,
                                         cache=cache)
        summary = {k: v for k, v in history.items() if k != "epochs"}
        return write_checkpoint(staging, model, catalog, vocabulary, history,
                                {"train": asdict(config), "corpus": asdict(corpus), **key_extra,
                                 "history": summary})

    key = {"catalog": catalog.name, "vocabulary_sha256": vocabulary.content_hash, "corpus": asdict(corpus),
           "train": asdict(config), **key_extra}
    art = cache.load_or_build(KIND, key, write, on_corrupt=on_corrupt)
    model, meta = read_checkpoint(art.path, catalog, vocabulary, device)
    return CaptionerUser(model, vocabulary, catalog, user_config, seed=seed, device=device, meta=meta, path=art.path,
                         cache=cache)
