"""Stable-Baselines3 compatibility: PPO with MultiInputPolicy trains on ShoeRetrieval-v0 as it is."""

import numpy as np

from envs.shoe_retrieval import ShoeRetrievalEnv
from simulators.registry import load_vocabulary


def test_ppo_trains_on_the_env(tiny_catalog, session_cache):
    from stable_baselines3 import PPO

    env = ShoeRetrievalEnv(catalog=tiny_catalog, action_type="candidate", device="cpu",
                           vocabulary=load_vocabulary(tiny_catalog, cache=session_cache))
    model = PPO("MultiInputPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu", verbose=0)
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(np.asarray(action)))
