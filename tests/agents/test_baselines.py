import numpy as np
import pytest

from agents.base import Agent
from agents.baselines import NearestNeighbourAgent, RandomAgent
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators.registry import load_vocabulary


@pytest.fixture(scope="module")
def vec_env(tiny_catalog, session_cache):
    def make(action_type):
        return ShoeRetrievalVectorEnv(num_envs=4, catalog=tiny_catalog, action_type=action_type, max_turns=8,
                                      device="cpu", vocabulary=load_vocabulary(tiny_catalog, cache=session_cache),
                                      privileged=True)
    return make


def test_random_agent_never_repeats_within_a_dialog(vec_env):
    env = vec_env("candidate")
    agent = RandomAgent(env.n_items, seed=0)
    obs, _ = env.reset(seed=0)
    start = np.ones(4, dtype=bool)
    seen = [{int(c)} for c in obs["candidate"]]
    for _ in range(7):
        action, _ = agent.predict(obs, episode_start=start)
        start[:] = False
        for i, a in enumerate(action):
            assert int(a) not in seen[i]
            seen[i].add(int(a))
        obs, _, terminated, truncated, _ = env.step(action)
        if (terminated | truncated).any():
            break


def test_random_agent_single_observation_and_seed():
    obs = {"candidate": 3, "candidate_features": np.zeros(4, np.float32), "feedback": np.zeros(16), "turn": 0}
    a1, _ = RandomAgent(10, seed=1).predict(obs)
    a2, _ = RandomAgent(10, seed=1).predict(obs)
    assert a1 == a2 and a1 != 3 and isinstance(a1, int)


def test_nearest_neighbour_queries_with_the_candidate(vec_env):
    env = vec_env("query")
    obs, _ = env.reset(seed=0)
    action, state = NearestNeighbourAgent().predict(obs)
    np.testing.assert_array_equal(action, obs["candidate_features"])
    assert state is None
    obs2, reward, *_ = env.step(action)
    assert (obs2["candidate"] != obs["candidate"]).all()


def test_agents_must_declare_their_action_type():
    with pytest.raises(TypeError, match="action_type"):
        class Undeclared(Agent):
            def predict(self, observation, state=None, episode_start=None, deterministic=True):
                return observation["candidate"], None

    with pytest.raises(TypeError, match="action_type"):
        class Misspelt(Agent):
            action_type = "queries"

            def predict(self, observation, state=None, episode_start=None, deterministic=True):
                return observation["candidate_features"], None

    class StillAbstract(Agent):  # an intermediate base may leave it to its subclasses
        pass

    class Declared(StillAbstract):
        action_type = "candidate"

        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return observation["candidate"], None

    assert Declared().action_type == "candidate"
    assert RandomAgent.action_type == "candidate" and NearestNeighbourAgent.action_type == "query"
