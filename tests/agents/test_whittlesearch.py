import numpy as np
import pytest

from agents.baselines import RandomAgent
from agents.whittlesearch import WhittleSearchAgent
from benchmarks.protocol import ProtocolConfig, evaluate
from envs.shoe_retrieval import MAX_TOKENS, ShoeRetrievalVectorEnv
from simulators.catalog.attributes import ATTRIBUTES
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.registry import load_vocabulary

POINTY, SHINY, FORMAL = (ATTRIBUTES.index(a) for a in ("pointy-at-the-front", "shiny", "formal"))


@pytest.fixture(scope="module")
def vocabulary(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, session_cache)


def five_items() -> np.ndarray:
    """Item 0 is shown first; only item 2 is "more shiny, less formal, as pointy" than it, and item 4,
    though the nearest to item 0, satisfies only two of the three."""
    attributes = np.zeros((5, len(ATTRIBUTES)), dtype=np.float32)
    for item, (shiny, formal, pointy) in enumerate([(0.5, 0.5, 0.5), (0.9, 0.9, 0.5), (0.9, 0.1, 0.52),
                                                    (0.1, 0.1, 0.5), (0.6, 0.2, 0.9)]):
        attributes[item, [SHINY, FORMAL, POINTY]] = shiny, formal, pointy
    return attributes


def observation(vocabulary, candidates, texts, turns) -> dict[str, np.ndarray]:
    candidates = np.asarray(candidates, dtype=np.int64)
    return {"candidate": candidates, "candidate_features": np.zeros((len(candidates), 4), np.float32),
            "feedback": vocabulary.encode(texts, max_len=MAX_TOKENS), "turn": np.asarray(turns, dtype=np.int64)}


def test_shows_the_image_satisfying_every_constraint(vocabulary):
    agent = WhittleSearchAgent(five_items(), vocabulary)
    action, state = agent.predict(observation(vocabulary, [0], ["more shiny less formal as pointy"], [0]),
                                  episode_start=np.ones(1, bool))
    assert state is None and action.tolist() == [2]
    np.testing.assert_array_equal(agent.satisfied[0], [1, 2, 3, 2, 2])  # item 0 is "as" itself on every one
    assert agent.n_constraints.tolist() == [3]

    # Unknown words and pairs broken by them are ignored: only "less shiny" (than item 2) is a constraint.
    # Items 3 and 4 now tie on three; item 4 is nearer to item 2 in attribute space.
    second = observation(vocabulary, [2], ["less shiny banana formal more"], [1])
    assert "<unk>" in vocabulary.decode(second["feedback"][0])
    action, _ = agent.predict(second, episode_start=np.zeros(1, bool))
    assert action.tolist() == [4]
    np.testing.assert_array_equal(agent.satisfied[0], [2, 2, 3, 3, 3])
    assert agent.n_constraints.tolist() == [4]


def test_breaks_ties_by_retrieval_distance_when_given_features(vocabulary):
    features = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, 0.0], [1.0, 0.1], [9.0, 9.0]], np.float32)
    agent = WhittleSearchAgent(five_items(), vocabulary, features=features)
    agent.predict(observation(vocabulary, [0], ["more shiny less formal as pointy"], [0]))
    action, _ = agent.predict(observation(vocabulary, [2], ["less shiny"], [1]))
    assert action.tolist() == [3]  # tied with item 4 on constraints, nearer to item 2 in retrieval space


def test_single_observation_and_the_same_item_phrase(vocabulary):
    agent = WhittleSearchAgent(five_items(), vocabulary)
    obs = {k: v[0] for k, v in observation(vocabulary, [0], [SAME_ITEM_PHRASE], [0]).items()}
    action, _ = agent.predict(obs)
    assert isinstance(action, int) and action == 4  # no constraint: the nearest unseen image
    assert agent.n_constraints.tolist() == [0]


