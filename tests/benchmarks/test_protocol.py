"""The evaluation protocol: known scores for known agents, and SB3 models evaluated as they are."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from gymnasium import spaces

from agents.base import Agent
from agents.baselines import RandomAgent
from benchmarks.protocol import ProtocolConfig, action_type_of, evaluate, format_table, metrics_from_ranks
from envs.shoe_retrieval import ShoeRetrievalEnv
from simulators.registry import load_vocabulary

QUICK = ProtocolConfig(max_turns=3, num_envs=5, bootstrap=50)  # 16 test items: batches of 5, 5, 5 and 1 padded


class TargetQueryAgent(Agent):
    """Queries with the target's own vector: the upper bound, for checking the protocol's scoring.

    It knows the targets only from the protocol's fixed assignment (dialog i of the split has target
    i, in batches of `num_envs`, the last one padded with its first dialog), not from the env.
    """

    action_type = "query"

    def __init__(self, split_features: np.ndarray, num_envs: int):
        self.features, self.num_envs = split_features, num_envs
        self.batch = -1

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        if episode_start is not None and np.all(episode_start):
            self.batch += 1
        start = self.batch * self.num_envs
        targets = np.arange(start, start + self.num_envs)
        targets[targets >= len(self.features)] = start
        return self.features[targets], None


@pytest.fixture(scope="module")
def vocab(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, cache=session_cache)


def run(agent, catalog, vocab, config=QUICK):
    return evaluate(agent, catalog, "grammar", config, device="cpu", vocabulary=vocab, progress=False)


def test_querying_the_target_scores_100_percent_from_turn_1(tiny_catalog, vocab):
    features = tiny_catalog.features[tiny_catalog.split_ids("test")]
    result = run(TargetQueryAgent(features, QUICK.num_envs), tiny_catalog, vocab)
    assert result.episodes == len(features) == 16
    assert result.mean_rank_percentile[0] < 0.9  # turn 0 is the seeded first image, never the target
    assert result.mean_rank_percentile[1:] == [1.0] * QUICK.max_turns
    assert result.success[1:] == [1.0] * QUICK.max_turns
    assert result.ci95[1] == (1.0, 1.0)
    assert result.hits["@10"][1:] == [1.0] * QUICK.max_turns and result.hits10_ci95[1] == (1.0, 1.0)
    assert result.hits10_auc == 1.0 and result.hits10_auc_ci95 == (1.0, 1.0) and result.never_hit10 == 0.0
    assert 0.0 <= result.first_hit10_mean_turn <= 1.0  # turn 0 when the seeded first image ranks it in the top 10


def test_top_of_ranking_metrics_by_hand():
    # 100 items, 4 turns. A: top 10 at turn 3, out again at turn 4 (still a hit); B: top 10 at turn 1, the
    # closest item from turn 2; C: never in the top 10.
    ranks = np.array([[50, 40, 20, 5, 15],
                      [30, 9, 0, 0, 0],
                      [60, 60, 60, 60, 60]])
    m = metrics_from_ranks(ranks, 100, ProtocolConfig(bootstrap=200))
    np.testing.assert_allclose(m["hits"]["@10"], [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(m["recall"]["@10"], [0, 1 / 3, 1 / 3, 2 / 3, 1 / 3])  # A has left the top 10
    np.testing.assert_allclose(m["hits"]["@1"], [0, 0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(m["hits"]["@50"], [1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3])  # A: rank 50 is not below 50
    assert m["hits10_auc"] == pytest.approx((1 / 3 + 1 / 3 + 2 / 3 + 2 / 3) / 4)  # mean over turns 1..4: 0.5
    assert m["first_hit10_mean_turn"] == pytest.approx((3 + 1) / 2) and m["never_hit10"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(m["mean_rank_percentile"][3], 1 - (5 + 0 + 60) / 3 / 99, rtol=1e-6)
    assert m["hits10_ci95"][0] == (0.0, 0.0)
    for value, (lo, hi) in [*zip(m["hits"]["@10"], m["hits10_ci95"], strict=True), (m["hits10_auc"],
                                                                                    m["hits10_auc_ci95"])]:
        assert 0.0 <= lo <= value <= hi <= 1.0
    assert m["hits10_auc_ci95"][1] > m["hits10_auc_ci95"][0]  # 3 dialogs: a wide interval
    never = metrics_from_ranks(ranks[2:], 100, ProtocolConfig(bootstrap=10))
    assert never["first_hit10_mean_turn"] is None and never["never_hit10"] == 1.0 and never["hits10_auc"] == 0.0


def test_random_agent_scores_about_50_percent(tiny_catalog, vocab):
    # Turn 1 only: later turns count found targets as rank 0 and drift upward. The turn-1 expectation
    # is 0.50 (a random image ranks the target uniformly, plus the 1/15 chance of showing it); per
    # dialog the percentile is about uniform on [0, 1] (sd 0.29), so 8 seeds x 16 dialogs give a
    # standard error of 0.026 and +-0.1 is about 4 standard errors.
    turn1 = [run(RandomAgent(16, seed=seed), tiny_catalog, vocab,
                 ProtocolConfig(max_turns=1, seed=seed, bootstrap=10)).mean_rank_percentile[1] for seed in range(8)]
    assert abs(np.mean(turn1) - 0.5) < 0.1, turn1


@pytest.fixture(scope="module")
def ppo(tiny_catalog, vocab):
    """An SB3 PPO model trained a few steps on candidate actions over the test split (2 epochs keep it quick)."""
    from stable_baselines3 import PPO

    env = ShoeRetrievalEnv(catalog=tiny_catalog, split="test", user="grammar", action_type="candidate",
                           max_turns=QUICK.max_turns, device="cpu", vocabulary=vocab)
    return PPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=2, seed=0, device="cpu").learn(200)


def test_sb3_model_is_evaluated_with_its_own_action_type(tiny_catalog, vocab, ppo):
    assert not hasattr(ppo, "action_type")
    assert action_type_of(ppo) == "candidate"
    result = run(ppo, tiny_catalog, vocab)
    assert result.agent == "PPO" and result.episodes == 16
    assert len(result.mean_rank_percentile) == len(result.ci95) == len(result.success) == QUICK.max_turns + 1
    assert set(result.recall) == set(result.hits) == {"@1", "@10", "@50"}
    for k in result.hits:  # cumulative: never below the turn's own recall, never falling
        assert all(h >= r for h, r in zip(result.hits[k], result.recall[k], strict=True))
        assert all(b >= a for a, b in zip(result.hits[k][:-1], result.hits[k][1:], strict=True))
    assert result.hits10_auc == pytest.approx(np.mean(result.hits["@10"][1:]))
    assert "n/a" not in format_table([result], metric="hits10")
    assert all(0.0 <= m <= 1.0 for m in result.mean_rank_percentile)
    assert all(lo <= m <= hi for m, (lo, hi) in zip(result.mean_rank_percentile, result.ci95, strict=True))


@pytest.mark.parametrize(("config", "message"), [
    (ProtocolConfig(split="train", max_turns=QUICK.max_turns, bootstrap=10), r"Discrete\(16\).*Discrete\(48\)"),
    (ProtocolConfig(max_turns=QUICK.max_turns + 2, bootstrap=10), r"observation_space\['turn'\]"),
])
def test_sb3_model_from_another_env_is_refused(tiny_catalog, vocab, ppo, config, message):
    with pytest.raises(ValueError, match=message):
        run(ppo, tiny_catalog, vocab, config)


def test_agent_without_action_space_or_action_type_is_refused(tiny_catalog, vocab):
    agent = SimpleNamespace(predict=lambda obs, **kwargs: (obs["candidate"], None))
    with pytest.raises(ValueError, match="neither an `action_space` nor an `action_type`"):
        run(agent, tiny_catalog, vocab)


@pytest.mark.parametrize(("space", "action_type"), [
    (spaces.Box(-1, 1, shape=(32,)), "query"),
    (spaces.Discrete(16), "candidate"),
    (spaces.Dict({"query": spaces.Box(-1, 1, shape=(32,)), "candidate": spaces.Discrete(16)}), "query_and_candidate"),
])
def test_action_type_of_reads_the_action_space(space, action_type):
    assert action_type_of(SimpleNamespace(action_space=space)) == action_type
    assert action_type_of(SimpleNamespace(action_space=space, action_type=action_type)) == action_type


@pytest.mark.parametrize("agent", [
    SimpleNamespace(action_space=spaces.Box(-1, 1, shape=(4, 4))),
    SimpleNamespace(action_space=spaces.Discrete(16), action_type="query"),
    SimpleNamespace(action_type="text"),
])
def test_action_type_of_refuses_what_it_cannot_read(agent):
    with pytest.raises(ValueError, match="action_"):
        action_type_of(agent)
