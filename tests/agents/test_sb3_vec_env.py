"""SB3 on the native vector env: the adapter against DummyVecEnv, the query basis, the feedback extractor,
training through the adapter, and checkpoints with a custom extractor and a basis."""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.sb3 import load_sb3, save_sb3, split_free
from agents.sb3_features import FeedbackExtractor
from agents.sb3_vec_env import SPLIT_FREE_KEYS, QueryBasis, SB3VecEnv
from benchmarks.protocol import ProtocolConfig, evaluate
from envs.shoe_retrieval import ShoeRetrievalEnv, ShoeRetrievalVectorEnv
from simulators.registry import load_vocabulary


@pytest.fixture(scope="module")
def vocab(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, cache=session_cache)


def env_kwargs(tiny_catalog, vocab, **kw):
    return dict(catalog=tiny_catalog, vocabulary=vocab, user="grammar", max_turns=3, device="cpu", **kw)


@pytest.mark.parametrize("basis", [False, True])
def test_adapter_equals_dummy_vec_env(tiny_catalog, vocab, basis):
    """Same seeds: the same observations, rewards, dones, terminal observations and time-limit flags."""
    n = 5
    kw = env_kwargs(tiny_catalog, vocab)
    train = tiny_catalog.features[tiny_catalog.split_ids("train")]
    qb = QueryBasis.pca(train, k=4, residual=True) if basis else None
    fast = SB3VecEnv(num_envs=n, basis=qb, **kw)
    slow = DummyVecEnv([lambda: split_free(ShoeRetrievalEnv(**kw)) for _ in range(n)])
    assert fast.observation_space == slow.observation_space
    fast.seed(11)
    slow.seed(11)
    obs_a, obs_b = fast.reset(), slow.reset()
    rng = np.random.default_rng(0)
    ends = truncations = 0
    for step in range(14):  # dialogs last at most 3 steps: several autoresets, some terminations
        for key in SPLIT_FREE_KEYS:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=f"step {step} obs {key}")
        if qb is not None:
            coefficients = rng.uniform(-1, 1, size=(n, qb.k)).astype(np.float32)
            queries = qb.query(coefficients, obs_b["candidate_features"])
        else:
            coefficients = queries = obs_b["candidate_features"] + rng.normal(0, 0.1, obs_b["candidate_features"].shape)
        obs_a, r_a, d_a, infos_a = fast.step(coefficients)
        obs_b, r_b, d_b, infos_b = slow.step(queries.astype(np.float32))
        np.testing.assert_allclose(r_a, r_b, rtol=1e-6)
        np.testing.assert_array_equal(d_a, d_b)
        for i, (ia, ib) in enumerate(zip(infos_a, infos_b, strict=True)):
            assert ia["TimeLimit.truncated"] == ib["TimeLimit.truncated"]
            assert ia["rank"] == ib["rank"] and ia["feedback_text"] == ib["feedback_text"]
            assert ("terminal_observation" in ia) == bool(d_a[i]) == ("terminal_observation" in ib)
            if d_a[i]:
                ends += 1
                truncations += ia["TimeLimit.truncated"]
                for key in SPLIT_FREE_KEYS:
                    np.testing.assert_array_equal(ia["terminal_observation"][key], ib["terminal_observation"][key])
                assert fast.reset_infos[i]["rank"] == slow.reset_infos[i]["rank"]
    assert ends >= n and truncations >= 1


def test_adapter_takes_a_built_env_and_refuses_the_wrong_one(tiny_catalog, vocab):
    kw = env_kwargs(tiny_catalog, vocab)
    venv = SB3VecEnv(ShoeRetrievalVectorEnv(num_envs=3, autoreset_mode="same_step", **kw), keys=None)
    assert "candidate" in venv.observation_space.spaces and venv.num_envs == 3
    venv.reset()
    with pytest.raises(ValueError, match="same-step"):
        SB3VecEnv(ShoeRetrievalVectorEnv(num_envs=3, **kw))
    with pytest.raises(ValueError, match="action_type"):
        SB3VecEnv(num_envs=2, action_type="candidate", **kw)
    with pytest.raises(ValueError, match="keys"):
        SB3VecEnv(num_envs=2, keys=["nope"], **kw)
    with pytest.raises(ValueError, match="-d"):
        SB3VecEnv(num_envs=2, basis=QueryBasis.pca(np.eye(8, dtype=np.float32), k=2), **kw)


