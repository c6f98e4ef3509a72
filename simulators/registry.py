"""The one place that turns names into objects: catalogs, users and the vocabulary.

    from simulators import registry
    catalog = registry.load_catalog("tiny")                 # "full" (the protocol's SynthShoes) or "tiny"
    catalog = registry.load_catalog("shoes")                # a catalog built from files (simulators.datasets)
    vocabulary = registry.load_vocabulary(catalog)          # the catalog's one vocabulary
    user = registry.make_user("grammar", catalog)           # any of registry.USER_NAMES

Users by name: "captioner" (the trained relative captioner, the paper's user model), "grammar" (the caption
grammar, the human proxy), "attributes-N" (N of the ten relative attributes, "more shiny less pointy",
spoken from the catalog's true attribute scores: the oracle) and "attributes-N-handcrafted" /
"attributes-N-deep" (the same feedback spoken from attribute values estimated from hand-crafted image
features or from the CNN features, as the paper's attribute baselines did; see
`simulators.catalog.estimators`), with N in 1, 3, 10, and "relevance" (binary relevance: "more like
this" / "less like this", whether the image on show is closer to the target than the one before it), and
"human-replay" / "human-replay-heldout" (people's relative captions, replayed where true of the pair: the
80% training part or the held-out 20%) and "captioner-human" (the captioner taught with the replayed 80%
besides the grammar corpus); these read the human caption files at run time, so they are in
HUMAN_USER_NAMES, not in USER_NAMES. Names joined by "+" make a population (`UserMixture`): each dialog's
shopper is one of them, drawn from the dialog's generator, equally likely or by weights written after a
colon ("captioner+grammar", "captioner:3+grammar:1"; see `parse_user_mixture`).

On a catalog built from a dataset's files there are no generative parameters: "captioner" is the captioner taught
with that dataset's captions, "human-replay" answers with the people's caption of a pair when the dataset has one
and with the captioner otherwise (`PairReplayUser`), "attributes-N" needs the catalog built with an attribute file,
and "grammar", "captioner-human" and "human-replay-heldout" are refused.

It sits at the top of `simulators`: everything below it (catalog, language, users, captioner) is
built from explicit arguments and never looks a name up.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simulators.cache import ArtifactCache, content_hash
from simulators.captioner.user import SMALL_CATALOG, CaptionerUser, CaptionerUserConfig, load_captioner
from simulators.catalog.catalog import SPLITS, Catalog, CatalogConfig, load_synthshoes
from simulators.catalog.estimators import ESTIMATOR_KINDS, load_attribute_estimates
from simulators.corpora import CorpusConfig, load_corpus
from simulators.datasets import FileCatalogConfig, build_file_catalog, is_file_catalog, load_named, registered_names
from simulators.language.claims import GRAMMAR_VERSION, GRAMMAR_WORDS
from simulators.language.vocab import Vocabulary
from simulators.replay import HumanCorpusConfig, HumanReplayUser, PairReplayUser
from simulators.users import (
    ATTRIBUTE_COUNTS,
    ATTRIBUTE_FEEDBACK_WORDS,
    RELEVANCE_FEEDBACK_WORDS,
    AttributeUser,
    GrammarUser,
    RelevanceUser,
    User,
    UserMixture,
)

CATALOG_NAMES: tuple[str, ...] = ("full", "tiny")
"""Names `load_catalog` knows: "full" is the protocol's SynthShoes (14,658 items), "tiny" a 64-item test catalog."""

USER_NAMES: tuple[str, ...] = ("captioner", "captioner-sampled", "grammar",
                               *(f"attributes-{n}" for n in ATTRIBUTE_COUNTS),
                               *(f"attributes-{n}-{kind}" for kind in ESTIMATOR_KINDS for n in ATTRIBUTE_COUNTS),
                               "relevance")
"""Names `make_user` knows; "captioner" (the trained relative captioner, greedy) is the environment's default,
"captioner-sampled" the same weights sampling its words (SAMPLED_CAPTIONER), so a pair can be described in
more than one way, as people do.
"attributes-N" speaks from the true attribute scores (the oracle), "attributes-N-handcrafted" and
"attributes-N-deep" from estimated ones; all say the same words. "relevance" answers "more like this" or
"less like this" (closer to the target than the previous image, in the retrieval space)."""

