"""Binary relevance: the relevance user's answers against distances, in the env and its forks, and Rocchio."""

import numpy as np
import pytest

from agents.baselines import NearestNeighbourAgent
from agents.rocchio import RocchioAgent
from benchmarks.protocol import ProtocolConfig, evaluate
from envs.shoe_retrieval import MAX_TOKENS, ShoeRetrievalVectorEnv
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.language.vocab import UNK
from simulators.registry import load_vocabulary, make_user
from simulators.users import LESS_LIKE_THIS, MORE_LIKE_THIS, RelevanceUser


@pytest.fixture(scope="module")
def vocabulary(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, session_cache)


def line_user() -> RelevanceUser:
    """Items on a line at 0, 1, 2, ..., 9; a typical image is 3 away."""
    return RelevanceUser(np.arange(10, dtype=np.float32)[:, None], reference_distance=3.0)


def test_answers_by_distance_to_the_target_against_the_previous_image():
    user = line_user()
    targets, candidates = np.array([0, 0, 5, 5, 5, 7]), np.array([2, 4, 6, 9, 1, 7])
    previous = np.array([4, 2, -1, -1, 3, 1])
    assert user.describe(targets, candidates, previous_ids=previous) == [
        MORE_LIKE_THIS, LESS_LIKE_THIS, MORE_LIKE_THIS, LESS_LIKE_THIS, LESS_LIKE_THIS, SAME_ITEM_PHRASE]
    # No previous image at all: every row is a first image, compared with the typical distance.
    assert user.describe(np.array([0, 0]), np.array([2, 5])) == [MORE_LIKE_THIS, LESS_LIKE_THIS]


def test_bad_previous_ids_are_refused():
    user = line_user()
    with pytest.raises(ValueError, match="previous images"):
        user.describe(np.array([0, 1]), np.array([2, 3]), previous_ids=np.array([1]))
    with pytest.raises(ValueError, match="previous ids"):
        user.describe(np.array([0]), np.array([2]), previous_ids=np.array([10]))
    with pytest.raises(ValueError, match="features"):
        RelevanceUser(np.zeros((1, 3)))


def test_registered_user_tokenises_and_is_true_in_the_env(tiny_catalog, vocabulary):
    user = make_user("relevance", tiny_catalog)
    env = ShoeRetrievalVectorEnv(num_envs=8, catalog=tiny_catalog, split="train", user=user, vocabulary=vocabulary,
                                 action_type="candidate", max_turns=6, privileged=True)
    obs, info = env.reset(seed=3)
    ids = tiny_catalog.train_ids
    previous = np.full(8, -1)
    rng = np.random.default_rng(0)
    for _ in range(6):
        for b, text in enumerate(info["feedback_text"]):
            target, shown = ids[info["target"][b]], info["candidate_id"][b]
            assert text == user.describe(np.array([target]), np.array([shown]),
                                         previous_ids=np.array([previous[b]]))[0]
            assert vocabulary.index[UNK] not in obs["feedback"][b]
        previous = info["candidate_id"].copy()
        actions = np.array([rng.choice(np.flatnonzero(~s)) for s in info["shown"]])
        obs, _, terminated, truncated, info = env.step(actions)
        if (terminated | truncated).any():
            break


def test_forked_branches_compare_with_the_parent_image(tiny_catalog, vocabulary):
    env = ShoeRetrievalVectorEnv(num_envs=2, catalog=tiny_catalog, split="train", user="relevance",
                                 vocabulary=vocabulary, action_type="candidate", max_turns=5, privileged=True)
    _, info = env.reset(seed=0, options={"target": np.array([1, 2]), "first_candidate": np.array([5, 6])})
    ids, features = tiny_catalog.train_ids, tiny_catalog.features
    branches = env.fork(np.array([[7, 8, 9], [10, 11, 12]]))
    texts = branches.info()["feedback_text"]
    for j, text in enumerate(texts):
        parent = j // 3
        target, shown, before = ids[info["target"][parent]], ids[[7, 8, 9, 10, 11, 12][j]], info["candidate_id"][parent]
        near = np.linalg.norm(features[target] - features[shown]) < np.linalg.norm(features[target] - features[before])
        assert text == (MORE_LIKE_THIS if near else LESS_LIKE_THIS)


def test_rocchio_reads_the_verdicts_and_moves_the_query(vocabulary):
    agent = RocchioAgent(vocabulary, alpha=0.0, beta=1.0, gamma=1.0)
    feedback = vocabulary.encode([MORE_LIKE_THIS, LESS_LIKE_THIS, "are red", SAME_ITEM_PHRASE], max_len=MAX_TOKENS)
    assert agent.verdicts(feedback).tolist() == [1, -1, 0, 0]

    def obs(features, turn):
        features = np.asarray(features, dtype=np.float32)[None]
        return {"candidate": np.array([0]), "candidate_features": features, "turn": np.array([turn]),
                "feedback": vocabulary.encode([text], max_len=MAX_TOKENS)}

    text = MORE_LIKE_THIS
    q, _ = agent.predict(obs([1.0, 0.0], 0), episode_start=np.ones(1, bool))
    np.testing.assert_allclose(q[0], [1.0, 0.0])  # relevant = {first}, nothing non-relevant yet
    text = LESS_LIKE_THIS
    q, _ = agent.predict(obs([0.0, 1.0], 1))
    # relevant = {first, first again as the better of the pair}, non-relevant = {second}
    np.testing.assert_allclose(q[0], [1.0, -1.0])
    q, _ = agent.predict(obs([3.0, 3.0], 0))  # turn 0: a new dialog, the old sets are forgotten
    np.testing.assert_allclose(q[0], [-3.0, -3.0])  # "less like this" on a first image: only non-relevant
    with pytest.raises(ValueError, match="gamma"):
        RocchioAgent(vocabulary, gamma=-1.0)
    with pytest.raises(ValueError, match="alpha and beta"):
        RocchioAgent(vocabulary, alpha=0.0, beta=0.0)


def test_rocchio_beats_the_feedback_blind_baseline(tiny_catalog, vocabulary):
    user = make_user("relevance", tiny_catalog)
    config = ProtocolConfig(split="train", max_turns=5, bootstrap=10)
    common = {"vocabulary": vocabulary, "progress": False, "device": "cpu"}
    rocchio = evaluate(RocchioAgent(vocabulary, 0.0, 1.0, 1.0), tiny_catalog, user, config, **common)
    blind = evaluate(NearestNeighbourAgent(), tiny_catalog, user, config, **common)
    assert np.mean(rocchio.mean_rank_percentile[1:]) > np.mean(blind.mean_rank_percentile[1:]) + 0.05