def test_query_basis(tiny_catalog, tmp_path):
    x = tiny_catalog.features[tiny_catalog.split_ids("train")]
    basis = QueryBasis.pca(x, k=6)
    np.testing.assert_allclose(basis.components @ basis.components.T, np.eye(6), atol=1e-5)
    assert np.all(np.diff(basis.scale) <= 1e-6)  # leading components first
    zero = basis.query(np.zeros((2, 6)), x[:2])
    np.testing.assert_allclose(zero, np.repeat(basis.center[None], 2, axis=0), atol=1e-6)
    residual = QueryBasis.pca(x, k=6, residual=True)
    np.testing.assert_allclose(residual.query(np.zeros((2, 6)), x[:2]), x[:2], atol=1e-6)
    far = basis.query(np.full((1, 6), 5.0), x[:1])  # clipped to the unit box
    np.testing.assert_allclose(far, basis.query(np.ones((1, 6)), x[:1]), atol=1e-6)
    basis.save(tmp_path / "b.safetensors")
    back = QueryBasis.load(tmp_path / "b.safetensors")
    np.testing.assert_array_equal(back.components, basis.components)
    assert back.residual is False
    with pytest.raises(ValueError, match="k must be"):
        QueryBasis.pca(x, k=0)
    with pytest.raises(ValueError, match="shape"):
        basis.query(np.zeros((2, 5)), x[:2])


def test_extractor_reads_the_words(tiny_catalog, vocab):
    venv = SB3VecEnv(num_envs=2, **env_kwargs(tiny_catalog, vocab))
    extractor = FeedbackExtractor(venv.observation_space, hidden_dim=16, embed_dim=8).eval()
    obs = venv.reset()
    batch = {k: torch.as_tensor(v) for k, v in obs.items()}
    batch["turn"] = torch.nn.functional.one_hot(batch["turn"], venv.observation_space["turn"].n).float()
    batch["feedback"] = batch["feedback"].float()  # as SB3 hands it over
    out = extractor(batch)
    assert out.shape == (2, extractor.features_dim) == (2, 16 + 4)
    other = dict(batch, feedback=torch.roll(batch["feedback"], 1, dims=0))
    assert not torch.allclose(extractor(other), out)
    with pytest.raises(ValueError, match="needs the observation keys"):
        FeedbackExtractor(venv.observation_space.__class__({"turn": venv.observation_space["turn"]}))


@pytest.mark.parametrize("algorithm", ["PPO", "RecurrentPPO"])
def test_training_through_the_adapter_saves_loads_and_evaluates(tiny_catalog, vocab, tmp_path, algorithm):
    from agents.sb3 import ALGORITHMS

    train = tiny_catalog.features[tiny_catalog.split_ids("train")]
    basis = QueryBasis.pca(train, k=4, residual=True)
    venv = SB3VecEnv(num_envs=8, basis=basis, **env_kwargs(tiny_catalog, vocab))
    policy = "MultiInputLstmPolicy" if algorithm == "RecurrentPPO" else "MultiInputPolicy"
    kwargs = {"features_extractor_class": FeedbackExtractor,
              "features_extractor_kwargs": {"hidden_dim": 16, "embed_dim": 8}, "net_arch": [32]}
    if algorithm == "RecurrentPPO":
        kwargs["lstm_hidden_size"] = 16
    model = ALGORITHMS[algorithm](policy, venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu",
                                  policy_kwargs=kwargs)
    model.learn(total_timesteps=512)
    assert model.num_timesteps >= 512
    agent = load_sb3(save_sb3(model, tmp_path / "checkpoint", basis=basis))
    assert agent.basis is not None and agent.basis.k == 4
    obs = venv.reset()
    with torch.no_grad():
        mine, _ = model.predict(obs, deterministic=True)
    full = dict(obs, candidate=np.zeros(8, dtype=np.int64))
    theirs, _ = agent.predict(full, episode_start=np.ones(8, dtype=bool))
    np.testing.assert_allclose(theirs, basis.query(mine, obs["candidate_features"]), rtol=1e-5, atol=1e-5)
    config = ProtocolConfig(max_turns=3, bootstrap=50)
    result = evaluate(agent, tiny_catalog, "grammar", vocabulary=vocab, config=config, device="cpu",
                      progress=False)
    assert len(result.mean_rank_percentile) == 4 and result.episodes == len(tiny_catalog.split_ids("test"))