SAMPLED_CAPTIONER = CaptionerUserConfig(decoding="sample", temperature=1.0, top_p=0.3)
"""How "captioner-sampled" decodes: each word drawn from the row's generator among the most probable words
that make up 30% of the probability. On the full catalog's test pairs two draws differ for 66% of pairs,
with claims all true 78.8% (greedy 82.6%); top_p 0.9 varied more (99%) but was true only 55.4%
(docs/results/captioner.md)."""
HUMAN_USER_NAMES: tuple[str, ...] = ("human-replay", "human-replay-heldout", "captioner-human")
"""Names `make_user` also knows that need the human caption files (`simulators.human_captions`): the replay
user of the captions' training part (80% of target image names) and of the held-out 20%, and the captioner
taught with the training part (HUMAN_CORPUS) besides the grammar corpus. Kept out of USER_NAMES, which
commands and tests loop over without those files."""
HUMAN_CORPUS = HumanCorpusConfig()
"""What "captioner-human" learns from besides the grammar corpus: the training part's captions replayed on
twice the paper's count of train-split pairs, plus the single-image captions on 3,600 distinct pairs."""

VOCABULARY_VERSION = 2
"""Bumped when the rule that builds the one vocabulary changes (2: one vocabulary for env, captioner and agents)."""


def catalog_config(name: str, seed: int = 0) -> CatalogConfig:
    """The CatalogConfig behind a SynthShoes catalog name."""
    if name == "full":
        return CatalogConfig(seed=seed)
    if name == "tiny":
        return CatalogConfig.tiny(seed=seed)
    raise ValueError(f"unknown catalog {name!r}; expected one of {CATALOG_NAMES}, a CatalogConfig or a Catalog")


def load_catalog(catalog: Catalog | CatalogConfig | FileCatalogConfig | str = "full",
                 device: str | torch.device = "cpu", progress: bool = True,
                 cache: ArtifactCache | None = None) -> Catalog:
    """A Catalog from an instance (returned as is), a SynthShoes config, a name in CATALOG_NAMES (built and cached on
    first use), a `FileCatalogConfig`, the name of a catalog built from files into this
    data home (`python -m simulators.build catalog --format ...`; `simulators.datasets.registered_names`), or the
    path of such a catalog's JSON entry or config."""
    if isinstance(catalog, Catalog):
        return catalog
    if isinstance(catalog, FileCatalogConfig):
        return build_file_catalog(catalog, cache, str(device), progress)[0]
    if isinstance(catalog, str):
        if catalog not in CATALOG_NAMES:
            return load_named(catalog, cache, str(device), progress)
        catalog = catalog_config(catalog)
    if not isinstance(catalog, CatalogConfig):
        raise ValueError(f"catalog must be a Catalog, a CatalogConfig, a FileCatalogConfig or a name, got {catalog!r}")
    return load_synthshoes(catalog, cache=cache, device=str(device), progress=progress)


def catalog_names(cache: ArtifactCache | None = None) -> list[str]:
    """Every catalog name `load_catalog` takes here: CATALOG_NAMES, then the catalogs built from files."""
    return [*CATALOG_NAMES, *registered_names(cache)]


def default_users(catalog: Catalog) -> list[str]:
    """The two users a catalog's dialog managers train and are evaluated with by default: the captioner and the
    grammar (SynthShoes), or the captioner and people's captions replayed (a catalog built from files)."""
    return ["captioner", "human-replay"] if is_file_catalog(catalog) else ["captioner", "grammar"]


def user_words() -> frozenset[str]:
    """Every word a built-in user can say (the captioner writes only words of the vocabulary it was trained with)."""
    return GRAMMAR_WORDS | ATTRIBUTE_FEEDBACK_WORDS | RELEVANCE_FEEDBACK_WORDS


