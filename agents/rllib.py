"""ShoeRetrieval-v0 under RLlib's PPO on the new API stack: the env registered, its native vector env, and a small
RLModule that reads the feedback's words.

    import ray
    from agents.rllib import ppo_config

    ray.init(num_cpus=2)
    algo = ppo_config(catalog="tiny", user="grammar").build_algo()
    for _ in range(2):
        print(algo.train()["env_runners"]["episode_return_mean"])

`register()` registers `ENV_NAME` with `ray.tune.registry.register_env`; RLlib's env runners then build the
env's own vector version (`gym_env_vectorize_mode=VECTOR_ENTRY_POINT`: the creator is called with `num_envs` and
returns `envs.shoe_retrieval.ShoeRetrievalVectorEnv`, one batched ranking and one user call per step), whose
default next-step autoreset is what the runners expect. `FeedbackModule` is a `TorchRLModule` with the
`ValueFunctionAPI`: the dialog manager's response encoder (`agents.dialog_manager.ResponseEncoder`: word
embeddings, a width-2 convolution, max-pooling) over the shown image's vector and the feedback's token ids, an
MLP, a Gaussian query around the shown image (a state-independent standard deviation) and a value head. It has
no memory of earlier turns, so it learns what the last answer asks for.

RLlib (`ray[rllib]`) pins gymnasium==1.2.2 exactly and is no extra of this project: `scripts/test_rllib.sh`
makes a venv of its own (`.venv-rllib`) with it and runs `tests/agents/test_rllib.py`. Ray is imported when a
function here is called, so this module imports without it.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from agents.dialog_manager import DialogManagerConfig, ResponseEncoder, feature_scale_of
from envs.shoe_retrieval import ShoeRetrievalEnv, ShoeRetrievalVectorEnv
from simulators import registry
from simulators.extras import MissingExtraError

ENV_NAME = "ShoeRetrieval-rllib"
"""The name `register()` gives the env in Ray Tune's registry."""


def _rllib() -> Any:
    try:
        import ray.rllib  # noqa: F401
        from ray.rllib.core.rl_module.apis import ValueFunctionAPI
        from ray.rllib.core.rl_module.torch import TorchRLModule
    except ImportError as err:
        raise MissingExtraError("agents.rllib needs RLlib, which is not installed: pip install 'ray[rllib]' (it pins "
                                "gymnasium==1.2.2; scripts/test_rllib.sh installs it in a venv of its own)") from err
    return TorchRLModule, ValueFunctionAPI


def make_env(config: dict[str, Any]) -> gym.Env | ShoeRetrievalVectorEnv:
    """The env creator `register()` registers: with `num_envs` in `config` (RLlib's vector-entry-point mode) the
    native vector env, else a single env; every other key is the env's keyword argument."""
    kwargs = dict(config)
    num_envs = kwargs.pop("num_envs", None)
    if num_envs is None:
        return ShoeRetrievalEnv(**kwargs)
    return ShoeRetrievalVectorEnv(num_envs=int(num_envs), **kwargs)


def register() -> str:
    """Register `make_env` under ENV_NAME in Ray Tune's registry (in every process that builds an algorithm)."""
    _rllib()
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_env)
    return ENV_NAME


def ppo_config(catalog: str = "tiny", user: str = "grammar", num_envs: int = 64, max_turns: int = 5, seed: int = 0,
               hidden_dim: int = 128, embed_dim: int = 64, log_std_init: float = -1.5,
               train_batch_size: int = 1024) -> Any:
    """A PPOConfig of ShoeRetrieval-v0 (train split, query actions) with FeedbackModule: `num_envs` dialogs in one
    native vector env on the local env runner (no remote runners), `seed` for RLlib and the env's dialogs.
    The module's scale (the catalog's root-mean-square feature norm) is read off the train split."""
    _rllib()
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    register()
    world = registry.load_catalog(catalog, progress=False)
    scale = feature_scale_of(world.features[world.split_ids("train")])
    env_config = {"catalog": catalog, "user": user, "split": "train", "action_type": "query", "max_turns": max_turns}
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config, normalize_actions=False, clip_actions=True)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=num_envs,
                     gym_env_vectorize_mode=gym.VectorizeMode.VECTOR_ENTRY_POINT, rollout_fragment_length="auto")
        .rl_module(rl_module_spec=RLModuleSpec(
            module_class=feedback_module_class(),
            model_config={"hidden_dim": hidden_dim, "embed_dim": embed_dim, "feature_scale": scale,
                          "log_std_init": log_std_init}))
        .training(train_batch_size_per_learner=train_batch_size, minibatch_size=min(256, train_batch_size),
                  num_epochs=4, lr=3e-4, gamma=0.9)
        .debugging(seed=seed)
    )


@cache
def feedback_module_class() -> type:
    """FeedbackModule, defined on first use (its base classes are RLlib's)."""
    torch_rl_module, value_function_api = _rllib()
    from ray.rllib.core.columns import Columns

    class FeedbackModule(torch_rl_module, value_function_api):
        """(shown image's vector, feedback token ids) -> a Gaussian query around the shown image, and a value.

        model_config: hidden_dim, embed_dim (the response encoder's sizes), feature_scale (the catalog's unit of
        distance: inputs are divided by it, the query's mean and deviation multiplied), log_std_init (the
        deviation's start, in feature_scale units).
        """

        def setup(self) -> None:
            spaces = self.observation_space.spaces
            cfg = self.model_config
            dim = int(spaces["candidate_features"].shape[0])
            hidden = int(cfg.get("hidden_dim", 128))
            config = DialogManagerConfig(vocab_size=int(spaces["feedback"].high.max()) + 1, feature_dim=dim,
                                         hidden_dim=hidden, embed_dim=int(cfg.get("embed_dim", 64)))
            self.scale = float(cfg.get("feature_scale", 1.0))
            self.response = ResponseEncoder(config)  # the dialog manager's: it embeds the words
            self.body = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
            self.pi = nn.Linear(hidden, dim)
            nn.init.zeros_(self.pi.weight)
            nn.init.zeros_(self.pi.bias)  # the first queries: the shown image itself
            self.log_std = nn.Parameter(torch.full((dim,), float(cfg.get("log_std_init", -1.5))))
            self.vf = nn.Linear(hidden, 1)

        def encode(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            shown = obs["candidate_features"].float() / self.scale  # (B, D), near unit length
            tokens = obs["feedback"].long()  # (B, 16) token ids, 0 = padding
            return self.body(self.response(shown, tokens)), shown  # (B, H), (B, D)

        def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            embeddings, shown = self.encode(batch[Columns.OBS])
            mean = (shown + self.pi(embeddings)) * self.scale  # (B, D) in the catalog's units
            log_std = (self.log_std + math.log(self.scale)).expand_as(mean)
            return {Columns.ACTION_DIST_INPUTS: torch.cat([mean, log_std], dim=-1), Columns.EMBEDDINGS: embeddings}

        def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
            if embeddings is None:
                embeddings, _ = self.encode(batch[Columns.OBS])
            return self.vf(embeddings).squeeze(-1)  # (B,)

    return FeedbackModule