def test_unsaveable_policy_kwargs_are_refused(tiny_catalog, vocab, tmp_path):
    from stable_baselines3.common.torch_layers import CombinedExtractor

    venv = SB3VecEnv(num_envs=2, **env_kwargs(tiny_catalog, vocab))
    model = PPO("MultiInputPolicy", venv, n_steps=8, batch_size=8, device="cpu",
                policy_kwargs={"features_extractor_class": CombinedExtractor})
    with pytest.raises(ValueError, match="cannot be saved"):
        save_sb3(model, tmp_path / "checkpoint")
    assert not (tmp_path / "checkpoint").exists()


def test_train_sb3_writes_a_curve_and_reloads_a_finished_run(tiny_catalog, vocab, tmp_path):
    from agents.sb3 import SB3Recipe, train_sb3

    recipe = SB3Recipe(num_envs=8, batch_size=64, n_epochs=1, hidden_dim=16, embed_dim=8, net_arch=(16,), max_turns=3)
    agent, minutes = train_sb3(tiny_catalog, "grammar", vocab, tmp_path / "run", 256, recipe=recipe, progress=False)
    assert agent.basis is not None and minutes > 0
    curve = (tmp_path / "run" / "curve.json").read_text()
    assert '"pct_t1"' in curve and (tmp_path / "run" / "tb").is_dir()
    again, minutes_again = train_sb3(tiny_catalog, "grammar", vocab, tmp_path / "run", 256, recipe=recipe,
                                     progress=False)
    assert minutes_again == pytest.approx(round(minutes, 2))  # loaded, not retrained
    obs = {"candidate_features": tiny_catalog.features[:2], "feedback": np.zeros((2, 16), dtype=np.int64),
           "turn": np.zeros(2, dtype=np.int64)}
    np.testing.assert_allclose(again.predict(obs)[0], agent.predict(obs)[0], atol=1e-5)
    with pytest.raises(ValueError, match="algorithm must be"):
        SB3Recipe(algorithm="DQN")


def test_a_recurrent_agent_keeps_its_memory_between_protocol_calls(tiny_catalog, vocab):
    """The protocol passes no state back: SB3Agent carries RecurrentPPO's LSTM state itself, reset at turn 0."""
    from sb3_contrib import RecurrentPPO

    from agents.sb3 import SB3Agent

    venv = SB3VecEnv(num_envs=4, **env_kwargs(tiny_catalog, vocab))
    model = RecurrentPPO("MultiInputLstmPolicy", venv, n_steps=8, batch_size=32, device="cpu", seed=0,
                         policy_kwargs={"lstm_hidden_size": 8, "net_arch": [8]})
    agent = SB3Agent(model)
    venv.seed(3)
    obs = venv.reset()
    state, starts = None, np.ones(4, dtype=bool)
    for _ in range(2):
        expected, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        got, _ = agent.predict(dict(obs), episode_start=starts)
        np.testing.assert_allclose(got, expected, atol=1e-6)
        obs, _, dones, _ = venv.step(expected)
        starts = dones
    memoryless, _ = model.predict(obs, state=None, episode_start=np.ones(4, dtype=bool), deterministic=True)
    going = obs["turn"] > 0
    assert going.any() and not np.allclose(agent.predict(dict(obs))[0][going], memoryless[going])
    agent.reset_state()
    assert agent._state is None
