"""Forks (DialogBranches): a branch given the real env's actions follows the real trajectory
exactly, finished branches stay frozen, and the real dialogs are never changed."""

import numpy as np
import pytest

from envs.shoe_retrieval import ShoeRetrievalEnv, ShoeRetrievalVectorEnv
from simulators.registry import load_vocabulary

NUM_ENVS, K, MAX_TURNS = 3, 2, 5


@pytest.fixture(scope="module")
def vocab(tiny_catalog, session_cache):
    return load_vocabulary(tiny_catalog, cache=session_cache)


@pytest.fixture(params=["grammar", "captioner"])
def user(request):
    return request.getfixturevalue("tiny_captioner") if request.param == "captioner" else request.param


def make_vec(tiny_catalog, vocab, user="grammar", **kw):
    kw = {"num_envs": NUM_ENVS, "action_type": "query", "max_turns": MAX_TURNS, "privileged": True, **kw}
    return ShoeRetrievalVectorEnv(catalog=tiny_catalog, vocabulary=vocab, user=user, device="cpu", **kw)


def make_single(tiny_catalog, vocab, **kw):
    kw = {"action_type": "candidate", "max_turns": MAX_TURNS, "privileged": True, **kw}
    return ShoeRetrievalEnv(catalog=tiny_catalog, vocabulary=vocab, user="grammar", device="cpu", **kw)


def dialog_state(batch, rows=slice(None)) -> dict:
    """Every per-dialog array of a DialogBatch (rows of it), copied."""
    return {"target": batch.target[rows].copy(), "candidate": batch.candidate[rows].copy(),
            "turn": batch.turn[rows].copy(), "rank": batch.rank[rows].copy(),
            "percentile": batch.percentile[rows].copy(), "tokens": batch.tokens[rows].copy(),
            "n_shown": batch.n_shown[rows].copy(), "text": list(np.array(batch.text, dtype=object)[rows]),
            "shown": batch.shown[rows].clone(), "shown_idx": batch.shown_idx[rows].clone()}


def env_state(env) -> dict:
    """The real env's whole dialog state, generators included."""
    env = env.unwrapped if hasattr(env, "unwrapped") else env
    rngs = env.np_random_per_env if isinstance(env, ShoeRetrievalVectorEnv) else [env.np_random]
    return {**dialog_state(env._batch), "rngs": [r.bit_generator.state for r in rngs]}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if hasattr(a[key], "equal"):
            assert a[key].equal(b[key]), key
        elif isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_equal(a[key], b[key], err_msg=key)


def frozen_state(branches, rows: np.ndarray) -> dict:
    """Branch state of `rows`; shown_idx only up to each row's count (its padding may grow while others step)."""
    state = dialog_state(branches._batch, rows)
    idx = state.pop("shown_idx")
    state["shown_prefix"] = [tuple(idx[r, :n].tolist()) for r, n in enumerate(state["n_shown"])]
    return state


def policy_queries(env, turn: int, rng: np.random.Generator) -> np.ndarray:
    """(B, D) query actions: a noisy random item per dialog; dialog 0 asks for its target at turn 4 (so it ends
    early and its branches are frozen while the others step)."""
    b = env.num_envs
    queries = env.features[rng.integers(env.n_items, size=b)] + rng.normal(0, 0.05, (b, env.feature_dim))
    if turn == 4:
        queries[0] = env.features[env._batch.target[0]]
    return queries.astype(np.float32)


def test_branch_follows_the_real_trajectory(tiny_catalog, vocab, user):
    env = make_vec(tiny_catalog, vocab, user)
    env.reset(seed=11)
    rng = np.random.default_rng(0)
    for turn in range(1, 3):
        _, _, terminated, truncated, _ = env.step(policy_queries(env, turn, rng))
        assert not (terminated | truncated).any()  # the seed keeps every dialog alive to the fork

    # Fork at turn 2: branch (i, 0) shows what the real env will show for the query; (i, 1) another image.
    n = env.n_items
    queries = policy_queries(env, 3, rng)
    real_next = env.ranker.nearest(queries, env.shown_indices)[:, 0]
    other = (real_next + 1 + rng.integers(n - 1, size=NUM_ENVS)) % n
    candidates = np.stack([real_next, other], axis=1)  # (B, K)
    branch_queries = np.stack([queries, env.features[other]], axis=1)  # (B, K, D)
    before = env_state(env)
    branches = env.fork(candidates, queries=branch_queries)
    assert_same(before, env_state(env))
    assert len(branches) == NUM_ENVS * K
    np.testing.assert_array_equal(branches.parent, np.repeat(np.arange(NUM_ENVS), K))
    np.testing.assert_array_equal(branches.observation()["candidate"], candidates.reshape(-1))

    follow = np.arange(NUM_ENVS) * K  # branch (i, 0) follows dialog i
    reward, terminated, truncated = branches.reward, branches.terminated.copy(), branches.truncated.copy()
    alive = np.ones(NUM_ENVS, dtype=bool)
    for turn in range(3, MAX_TURNS + 2):  # the last round finds every dialog ended: all branches frozen
        if turn > 3:
            queries = policy_queries(env, turn, rng)
            done = np.flatnonzero(branches.done)
            frozen_before = frozen_state(branches, done)
            before = env_state(env)
            reward, terminated, truncated = branches.step(np.repeat(queries, K, axis=0))
            assert_same(before, env_state(env))  # stepping branches never touches the real env
            assert_same(frozen_before, frozen_state(branches, done))
            assert (reward[done] == 0).all() and not (terminated[done] | truncated[done]).any()
        obs, real_reward, real_terminated, real_truncated, info = env.step(queries)
        branch_obs, branch_info = branches.observation(), branches.info()
        for i in np.flatnonzero(alive):
            j = follow[i]
            assert reward[j] == real_reward[i]
            assert (terminated[j], truncated[j]) == (real_terminated[i], real_truncated[i])
            for key in obs:
                np.testing.assert_array_equal(branch_obs[key][j], obs[key][i], err_msg=f"turn {turn} obs {key}")
            for key in ("feedback_text", "rank", "rank_percentile", "candidate_id", "shown", "target"):
                np.testing.assert_array_equal(branch_info[key][j], info[key][i], err_msg=f"turn {turn} {key}")
        alive &= ~(real_terminated | real_truncated)
        np.testing.assert_array_equal(branches.done[follow], ~alive)
    assert branches.terminated[follow[0]] and branches.turns[follow[0]] < MAX_TURNS  # it found its target
    assert branches.done.all()


