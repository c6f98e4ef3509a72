"""Relative-attribute estimators and the users that speak from their estimates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulators import registry
from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES
from simulators.catalog.estimators import (
    ESTIMATOR_KINDS,
    EstimatorConfig,
    load_attribute_estimates,
    load_attribute_estimator,
    pairwise_accuracy,
)
from simulators.catalog.histograms import colour_histogram, gradient_histogram, load_colour_table
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.language.vocab import UNK_ID
from simulators.users import ATTRIBUTE_COUNTS, AttributeUser

ESTIMATED_USERS = [f"attributes-{n}-{kind}" for kind in ESTIMATOR_KINDS for n in ATTRIBUTE_COUNTS]
WORD_INDEX = {ATTRIBUTE_WORDS[a]: k for k, a in enumerate(ATTRIBUTES)}


@pytest.mark.parametrize("kind", ESTIMATOR_KINDS)
def test_estimators_order_held_out_pairs_better_than_chance(kind, tiny_catalog, session_cache):
    estimator = load_attribute_estimator(tiny_catalog, kind, session_cache)
    assert estimator.estimates.shape == (len(tiny_catalog), len(ATTRIBUTES))
    assert estimator.estimates.dtype == np.float32
    assert estimator.estimates.min() >= 0 and estimator.estimates.max() <= 1
    accuracy = pairwise_accuracy(estimator.scores, tiny_catalog.attributes, tiny_catalog.test_ids)
    assert np.nanmean(accuracy) > 0.65, accuracy
    # The quantile map is monotone: estimates never reverse an order the rankers learned.
    for k in range(len(ATTRIBUTES)):
        order = np.argsort(estimator.scores[:, k], kind="stable")
        assert (np.diff(estimator.estimates[order, k]) >= 0).all()


def test_pairwise_accuracy_counts_orders_and_ties():
    true = np.zeros((4, len(ATTRIBUTES)), dtype=np.float32)
    true[:, 0] = [0.0, 0.3, 0.6, 0.62]  # pairs (2, 3) are within the margin and left out
    perfect = pairwise_accuracy(true, true, np.arange(4))
    assert perfect[0] == 1.0 and np.isnan(perfect[1])
    assert pairwise_accuracy(-true, true, np.arange(4))[0] == 0.0
    assert pairwise_accuracy(np.zeros_like(true), true, np.arange(4))[0] == 0.5


def test_handcrafted_histograms():
    images = np.full((2, 16, 16, 3), 255, dtype=np.uint8)
    images[1, :, 8:] = 0  # a vertical edge: horizontal gradients only
    colour = colour_histogram(images, bins=4)
    assert colour.shape == (2, 64) and np.allclose(colour.sum(axis=1), 1)
    assert colour[0, 63] == 1 and colour[1, 0] == 0.5
    gradient = gradient_histogram(images, orientation_bins=9, grid=4)
    assert gradient.shape == (2, 144) and gradient[0].sum() == 0
    assert np.isclose(gradient[1].reshape(16, 9)[:, 0].sum(), 1)  # all in the orientation-0 bin
    shoe = colour_histogram(images, bins=4, foreground=True)  # the white background left out
    assert shoe[0].sum() == 0 and shoe[1, 0] == 1


def test_artifact_reload_gives_identical_arrays(tiny_catalog, session_cache):
    config = EstimatorConfig(features="deep", l2=3e-3)
    built = load_attribute_estimator(tiny_catalog, config, session_cache)
    again = load_attribute_estimator(tiny_catalog, config, session_cache)
    assert np.array_equal(built.scores, again.scores) and np.array_equal(built.estimates, again.estimates)
    assert np.array_equal(load_attribute_estimates(tiny_catalog, config, session_cache), built.estimates)
    assert session_cache.load("attribute-estimates", {"catalog": tiny_catalog.name, "estimator": config.key()})


@pytest.mark.parametrize("name", ESTIMATED_USERS)
def test_estimated_users_say_what_their_estimates_say(name, tiny_catalog, session_cache):
    kind = name.rpartition("-")[2]
    estimates = load_attribute_estimates(tiny_catalog, kind, session_cache)
    user = registry.make_user(name, tiny_catalog, cache=session_cache)
    assert isinstance(user, AttributeUser) and user.n_attributes == int(name.split("-")[1])
    rng = np.random.default_rng(0)
    targets, candidates = rng.integers(0, len(tiny_catalog), (2, 300))
    texts = user.describe(targets, candidates)
    checked = 0
    for target, candidate, text in zip(targets, candidates, texts, strict=True):
        if target == candidate:
            assert text == SAME_ITEM_PHRASE
            continue
        words = text.split()
        assert len(words) == 2 * user.n_attributes
        for relation, word in zip(words[::2], words[1::2], strict=True):
            diff = estimates[target, WORD_INDEX[word]] - estimates[candidate, WORD_INDEX[word]]
            expected = "more" if diff > user.tolerance else "less" if diff < -user.tolerance else "as"
            assert relation == expected, (text, word, diff)
            checked += 1
    assert checked > 100


def test_estimated_users_keep_the_one_vocabulary(tiny_catalog, session_cache):
    vocabulary = registry.load_vocabulary(tiny_catalog, session_cache)
    assert set(registry.USER_NAMES) >= {"attributes-1", "attributes-3", "attributes-10", *ESTIMATED_USERS}
    rng = np.random.default_rng(1)
    targets, candidates = rng.integers(0, len(tiny_catalog), (2, 200))
    for name in ESTIMATED_USERS:
        texts = registry.make_user(name, tiny_catalog, cache=session_cache).describe(targets, candidates)
        assert not (vocabulary.encode(texts, max_len=32) == UNK_ID).any()


def test_estimated_users_differ_from_the_oracle(tiny_catalog, session_cache):
    oracle = registry.make_user("attributes-10", tiny_catalog)
    rng = np.random.default_rng(2)
    targets, candidates = rng.integers(0, len(tiny_catalog), (2, 200))
    for kind in ESTIMATOR_KINDS:
        estimated = registry.make_user(f"attributes-10-{kind}", tiny_catalog, cache=session_cache)
        assert estimated.describe(targets, candidates) != oracle.describe(targets, candidates)


def test_colour_table_is_the_foreground_histogram_of_each_render(tiny_catalog, session_cache):
    table = load_colour_table(tiny_catalog, bins=4, cache=session_cache)
    assert table.shape == (len(tiny_catalog), 64) and table.dtype == np.float16
    ids = np.array([0, 5, 63])
    expect = np.sqrt(colour_histogram(tiny_catalog.render(ids), bins=4, foreground=True))
    np.testing.assert_allclose(table[ids].astype(np.float32), expect, atol=1e-3)
    np.testing.assert_allclose((table.astype(np.float32) ** 2).sum(axis=1), 1, atol=1e-2)  # every item has a shoe
    assert np.array_equal(load_colour_table(tiny_catalog, bins=4, cache=session_cache), table)  # cached
    with pytest.raises(ValueError, match="neither generative parameters nor image files"):
        load_colour_table(dataclasses.replace(tiny_catalog, name="no-params", params=None), cache=session_cache)
