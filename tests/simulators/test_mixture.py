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


def _attribute_like(text: str) -> bool:
    """An attribute user's answer ("more X as Y less Z"); the grammar never says one."""
    words = text.split()
    return len(words) == 6 and all(w in ("more", "less", "as") for w in words[::2])


def _dialogs(user_name, tiny_catalog, seed, steps=12):
    """The feedback texts of each dialog of a 4-dialog vector env run (autoreset), in order of ending."""
    env = ShoeRetrievalVectorEnv(4, catalog=tiny_catalog, user=make_user(user_name, tiny_catalog, seed=seed),
                                 split="train", max_turns=3, action_type="candidate")
    _, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    current = [[text] for text in info["feedback_text"]]
    dialogs = []
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(rng.integers(env.n_items, size=4))
        for row, text in enumerate(info["feedback_text"]):
            current[row].append(text)
            if terminated[row] or truncated[row]:
                dialogs.append(current[row])
                current[row] = []
    env.close()
    return dialogs


def test_a_dialog_keeps_its_member_and_a_seed_repeats_everything(tiny_catalog):
    dialogs = _dialogs("grammar+attributes-3", tiny_catalog, seed=5)
    assert dialogs == _dialogs("grammar+attributes-3", tiny_catalog, seed=5)
    assert dialogs != _dialogs("grammar+attributes-3", tiny_catalog, seed=6)
    kinds = []
    for texts in dialogs:
        said = {_attribute_like(t) for t in texts if t and t != SAME_ITEM_PHRASE}
        assert len(said) == 1, texts  # one member speaks for the whole dialog
        kinds.append(said.pop())
    assert set(kinds) == {True, False}  # both members were drawn


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