def load_vocabulary(catalog: Catalog, cache: ArtifactCache | None = None) -> Vocabulary:
    """The catalog's one vocabulary, used by the environment, the captioner and the agents alike.

    The words of the train split's caption corpus, most frequent first (as the paper's vocabulary
    came from the human training captions), then every other word a built-in user can say, so that
    no built-in user's feedback ever encodes to `<unk>`. Built once and cached.
    """
    cache = cache or ArtifactCache()
    corpus_config = CorpusConfig(split="train")
    extra = sorted(user_words())

    def write(staging: Path) -> dict:
        corpus = load_corpus(catalog, corpus_config, cache)
        vocab = Vocabulary.build(corpus.captions, extra_words=extra)
        (staging / "vocabulary.json").write_text(vocab.to_json(), encoding="utf-8")
        return {"words": len(vocab), "sha256": vocab.content_hash}

    key = {"catalog": catalog.name, "grammar": GRAMMAR_VERSION, "version": VOCABULARY_VERSION,
           "corpus": asdict(corpus_config), "user_words": extra}
    art = cache.load_or_build("vocabulary", key, write)
    return Vocabulary.from_json(art.file("vocabulary.json").read_text(encoding="utf-8"))


def parse_user_mixture(name: str) -> list[tuple[str, float]]:
    """[(member name, weight)] of a user name: one member of weight 1 for a plain name, else the "+"-joined
    members, each with the weight after its colon (1 when none); ValueError for empty or repeated members or a
    weight that is not a positive number. "captioner:3+grammar" -> [("captioner", 3.0), ("grammar", 1.0)]."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a user name must be a non-empty string, got {name!r}")
    if "+" not in name and ":" not in name:
        return [(name, 1.0)]
    members: list[tuple[str, float]] = []
    for part in name.split("+"):
        member, colon, weight = part.partition(":")
        if not member:
            raise ValueError(f"user mixture {name!r} has an empty member name")
        try:
            value = float(weight) if colon else 1.0
        except ValueError:
            raise ValueError(f"user mixture {name!r}: weight {weight!r} of {member!r} is not a number") from None
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"user mixture {name!r}: weight of {member!r} must be a positive number, got {weight!r}")
        members.append((member, value))
    names = [m for m, _ in members]
    if len(set(names)) != len(names):
        raise ValueError(f"user mixture {name!r} names a member twice")
    return members


def make_user(name: str, catalog: Catalog | Any, seed: int = 0, device: str | torch.device = "cpu",
              progress: bool = True, vocabulary: Vocabulary | None = None,
              cache: ArtifactCache | None = None, captions: str | Path | None = None) -> User:
    """A user by name (see USER_NAMES and HUMAN_USER_NAMES) for `catalog`.

    "captioner" is the trained relative captioner (trained and cached on first use with a progress
    bar; `device` is where it decodes; it speaks the catalog's one vocabulary). "grammar" needs a
    catalog with generative parameters; "attributes-N" reads the catalog's true attribute scores (the oracle);
    "attributes-N-handcrafted" and "attributes-N-deep" read estimated scores (fitted and cached on first use);
    "relevance" compares distances in the catalog's retrieval space. The replay users read the relative-caption
    file `captions` (else `$SHOE_RETRIEVAL_HUMAN_CAPTIONS`, else the shared folder; FileNotFoundError if none).
    A "+"-joined name is a `UserMixture` of its members (`parse_user_mixture`), each made with these arguments.
    """
    members = parse_user_mixture(name)
    if len(members) > 1 or members[0][1] != 1.0:
        users = [make_user(member, catalog, seed, device, progress, vocabulary, cache, captions)
                 for member, _ in members]
        return UserMixture(users, [w for _, w in members], [m for m, _ in members], seed)
    if isinstance(catalog, Catalog) and is_file_catalog(catalog):
        if name in ("grammar", "captioner-human", "human-replay-heldout"):
            raise ValueError(f"the {name} user needs SynthShoes (it speaks from, or matches captions against, "
                             f"generative parameters); catalog {catalog.name!r} is built from files: use the "
                             "captioner, "
                             "human-replay (its people's captions, the captioner elsewhere), relevance, or "
                             "attributes-N when it was built with an attribute file")
        if name.startswith("attributes-") and not catalog.has_attributes:
            raise ValueError(f"the {name} user speaks from attribute scores, and catalog {catalog.name!r} has none: "
                             "build it with an attribute file (python -m simulators.build catalog --attributes FILE)")
        if name == "human-replay":
            fallback = make_user("captioner", catalog, seed, device, progress, vocabulary, cache)
            return PairReplayUser([load_corpus(catalog, CorpusConfig(split=split), cache) for split in SPLITS],
                                  fallback, len(catalog), seed)
    if name in ("human-replay", "human-replay-heldout"):
        if getattr(catalog, "params", None) is None:
            raise ValueError(f"the {name} user needs a catalog with generative parameters")
        part = "heldout" if name == "human-replay-heldout" else "train"
        return HumanReplayUser.from_file(catalog.params, captions, part, seed, getattr(catalog, "attributes", None))
    if name in ("captioner", "captioner-sampled", "captioner-human"):
        if not isinstance(catalog, Catalog):
            raise ValueError("the captioner user needs a Catalog (with spatial maps)")
        vocabulary = vocabulary if vocabulary is not None else load_vocabulary(catalog, cache)
        decoding = SAMPLED_CAPTIONER if name == "captioner-sampled" else None
        human = None
        if name == "captioner-human":
            human = HumanCorpusConfig.tiny() if len(catalog) < SMALL_CATALOG else HUMAN_CORPUS
        return load_captioner(catalog, vocabulary, seed=seed, device=device, progress=progress, cache=cache,
                              user_config=decoding, human=human, captions=captions)
    if name == "grammar":
        if getattr(catalog, "params", None) is None:
            raise ValueError("the grammar user needs a catalog with generative parameters")
        return GrammarUser(catalog.params, seed)
    if name == "relevance":
        return RelevanceUser(catalog.features, seed)
    if name.startswith("attributes-") and name.removeprefix("attributes-").isdigit():
        return AttributeUser(catalog.attributes, int(name.removeprefix("attributes-")), seed)
    count, _, kind = name.removeprefix("attributes-").partition("-")
    if name.startswith("attributes-") and count.isdigit() and kind in ESTIMATOR_KINDS:
        if not isinstance(catalog, Catalog):
            raise ValueError(f"the {name} user needs a Catalog to estimate attributes from")
        return AttributeUser(load_attribute_estimates(catalog, kind, cache), int(count), seed)
    raise ValueError(f"unknown user {name!r}; expected one of {USER_NAMES + HUMAN_USER_NAMES}")


def user_fingerprint(user: User | Any) -> str:
    """What a user's answers rest on, for results files: the captioner's artifact content hash, a hash of
    the attribute values an attribute user speaks from, or the grammar's / the rule's version."""
    if isinstance(user, CaptionerUser) and user.path is not None:
        config = user.config
        decoding = {"greedy": "", "beam": f":beam{config.beam_size}-lp{config.length_penalty:g}",
                    "sample": f":sample-t{config.temperature:g}-p{config.top_p:g}"}[config.decoding]
        return f"captioner:{content_hash(user.path)[:16]}{decoding}"
    if isinstance(user, AttributeUser):
        return f"attributes:{hashlib.sha256(np.ascontiguousarray(user.attributes).tobytes()).hexdigest()[:16]}"
    if isinstance(user, GrammarUser):
        return f"grammar:v{GRAMMAR_VERSION}"
    if isinstance(user, PairReplayUser):
        texts = hashlib.sha256("\n".join(user.texts).encode("utf-8")).hexdigest()[:16]
        return f"{user.name}:pairs:{texts}+{user_fingerprint(user.fallback)}"
    if isinstance(user, HumanReplayUser):
        texts = hashlib.sha256("\n".join(user.texts).encode("utf-8")).hexdigest()[:16]
        return f"{user.name}:{texts}"
    if isinstance(user, RelevanceUser):
        return f"relevance:{user.reference_distance:.6g}"
    if isinstance(user, UserMixture):
        return "mixture(" + ",".join(f"{user_fingerprint(u)}@{w:.4g}" for u, w in zip(user.users, user.weights,
                                                                                     strict=True)) + ")"
    return f"{type(user).__module__}.{type(user).__qualname__}"


__all__ = ["CATALOG_NAMES", "HUMAN_CORPUS", "HUMAN_USER_NAMES", "USER_NAMES", "CaptionerUser", "catalog_config",
           "catalog_names", "default_users", "load_catalog", "load_vocabulary", "make_user", "parse_user_mixture",
           "user_fingerprint", "user_words"]
