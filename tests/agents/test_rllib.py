"""RLlib's PPO on ShoeRetrieval-v0 (new API stack, the native vector env, FeedbackModule); runs in the RLlib venv.

`bash scripts/test_rllib.sh` runs it in `.venv-rllib` (ray[rllib] pins gymnasium==1.2.2); in the project's own
venv, without RLlib, it is skipped.
"""

import os

import numpy as np
import pytest
import torch

if os.environ.get("SHOE_RETRIEVAL_REQUIRE_RLLIB"):
    import ray.rllib  # noqa: F401 - in the RLlib venv a missing RLlib is a failure, not a skip
else:
    pytest.importorskip("ray.rllib", reason="RLlib runs in its own venv: bash scripts/test_rllib.sh")

import ray  # noqa: E402

from agents import rllib  # noqa: E402


@pytest.fixture
def local_ray():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()
    torch.set_num_threads(before)


def test_the_creator_builds_the_native_vector_env_with_next_step_autoreset():
    from gymnasium.vector import AutoresetMode

    from envs.shoe_retrieval import ShoeRetrievalVectorEnv

    env = rllib.make_env({"catalog": "tiny", "user": "grammar", "num_envs": 3, "max_turns": 2})
    assert isinstance(env, ShoeRetrievalVectorEnv) and env.num_envs == 3
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    single = rllib.make_env({"catalog": "tiny", "user": "grammar", "max_turns": 2})
    assert single.observation_space == env.single_observation_space


def test_ppo_trains_two_iterations_and_the_module_reads_the_words(local_ray):
    algo = rllib.ppo_config(catalog="tiny", user="grammar", num_envs=16, max_turns=3, train_batch_size=128,
                            hidden_dim=32, embed_dim=16).build_algo()
    try:
        module = algo.env_runner.module
        assert type(module).__name__ == "FeedbackModule"
        seen = []
        module.response.register_forward_pre_hook(lambda _, args: seen.append(args[1].detach().clone()))
        returns = []
        for _ in range(2):
            metrics = algo.train()
            returns.append(metrics["env_runners"]["episode_return_mean"])
        assert all(np.isfinite(r) and 0.0 < r <= 3.0 for r in returns)  # 3 turns of rank percentile in [0, 1]
        tokens = torch.cat([t.reshape(-1) for t in seen])
        assert tokens.dtype == torch.int64 and (tokens > 0).any()  # the words reach the embedding as ids
        # The words change the query: the same image with other feedback gives another action distribution.
        learned = algo.get_module()
        obs, _ = rllib.make_env({"catalog": "tiny", "user": "grammar", "num_envs": 4}).reset(seed=0)
        batch = {k: torch.as_tensor(v) for k, v in obs.items()}
        other = dict(batch, feedback=torch.roll(batch["feedback"], 1, dims=0))
        with torch.no_grad():
            a = learned.forward_inference({"obs": batch})["action_dist_inputs"]
            b = learned.forward_inference({"obs": other})["action_dist_inputs"]
        assert not torch.allclose(a, b)
    finally:
        algo.stop()