def test_episode_start_clears_only_that_dialog(vocabulary):
    agent = WhittleSearchAgent(five_items(), vocabulary)
    texts = ["more shiny less formal as pointy", "less shiny"]
    first, _ = agent.predict(observation(vocabulary, [0, 0], texts, [0, 0]), episode_start=np.ones(2, bool))
    second, _ = agent.predict(observation(vocabulary, first, texts, [1, 1]), episode_start=np.zeros(2, bool))
    assert agent.n_constraints.tolist() == [6, 2]
    shown_before = agent.shown[1].copy()

    agent.predict(observation(vocabulary, [1, second[1]], ["more formal", "more formal"], [1, 2]),
                  episode_start=np.array([True, False]))
    assert agent.n_constraints.tolist() == [1, 3]
    assert agent.shown[0].sum() == 2  # the new dialog's first image and the one just chosen
    assert (agent.shown[1] >= shown_before).all() and agent.shown[1].sum() == 4
    # A dialog's first observation (turn 0) clears it too, for callers that pass no episode_start.
    agent.predict(observation(vocabulary, [3, 0], ["as formal", "as formal"], [0, 3]))
    assert agent.n_constraints.tolist() == [1, 4]


def test_never_shows_an_image_twice_in_the_env(tiny_catalog, vocabulary):
    env = ShoeRetrievalVectorEnv(num_envs=4, catalog=tiny_catalog, split="test", user="attributes-3",
                                 vocabulary=vocabulary, action_type="candidate", max_turns=15, device="cpu")
    ids = tiny_catalog.split_ids("test")
    agent = WhittleSearchAgent(tiny_catalog.attributes[ids], vocabulary, tiny_catalog.features[ids])
    obs, info = env.reset(seed=0)
    start = np.ones(4, dtype=bool)
    ended = np.zeros(4, dtype=bool)
    for _ in range(20):
        action, _ = agent.predict(obs, episode_start=start)
        assert not info["shown"][np.arange(4), action][~ended].any()
        obs, _, terminated, truncated, info = env.step(action)
        start, ended = ended, terminated | truncated  # rows that just ended start over on the next step
        assert (info["shown"].sum(axis=1) == obs["turn"] + 1).all()
    env.close()


def test_holds_every_constraint_it_was_given(tiny_catalog, vocabulary):
    env = ShoeRetrievalVectorEnv(num_envs=4, catalog=tiny_catalog, split="train", user="attributes-3",
                                 vocabulary=vocabulary, action_type="candidate", max_turns=8, device="cpu",
                                 privileged=True)
    ids = tiny_catalog.split_ids("train")
    agent = WhittleSearchAgent(tiny_catalog.attributes[ids], vocabulary, tiny_catalog.features[ids])
    obs, info = env.reset(seed=1)
    start = np.ones(4, dtype=bool)
    ended = np.zeros(4, dtype=bool)
    checked = 0
    for _ in range(8):
        action, _ = agent.predict(obs, episode_start=start)
        # Three constraints per feedback, none from the "is exactly this one" that ends a dialog; all of
        # them true of the target, since the agent holds the values the user speaks from.
        found = obs["candidate"] == info["target"]
        np.testing.assert_array_equal(agent.n_constraints, 3 * (obs["turn"] + 1 - found))
        np.testing.assert_array_equal(agent.satisfied[np.arange(4), info["target"]], agent.n_constraints)
        checked += int(obs["turn"].max() >= 3)
        obs, _, terminated, truncated, info = env.step(action)
        start, ended = ended, terminated | truncated
    env.close()
    assert checked  # some dialog went on long enough to accumulate constraints


def test_finds_the_target_faster_than_random(tiny_catalog, vocabulary):
    ids = tiny_catalog.split_ids("test")
    config = ProtocolConfig(max_turns=5, num_envs=16)
    agent = WhittleSearchAgent(tiny_catalog.attributes[ids], vocabulary, tiny_catalog.features[ids])
    whittle = evaluate(agent, tiny_catalog, "attributes-10", config, vocabulary=vocabulary, device="cpu",
                       progress=False)
    random = evaluate(RandomAgent(len(ids), seed=0), tiny_catalog, "attributes-10", config, vocabulary=vocabulary,
                      device="cpu", progress=False)
    assert whittle.mean_rank_percentile[5] > random.mean_rank_percentile[5]
    assert whittle.success[5] > random.success[5]
