"""A population of users: one member per dialog, drawn from the dialog's generator, the same for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.registry import make_user, parse_user_mixture, user_fingerprint
from simulators.users import AttributeUser, GrammarUser, UserMixture


def test_parse_user_mixture_reads_names_and_weights():
    assert parse_user_mixture("grammar") == [("grammar", 1.0)]
    assert parse_user_mixture("captioner:3+grammar") == [("captioner", 3.0), ("grammar", 1.0)]
    for bad in ("grammar+", "+grammar", "grammar:x+captioner", "grammar:0+captioner", "grammar+grammar",
                "grammar:-1", ""):
        with pytest.raises(ValueError):
            parse_user_mixture(bad)


def test_make_user_builds_a_weighted_mixture(tiny_catalog):
    user = make_user("grammar:3+attributes-3", tiny_catalog)
    assert isinstance(user, UserMixture)
    assert [type(u) for u in user.users] == [GrammarUser, AttributeUser]
    np.testing.assert_allclose(user.weights, [0.75, 0.25])
    assert user_fingerprint(user).startswith("mixture(grammar:")
    with pytest.raises(ValueError, match="unknown user"):
        make_user("grammar+nobody", tiny_catalog)


def _dialogs(user_name, tiny_catalog, seed, steps=12):
    """(member of each dialog at each step, feedback texts) of a 4-dialog vector env run with autoreset."""
    env = ShoeRetrievalVectorEnv(4, catalog=tiny_catalog, user=make_user(user_name, tiny_catalog, seed=seed),
                                 split="train", max_turns=3, action_type="candidate")
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    members, texts = [], []
    for _ in range(steps):
        _, _, _, _, info = env.step(rng.integers(env.n_items, size=4))
        members.append(env._batch.dialog_draw.copy())
        texts.append(list(info["feedback_text"]))
    env.close()
    return np.array(members), texts


def test_a_dialog_keeps_its_member_and_a_seed_repeats_everything(tiny_catalog):
    members, texts = _dialogs("grammar+attributes-3", tiny_catalog, seed=5)
    again_members, again_texts = _dialogs("grammar+attributes-3", tiny_catalog, seed=5)
    np.testing.assert_array_equal(members, again_members)
    assert texts == again_texts
    other, _ = _dialogs("grammar+attributes-3", tiny_catalog, seed=6)
    assert not np.array_equal(members, other)
    assert set(np.unique(members)) == {0, 1}
    # An attribute user's answers are "more/less/as X" triples; the grammar's never are.
    for step_members, step_texts in zip(members, texts, strict=True):
        for member, text in zip(step_members, step_texts, strict=True):
            words = text.split()
            attribute_like = len(words) == 6 and all(w in ("more", "less", "as") for w in words[::2])
            if text != SAME_ITEM_PHRASE and member == 1:
                assert attribute_like, text


def test_member_is_drawn_per_dialog_not_per_turn(tiny_catalog):
    members, _ = _dialogs("grammar+attributes-3", tiny_catalog, seed=1, steps=3)
    # Steps 1 and 2 of a 3-turn dialog belong to the dialog that started at reset.
    np.testing.assert_array_equal(members[0], members[1])


def test_mixture_outside_the_env_draws_per_row(tiny_catalog):
    user = UserMixture([GrammarUser(tiny_catalog.params, 0), AttributeUser(tiny_catalog.attributes, 3, 0)],
                       names=["grammar", "attributes-3"])
    rngs = [np.random.default_rng(i) for i in range(8)]
    texts = user.describe(np.arange(8), np.arange(8, 16), rngs=rngs)
    assert len(texts) == 8 and all(texts)
    assert user.counts.sum() == 8
    with pytest.raises(ValueError, match="dialog draws"):
        user.describe(np.arange(2), np.arange(2, 4), dialog_draws=np.array([0, 2]))
    with pytest.raises(ValueError, match="weights"):
        UserMixture([GrammarUser(tiny_catalog.params, 0)], weights=[0.0])
