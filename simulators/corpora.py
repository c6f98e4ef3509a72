"""Caption corpora of a catalog, built once through the artifact cache.

The train split's corpus is what agents and the captioner learn from and what the vocabulary
(`simulators.registry.load_vocabulary`) is built from; the test split's corpus is the
captioner's evaluation data. SynthShoes's corpora are written by the caption grammar; a catalog built
from a dataset's files (`simulators.datasets`) has its people's captions instead, whatever the config's
sizes say. (People's captions replayed on SynthShoes's pairs, the human-taught captioner's extra rows, are
`simulators.replay.load_human_corpus`.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from simulators.cache import ArtifactCache
from simulators.catalog.catalog import Catalog
from simulators.datasets import file_corpus, is_file_catalog
from simulators.language.claims import GRAMMAR_VERSION
from simulators.language.corpus import PAPER_N_RELATIVE, PAPER_N_SINGLE, PAPER_REFS_PER_SINGLE, Corpus, build_corpus


@dataclass(frozen=True)
class CorpusConfig:
    """The caption corpus of one split of one catalog (the paper's sizes by default)."""

    split: str = "train"
    seed: int = 0
    n_relative: int = PAPER_N_RELATIVE
    n_single: int = PAPER_N_SINGLE
    refs_per_single: int = PAPER_REFS_PER_SINGLE
    same_category_share: float = 0.93

    @classmethod
    def tiny(cls, **overrides) -> CorpusConfig:
        """A few hundred rows, for tiny catalogs (tests, smoke runs)."""
        return cls(**{"n_relative": 300, "n_single": 40, "refs_per_single": 2, **overrides})


def load_corpus(catalog: Catalog, config: CorpusConfig | None = None, cache: ArtifactCache | None = None) -> Corpus:
    """The corpus for `config` over `catalog`, built and cached on first use."""
    config = config or CorpusConfig()
    if is_file_catalog(catalog):
        return file_corpus(catalog, config.split)  # the dataset's own captions, built with the catalog
    if catalog.params is None:
        raise ValueError(f"catalog {catalog.name!r} has no generative parameters to caption and no caption files")
    cache = cache or ArtifactCache()
    split_ids = catalog.split_ids(config.split)

    def write(staging: Path) -> dict:
        corpus = build_corpus(catalog.params, split_ids, n_relative=config.n_relative, n_single=config.n_single,
                              refs_per_single=config.refs_per_single,
                              same_category_share=config.same_category_share, seed=config.seed)
        corpus.save(staging / "corpus.json")
        return {"rows": len(corpus)}

    art = cache.load_or_build("corpus", {"catalog": catalog.name, "grammar": GRAMMAR_VERSION, **asdict(config)}, write)
    return Corpus.load(art.file("corpus.json"))