def test_single_env_fork_step_matches_a_real_step(tiny_catalog, vocab):
    env = make_single(tiny_catalog, vocab, action_type="query_and_candidate")
    env.reset(seed=5)
    query = env.unwrapped.features[7]
    env.step({"query": query, "candidate": 7})
    before = env_state(env)
    branches = env.unwrapped.fork([3, 9, 12], queries=np.stack([query] * 3))
    first_obs, first_info, first_reward = branches.observation(), branches.info(), branches.reward.copy()
    branches.step(np.repeat(query[None], 3, axis=0))
    assert_same(before, env_state(env))
    obs, reward, terminated, truncated, info = env.step({"query": query, "candidate": 9})
    assert first_info["feedback_text"][1] == info["feedback_text"] != ""
    assert first_info["rank"][1] == info["rank"] and first_reward[1] == reward
    np.testing.assert_array_equal(first_obs["feedback"][1], obs["feedback"])


def test_what_if_is_forks_first_step(tiny_catalog, vocab):
    env = make_single(tiny_catalog, vocab)
    _, info = env.reset(seed=9)
    env.step(3)
    candidates = np.array([0, 1, info["target"], 4, 1])
    for queries in (None, env.unwrapped.features[[5, 6, 7, 8, 9]] + 0.01):
        before = env_state(env)
        answer = env.unwrapped.what_if(candidates, queries)
        branches = env.unwrapped.fork(candidates, queries)
        assert_same(before, env_state(env))
        branch_info = branches.info()
        assert answer.feedback_text == list(branch_info["feedback_text"])
        np.testing.assert_array_equal(answer.candidates, candidates)
        np.testing.assert_array_equal(answer.feedback, branches.observation()["feedback"])
        np.testing.assert_array_equal(answer.rank, branch_info["rank"])
        np.testing.assert_array_equal(answer.rank_percentile, branches.reward)
        np.testing.assert_array_equal(answer.terminated, branches.terminated)
        np.testing.assert_array_equal(answer.terminated, candidates == info["target"])
    assert answer.feedback_text[0] != answer.feedback_text[1] or answer.rank[0] != answer.rank[1]
    assert answer.feedback_text[1] == answer.feedback_text[4]  # the same image, the same generator state


def test_finished_branches_stay_frozen(tiny_catalog, vocab):
    env = make_single(tiny_catalog, vocab)
    _, info = env.reset(seed=2)
    target, n = info["target"], env.unwrapped.n_items
    env.step((target + 1) % n)  # turn 1; the fork's own step is turn 2
    branches = env.unwrapped.fork([target, (target + 2) % n, (target + 3) % n])
    np.testing.assert_array_equal(branches.terminated, [True, False, False])
    batch = branches._batch
    for step in range(3):  # turns 3, 4, 5: branch 2 shows the target at turn 4, branch 1 is truncated at 5
        done = np.flatnonzero(branches.done)
        live = np.setdiff1d(np.arange(3), done)
        frozen_before, live_turns = frozen_state(branches, done), branches.turns[live]
        shown = np.array([0, (target + 5 + step) % n, target if step == 1 else (target + 9 + step) % n])
        reward, terminated, truncated = branches.step(candidates=shown)
        assert_same(frozen_before, frozen_state(branches, done))
        assert (reward[done] == 0).all() and not (terminated[done] | truncated[done]).any()
        np.testing.assert_array_equal(branches.turns[live], live_turns + 1)
        np.testing.assert_array_equal(branches.observation()["candidate"][live], shown[live])
        np.testing.assert_array_equal(terminated, [False, False, step == 1])
        np.testing.assert_array_equal(truncated, [False, step == 2, False])
    assert branches.done.all() and branches.terminated.tolist() == [True, False, True]
    before = dialog_state(batch)
    reward, terminated, truncated = branches.step(candidates=np.zeros(3, dtype=np.int64))  # nothing left to step
    assert not reward.any() and not terminated.any() and not truncated.any()
    assert_same(before, dialog_state(batch))


