import time
from types import SimpleNamespace

import numpy as np
import pytest

from simulators.catalog.attributes import ATTRIBUTE_WORDS, ATTRIBUTES, compute_attributes
from simulators.catalog.params import sample_params
from simulators.language.claims import SAME_ITEM_PHRASE, claim_holds, parse_claims
from simulators.language.vocab import tokenize
from simulators.registry import make_user
from simulators.users import ATTRIBUTE_FEEDBACK_WORDS, AttributeUser, GrammarUser, User

WORD_TO_INDEX = {ATTRIBUTE_WORDS[a]: i for i, a in enumerate(ATTRIBUTES)}


@pytest.fixture(scope="module")
def params():
    return sample_params(400, seed=0)


@pytest.fixture(scope="module")
def attributes(params):
    return compute_attributes(params)


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(1)
    targets, candidates = rng.integers(0, 400, 300), rng.integers(0, 400, 300)
    candidates[:5] = targets[:5]
    return targets, candidates


@pytest.fixture(params=["grammar", "attributes-1", "attributes-3", "attributes-10"])
def user_name(request):
    return request.param


def build(name, params, attributes, seed):
    return make_user(name, SimpleNamespace(params=params, attributes=attributes), seed=seed)


def test_users_are_deterministic_under_a_seed(user_name, params, attributes, pairs):
    a, b = build(user_name, params, attributes, 7), build(user_name, params, attributes, 7)
    assert isinstance(a, User)
    first = [a.describe(*pairs) for _ in range(3)]
    assert first == [b.describe(*pairs) for _ in range(3)]
    a.reset(7)
    assert a.describe(*pairs) == first[0]
    if user_name != "attributes-10":  # saying all ten attributes in a fixed order leaves nothing to chance
        assert first[0] != first[1]
        assert build(user_name, params, attributes, 8).describe(*pairs) != first[0]


def test_per_row_generators(user_name, params, attributes, pairs):
    user = build(user_name, params, attributes, 0)
    targets, candidates = pairs[0][:16], pairs[1][:16]
    batch = user.describe(targets, candidates, rngs=[np.random.default_rng(i) for i in range(16)])
    alone = [user.describe(targets[i:i + 1], candidates[i:i + 1], rngs=[np.random.default_rng(i)])[0]
             for i in range(16)]
    assert batch == alone
    assert user.describe(targets, candidates, rngs=[np.random.default_rng(i) for i in range(16)]) == batch


def test_same_item_gets_the_fixed_phrase(user_name, params, attributes, pairs):
    texts = build(user_name, params, attributes, 0).describe(*pairs)
    same = pairs[0] == pairs[1]
    assert same[:5].all() and not same.all()
    assert [t == SAME_ITEM_PHRASE for t in texts] == same.tolist()


def test_bad_input_is_refused(user_name, params, attributes):
    user = build(user_name, params, attributes, 0)
    with pytest.raises(ValueError):
        user.describe(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError):
        user.describe(np.array([400]), np.array([1]))
    with pytest.raises(ValueError):
        user.describe(np.array([1]), np.array([2]), rngs=[])
    assert user.describe(np.array([], dtype=np.int64), np.array([], dtype=np.int64)) == []


def test_grammar_user_tells_the_truth(params, pairs):
    user = GrammarUser(params, seed=2)
    for text, t, c in zip(user.describe(*pairs), *pairs, strict=True):
        for claim in parse_claims(text):
            assert claim_holds(claim, params, int(t), int(c)), (text, str(claim))


@pytest.mark.parametrize("n", [1, 3, 10])
def test_attribute_feedback_is_correct(n, attributes, pairs):
    user = AttributeUser(attributes, n_attributes=n, seed=0, tolerance=0.05)
    for text, t, c in zip(user.describe(*pairs), *pairs, strict=True):
        if t == c:
            continue
        words = text.split()
        assert len(words) == 2 * n and set(tokenize(text)) <= ATTRIBUTE_FEEDBACK_WORDS
        indices = [WORD_TO_INDEX[w] for w in words[1::2]]
        assert indices == sorted(set(indices))
        for direction, i in zip(words[0::2], indices, strict=True):
            diff = attributes[t, i] - attributes[c, i]
            expected = "more" if diff > 0.05 else "less" if diff < -0.05 else "as"
            assert direction == expected


def test_attribute_user_covers_every_attribute_over_time(attributes, pairs):
    texts = AttributeUser(attributes, n_attributes=1, seed=0).describe(*pairs)
    assert {t.split()[1] for t in texts if t != SAME_ITEM_PHRASE} == set(WORD_TO_INDEX)


def test_attribute_user_validates_arguments(attributes):
    with pytest.raises(ValueError):
        AttributeUser(attributes, n_attributes=2)
    with pytest.raises(ValueError):
        AttributeUser(attributes[:, :5])
    with pytest.raises(ValueError):
        AttributeUser(attributes, tolerance=-1.0)


def test_make_user_names(params, attributes):
    catalog = SimpleNamespace(params=params, attributes=attributes)
    assert isinstance(make_user("grammar", catalog), GrammarUser)
    assert make_user("attributes-10", catalog).n_attributes == 10
    with pytest.raises(ValueError):
        make_user("captioner-v9", catalog)
    with pytest.raises(ValueError):
        make_user("grammar", SimpleNamespace(params=None, attributes=attributes))


def test_users_are_fast(params, attributes):
    rng = np.random.default_rng(0)
    targets, candidates = rng.integers(0, 400, 2048), rng.integers(0, 400, 2048)
    for user, floor in ((GrammarUser(params), 2_000), (AttributeUser(attributes, 3), 50_000)):
        user.describe(targets[:8], candidates[:8])
        start = time.perf_counter()
        user.describe(targets, candidates)
        rate = len(targets) / (time.perf_counter() - start)
        assert rate > floor, f"{type(user).__name__}: {rate:.0f} captions/s"
