"""Gymnasium environments of the benchmark; importing this package registers them.

>>> import gymnasium as gym
>>> env = gym.make("envs:ShoeRetrieval-v0", catalog="tiny")  # doctest: +SKIP
"""

from gymnasium.envs.registration import register, registry

ENV_ID = "ShoeRetrieval-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="envs.shoe_retrieval:ShoeRetrievalEnv",
        vector_entry_point="envs.shoe_retrieval:ShoeRetrievalVectorEnv",
        # The env truncates at its own max_turns; no TimeLimit wrapper is added.
        max_episode_steps=None,
        disable_env_checker=False,
    )

__all__ = ["ENV_ID"]