def test_bad_fork_inputs_raise_and_change_nothing(tiny_catalog, vocab):
    env = make_vec(tiny_catalog, vocab)
    env.reset(seed=0)
    n, dim = env.n_items, env.feature_dim
    good = np.zeros((NUM_ENVS, K), dtype=np.int64)
    bad_calls = [
        ((np.zeros(NUM_ENVS, dtype=np.int64),), {}, "shape"),
        ((np.zeros((NUM_ENVS - 1, K), dtype=np.int64),), {}, "shape"),
        ((np.full((NUM_ENVS, K), n),), {}, "out-of-range"),
        ((np.full((NUM_ENVS, K), -1),), {}, "out-of-range"),
        ((good.astype(np.float64),), {}, "integer"),
        ((good,), {"queries": np.full((NUM_ENVS, K, dim), np.nan)}, "NaN"),
        ((good,), {"queries": np.zeros((NUM_ENVS, K, dim + 1))}, "shape"),
        ((good[:1],), {"env_indices": [NUM_ENVS]}, "env_indices"),
    ]
    before = env_state(env)
    for args, kwargs, match in bad_calls:
        with pytest.raises(ValueError, match=match):
            env.fork(*args, **kwargs)
        assert_same(before, env_state(env))
    with pytest.raises(ValueError, match="out-of-range"):
        env.what_if(0, [0, n])
    with pytest.raises(ValueError, match="shape"):
        env.what_if(0, [0, 1], queries=np.zeros((3, dim)))
    assert_same(before, env_state(env))


def test_fork_refuses_ended_dialogs(tiny_catalog, vocab):
    single = make_single(tiny_catalog, vocab, max_turns=2)
    _, info = single.reset(seed=1)
    target, n = info["target"], single.unwrapped.n_items
    single.step((target + 1) % n)
    single.step((target + 2) % n)  # truncated: max_turns taken
    before = env_state(single)
    with pytest.raises(ValueError, match="max_turns"):
        single.unwrapped.fork([0, 1])
    with pytest.raises(ValueError, match="max_turns"):
        single.unwrapped.what_if([0, 1])
    assert_same(before, env_state(single))

    single.reset(seed=1)
    single.step(target)  # terminated: the target was shown
    before = env_state(single)
    with pytest.raises(ValueError, match="ended"):
        single.unwrapped.fork([0, 1])
    assert_same(before, env_state(single))

    vec = make_vec(tiny_catalog, vocab, action_type="candidate")
    _, info = vec.reset(seed=3)
    vec.step(info["target"])  # every sub-env shows its target and ends
    before = env_state(vec)
    with pytest.raises(ValueError, match="ended"):
        vec.fork(np.zeros((1, K), dtype=np.int64), env_indices=[1])
    assert_same(before, env_state(vec))


def test_bad_branch_steps_raise_and_change_nothing(tiny_catalog, vocab):
    env = make_vec(tiny_catalog, vocab)
    env.reset(seed=4)
    branches = env.fork(np.arange(NUM_ENVS * K).reshape(NUM_ENVS, K) + 10)
    n, dim, rows = branches.n_items, env.feature_dim, NUM_ENVS * K
    before, rngs = dialog_state(branches._batch), [r.bit_generator.state for r in branches.rngs]
    flags = branches.terminated.copy(), branches.truncated.copy()
    for kwargs, match in [({}, "needs"), ({"queries": np.full((rows, dim), np.nan)}, "NaN"),
                          ({"queries": np.zeros((rows - 1, dim))}, "shape"),
                          ({"candidates": np.full(rows, n)}, "out-of-range"),
                          ({"candidates": np.zeros(rows + 1, dtype=np.int64)}, "shape")]:
        with pytest.raises(ValueError, match=match):
            branches.step(**kwargs)
        assert_same(before, dialog_state(branches._batch))
        assert rngs == [r.bit_generator.state for r in branches.rngs]
        np.testing.assert_array_equal(flags[0], branches.terminated)
        np.testing.assert_array_equal(flags[1], branches.truncated)


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_copied_generator_draws_what_the_original_would(bit_generator):
    from envs._batch import copy_generator

    rng = np.random.Generator(bit_generator(7))
    rng.random(3)
    rng.integers(10, size=3, dtype=np.int32)  # leaves a buffered 32-bit half in PCG64's state
    state = rng.bit_generator.state
    twin = copy_generator(rng)
    np.testing.assert_equal(rng.bit_generator.state, state)  # copying draws nothing
    np.testing.assert_array_equal(twin.random(5), rng.random(5))
    assert twin.integers(1 << 30) == rng.integers(1 << 30)
    twin.random(4)  # independent from then on
    assert twin.random() != rng.random()
