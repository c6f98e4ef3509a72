import copy

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envs
from envs.shoe_retrieval import ACTION_TYPES, ShoeRetrievalEnv, ShoeRetrievalVectorEnv
from simulators.registry import load_vocabulary


@pytest.fixture(scope="session")
def vocab(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, cache=session_cache)


def make(tiny_catalog, vocab, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("user", "grammar")  # fast; the captioner (the default) has its own tests below
    return ShoeRetrievalEnv(catalog=tiny_catalog, vocabulary=vocab, **kw)


def snapshot(env):
    batch = env.unwrapped._batch
    return (batch.target.copy(), batch.candidate.copy(), batch.turn.copy(), batch.shown.clone(), list(batch.text),
            batch.tokens.copy(), env.unwrapped.np_random.bit_generator.state)


def assert_same_snapshot(a, b):
    for x, y in zip(a, b, strict=True):
        if hasattr(x, "equal"):
            assert x.equal(y)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_gymnasium_check_env(tiny_catalog, vocab, action_type):
    check_env(make(tiny_catalog, vocab, action_type=action_type), skip_render_check=True)


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_sb3_check_env(tiny_catalog, vocab, action_type):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(make(tiny_catalog, vocab, action_type=action_type), warn=False)


def test_registered_and_makeable(tiny_catalog, vocab):
    env = gym.make("envs:ShoeRetrieval-v0", catalog=tiny_catalog, vocabulary=vocab, device="cpu", user="grammar")
    assert env.spec.id == envs.ENV_ID
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    vec = gym.make_vec("envs:ShoeRetrieval-v0", num_envs=3, vectorization_mode="vector_entry_point",
                       catalog=tiny_catalog, vocabulary=vocab, device="cpu", user="grammar")
    assert isinstance(vec.unwrapped, ShoeRetrievalVectorEnv)
    obs, info = vec.reset(seed=1)
    assert vec.observation_space.contains(obs)


@given(seed=st.integers(0, 2**31 - 1), action_type=st.sampled_from(ACTION_TYPES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_episode_properties(tiny_catalog, vocab, seed, action_type):
    env = make(tiny_catalog, vocab, action_type=action_type, privileged=True, max_turns=6)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    assert obs["turn"] == 0 and obs["candidate"] != info["target"]
    for t in range(1, 7):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert 0.0 <= reward <= 1.0
        assert reward == pytest.approx(info["rank_percentile"])
        assert terminated == (obs["candidate"] == info["target"])
        assert truncated == (not terminated and t == 6)
        assert obs["turn"] == t
        assert info["shown"][obs["candidate"]]
        if terminated or truncated:
            break


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_same_seed_same_trajectory(tiny_catalog, vocab, action_type):
    def rollout():
        env = make(tiny_catalog, vocab, action_type=action_type)
        env.action_space.seed(3)
        obs, info = env.reset(seed=42)
        out = [(obs["candidate"], info["feedback_text"])]
        for _ in range(5):
            obs, r, te, tr, info = env.step(env.action_space.sample())
            out.append((obs["candidate"], info["feedback_text"], r, te, tr))
            if te or tr:
                obs, info = env.reset()
        return out

    assert rollout() == rollout()


def test_query_shows_nearest_unseen(tiny_catalog, vocab):
    env = make(tiny_catalog, vocab, action_type="query")
    obs, info = env.reset(seed=0)
    feats = env.unwrapped.features
    first = obs["candidate"]
    obs, *_ = env.step(feats[first])  # the first image is shown already, so its nearest other item comes next
    d = ((feats - feats[first]) ** 2).sum(1)
    d[first] = np.inf
    assert obs["candidate"] == int(np.argmin(d))


@pytest.mark.parametrize("num_envs", [1, 3])
def test_query_actions_never_reshow_an_image(tiny_catalog, vocab, num_envs):
    """Past the shown-list's first allocation (8), every step still shows a new image."""
    vec = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=tiny_catalog, vocabulary=vocab, action_type="query",
                                 user="grammar", max_turns=40, device="cpu")
    obs, _ = vec.reset(seed=0, options={"target": 0})
    seen = [{int(c)} for c in obs["candidate"]]
    for _ in range(20):
        obs, _, terminated, _, info = vec.step(obs["candidate_features"])
        for i, c in enumerate(obs["candidate"]):
            assert int(c) not in seen[i]
            seen[i].add(int(c))
        if terminated.any():
            break
    np.testing.assert_array_equal(info["shown"].sum(axis=1), [len(s) for s in seen])


def test_showing_target_terminates_with_options(tiny_catalog, vocab):
    env = make(tiny_catalog, vocab, action_type="candidate")
    obs, info = env.reset(seed=0, options={"target": 5, "first_candidate": 7})
    assert obs["candidate"] == 7
    obs, reward, terminated, truncated, info = env.step(5)
    assert terminated and not truncated and reward == 1.0 and info["rank"] == 0


BAD_ACTIONS = {
    "candidate": [-1, 10_000, 2.5, "a", np.array([1, 2])],
    "query": [np.full(32, np.nan, np.float32), np.full(32, np.inf, np.float32), np.zeros(31, np.float32),
              np.zeros((2, 32), np.float32), "text"],
    "query_and_candidate": [{"query": np.zeros(32, np.float32)}, {"query": np.zeros(32, np.float32), "candidate": -3},
                            {"query": np.full(32, np.nan, np.float32), "candidate": 0}, 3],
}


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_bad_actions_raise_and_leave_episode_unchanged(tiny_catalog, vocab, action_type):
    env = make(tiny_catalog, vocab, action_type=action_type)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    before = snapshot(env)
    for bad in BAD_ACTIONS[action_type]:
        with pytest.raises(ValueError):
            env.step(bad)
        assert_same_snapshot(before, snapshot(env))


@pytest.mark.parametrize("options, match", [
    ({"targte": 1}, "unknown reset option"),
    ({"target": 10_000}, "out of range"),
    ({"target": -1}, "out of range"),
    ({"target": "x"}, "integer"),
    ({"target": 2, "first_candidate": 2}, "differ"),
])
def test_bad_options_raise_and_leave_episode_unchanged(tiny_catalog, vocab, options, match):
    env = make(tiny_catalog, vocab, action_type="candidate")
    env.reset(seed=0)
    before = snapshot(env)
    with pytest.raises(ValueError, match=match):
        env.reset(seed=1, options=options)
    assert_same_snapshot(before, snapshot(env))


@pytest.mark.parametrize("kwargs, match", [
    ({"split": "val"}, "split"),
    ({"action_type": "text"}, "action_type"),
    ({"max_turns": 0}, "max_turns"),
    ({"split": "test", "privileged": True}, "train split"),
    ({"user": "martian"}, "martian"),
    ({"device": "tpu"}, "device"),
    ({"render_mode": "human"}, "render_mode"),
])
def test_bad_constructor_arguments(tiny_catalog, vocab, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(tiny_catalog, vocab, **kwargs)


def test_what_if_predicts_the_real_step_without_changing_the_episode(tiny_catalog, vocab):
    env = make(tiny_catalog, vocab, action_type="candidate", privileged=True)
    env.reset(seed=9)
    env.step(3)
    before = snapshot(env)
    answer = env.unwrapped.what_if([0, 1, 2, 4])
    assert_same_snapshot(before, snapshot(env))
    assert answer.feedback.shape == (4, 16)
    twin = copy.deepcopy(env)
    obs, reward, terminated, truncated, info = twin.step(2)
    assert answer.feedback_text[2] == info["feedback_text"]
    assert answer.rank_percentile[2] == pytest.approx(reward)
    assert answer.terminated[2] == terminated


@pytest.mark.parametrize(("action_type", "user"), [("candidate", "grammar"), ("query", "grammar"),
                                                   ("query", "captioner")])
def test_vector_env_matches_sync_vector_env(tiny_catalog, vocab, action_type, user):
    n = 4
    kw = dict(catalog=tiny_catalog, vocabulary=vocab, action_type=action_type, max_turns=3, device="cpu", user=user)
    native = ShoeRetrievalVectorEnv(num_envs=n, **kw)
    sync = gym.vector.SyncVectorEnv([lambda: ShoeRetrievalEnv(**kw) for _ in range(n)])
    native.action_space.seed(0)
    obs_a, info_a = native.reset(seed=123)
    obs_b, info_b = sync.reset(seed=123)
    for step in range(10):  # crosses several autoresets (episodes last at most 3 steps)
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=f"step {step} obs {key}")
        assert list(info_a["feedback_text"]) == list(info_b["feedback_text"])
        np.testing.assert_array_equal(info_a["rank"], info_b["rank"])
        action = native.action_space.sample()
        obs_a, r_a, te_a, tr_a, info_a = native.step(action)
        obs_b, r_b, te_b, tr_b, info_b = sync.step(action)
        np.testing.assert_allclose(r_a, r_b)
        np.testing.assert_array_equal(te_a, te_b)
        np.testing.assert_array_equal(tr_a, tr_b)


@pytest.mark.parametrize("action_type", ["candidate", "query"])
def test_same_step_vector_env_matches_sync_vector_env(tiny_catalog, vocab, action_type):
    """autoreset_mode="same_step": the ended dialog's last observation in final_obs, the new one returned."""
    n = 4
    kw = dict(catalog=tiny_catalog, vocabulary=vocab, action_type=action_type, max_turns=3, device="cpu",
              user="grammar")
    native = ShoeRetrievalVectorEnv(num_envs=n, autoreset_mode="same_step", **kw)
    assert native.metadata["autoreset_mode"] is gym.vector.AutoresetMode.SAME_STEP
    sync = gym.vector.SyncVectorEnv([lambda: ShoeRetrievalEnv(**kw) for _ in range(n)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    native.action_space.seed(0)
    obs_a, _ = native.reset(seed=7)
    obs_b, _ = sync.reset(seed=7)
    ended = 0
    for step in range(12):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=f"step {step} obs {key}")
        action = native.action_space.sample()
        obs_a, r_a, te_a, tr_a, info_a = native.step(action)
        obs_b, r_b, te_b, tr_b, info_b = sync.step(action)
        np.testing.assert_allclose(r_a, r_b)
        np.testing.assert_array_equal(te_a, te_b)
        np.testing.assert_array_equal(tr_a, tr_b)
        done = te_a | tr_a
        assert (r_a > 0).all()  # same-step: no reward-0 reset steps
        if done.any():
            ended += int(done.sum())
            np.testing.assert_array_equal(info_a["_final_obs"], info_b["_final_obs"])
            for i in np.flatnonzero(done):
                for key in obs_a:
                    np.testing.assert_array_equal(info_a["final_obs"][i][key], info_b["final_obs"][i][key])
                assert info_a["final_info"]["rank"][i] == info_b["final_info"]["rank"][i]
                assert info_a["final_obs"][i]["turn"] >= 1 and obs_a["turn"][i] == 0
            assert all(info_a["final_obs"][i] is None for i in np.flatnonzero(~done))
        else:
            assert "final_obs" not in info_a
    assert ended >= n


def test_bad_autoreset_mode(tiny_catalog, vocab):
    with pytest.raises(ValueError, match="autoreset_mode must be one of"):
        ShoeRetrievalVectorEnv(num_envs=2, catalog=tiny_catalog, vocabulary=vocab, user="grammar", device="cpu",
                               autoreset_mode="disabled")


def test_vector_env_bad_actions(tiny_catalog, vocab):
    vec = ShoeRetrievalVectorEnv(num_envs=3, catalog=tiny_catalog, vocabulary=vocab, action_type="candidate",
                                 user="grammar", device="cpu")
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="out-of-range"):
        vec.step(np.array([0, 1, 999]))
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.array([0, 1]))


def test_properties_describe_the_split_and_cannot_be_written(tiny_catalog, vocab):
    """The documented properties agree with the spaces and `info`, the same on both env classes."""
    vec = ShoeRetrievalVectorEnv(num_envs=3, catalog=tiny_catalog, vocabulary=vocab, user="grammar", device="cpu",
                                 action_type="query", max_turns=4)
    single = make(tiny_catalog, vocab, action_type="query", max_turns=4)
    obs, info = vec.reset(seed=0)
    for env in (vec, single):
        assert env.max_turns == 4 and env.n_items == len(tiny_catalog.train_ids) == env.ranker.n
        assert env.features.shape == (env.n_items, env.feature_dim) == (env.n_items, obs["candidate_features"].shape[1])
        np.testing.assert_array_equal(env.item_ids, tiny_catalog.train_ids)
        assert env.user is not None and env.catalog is tiny_catalog
        with pytest.raises(ValueError, match="read-only"):
            env.features[0, 0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            env.item_ids[0] = 0
    np.testing.assert_array_equal(vec.features, single.features)
    for _ in range(2):
        np.testing.assert_array_equal(vec.features[obs["candidate"]], obs["candidate_features"])
        np.testing.assert_array_equal(vec.item_ids[obs["candidate"]], info["candidate_id"])
        shown = vec.shown_indices.cpu().numpy()
        assert [set(row) for row in shown] == [set(np.flatnonzero(mask)) for mask in info["shown"]]
        obs, _, _, _, info = vec.step(obs["candidate_features"])
    assert vec.shown_indices.shape == (3, 3)  # the first image and two steps


def test_render_modes(tiny_catalog, vocab):
    env = make(tiny_catalog, vocab, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    env = make(tiny_catalog, vocab, render_mode="ansi")
    env.reset(seed=0)
    assert "turn 0" in env.render()


def test_captioner_user_passes_check_env(tiny_catalog, vocab, tiny_captioner):
    """The trained captioner as the env's user: check_env, and its feedback reaches the observation."""
    env = make(tiny_catalog, vocab, user=tiny_captioner)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    obs, reward, *_, info = env.step(obs["candidate_features"])
    assert info["feedback_text"] and vocab.decode(obs["feedback"]) == info["feedback_text"]


def test_captioner_is_the_default_user_by_name(tiny_catalog, vocab):
    """user="captioner" (the default) trains the tiny catalog's small captioner through the cache on first use."""
    from simulators.captioner import CaptionerUser

    env = ShoeRetrievalEnv(catalog=tiny_catalog, vocabulary=vocab, device="cpu")
    assert isinstance(env.user, CaptionerUser)
    assert env.user.meta["train"]["max_epochs"] == 3  # the tiny config on a tiny catalog
