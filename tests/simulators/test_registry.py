"""The registry: names to objects, and the one vocabulary every user, the env and the captioner share."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.catalog.catalog import CatalogConfig
from simulators.language.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from simulators.users import AttributeUser, GrammarUser


@pytest.fixture(scope="module")
def vocabulary(tiny_catalog, session_cache):
    return registry.load_vocabulary(tiny_catalog, session_cache)


def test_catalog_names(tiny_catalog):
    assert registry.catalog_config("tiny") == CatalogConfig.tiny()
    assert registry.catalog_config("full") == CatalogConfig()
    assert registry.load_catalog(tiny_catalog) is tiny_catalog
    with pytest.raises(ValueError, match="unknown catalog"):
        registry.load_catalog("huge")


def test_user_names(tiny_catalog):
    fake = SimpleNamespace(params=tiny_catalog.params, attributes=tiny_catalog.attributes)
    assert isinstance(registry.make_user("grammar", fake), GrammarUser)
    assert registry.make_user("attributes-10", fake).n_attributes == 10
    assert isinstance(registry.make_user("attributes-1", fake), AttributeUser)
    with pytest.raises(ValueError, match="unknown user"):
        registry.make_user("captioner-v9", fake)
    with pytest.raises(ValueError, match="generative parameters"):
        registry.make_user("grammar", SimpleNamespace(params=None, attributes=tiny_catalog.attributes))
    with pytest.raises(ValueError, match="needs a Catalog"):
        registry.make_user("captioner", fake)


@pytest.mark.parametrize("name", registry.USER_NAMES)
def test_every_built_in_user_speaks_the_one_vocabulary(name, tiny_catalog, vocabulary, tiny_captioner):
    user = tiny_captioner if name == "captioner" else registry.make_user(name, tiny_catalog)
    rng = np.random.default_rng(0)
    targets = rng.choice(tiny_catalog.train_ids, 300)
    candidates = rng.choice(tiny_catalog.train_ids, 300)
    texts = user.describe(targets, candidates)
    ids = vocabulary.encode(texts, max_len=64)
    assert not (ids == UNK_ID).any(), [t for t, row in zip(texts, ids, strict=True) if (row == UNK_ID).any()][:3]


def test_captioner_ids_are_the_env_observation_ids(tiny_catalog, vocabulary, tiny_captioner):
    assert tiny_captioner.vocabulary.content_hash == vocabulary.content_hash
    env = ShoeRetrievalVectorEnv(num_envs=6, catalog=tiny_catalog, user=tiny_captioner, vocabulary=vocabulary,
                                 device="cpu", max_turns=3, privileged=True)
    obs, info = env.reset(seed=0)
    for _ in range(2):
        targets = env.item_ids[info["target"]]
        shown = info["candidate_id"]
        # The captioner's own ids for the pairs on show, decoded by the model and re-encoded, are the env's.
        t, r, colours = tiny_captioner.images.pair(targets, shown)
        model_ids = tiny_captioner.model.greedy(t, r, colours=colours).numpy()
        decoded = tiny_captioner.vocabulary.decode_batch(model_ids)
        for b, text in enumerate(info["feedback_text"]):
            if targets[b] == shown[b]:
                continue
            assert text == decoded[b]
            row = list(model_ids[b])
            words = [i for i in row[: row.index(EOS_ID)] if i not in (PAD_ID, BOS_ID)] if EOS_ID in row else row
            np.testing.assert_array_equal(obs["feedback"][b][: len(words)], words[:16])
        obs, _, _, _, info = env.step(obs["candidate_features"])


def test_vocabulary_is_cached_and_stable(tiny_catalog, session_cache, vocabulary):
    again = registry.load_vocabulary(tiny_catalog, session_cache)
    assert again.content_hash == vocabulary.content_hash
    assert set(registry.user_words()) <= set(vocabulary.words)
