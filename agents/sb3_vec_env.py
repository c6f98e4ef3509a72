"""Stable-Baselines3's `VecEnv` over the native vector env, and a low-dimensional query basis for its actions.

    from agents.sb3_vec_env import QueryBasis, SB3VecEnv
    venv = SB3VecEnv(num_envs=256, catalog="full", split="train", user="grammar", max_turns=5,
                     basis=QueryBasis.pca(catalog.features[catalog.split_ids("train")], k=32))
    model = PPO("MultiInputPolicy", venv, policy_kwargs=FEEDBACK_POLICY_KWARGS)

`SB3VecEnv` steps `num_envs` dialogs with one batched ranking and one batched user call per step
(`envs.shoe_retrieval.ShoeRetrievalVectorEnv` in its same-step autoreset mode), and speaks SB3's
contract exactly, as `DummyVecEnv` over as many `ShoeRetrievalEnv` would: `reset()` returns the
observations only, their infos in `reset_infos`; a dialog that ends is reset in the same step, its
last observation in its info's `"terminal_observation"`, `"TimeLimit.truncated"` set when it ran out
of turns without showing the target; `seed(s)` seeds the next reset (sub-env i with s + i). Sub-env
i then follows the trajectory of `ShoeRetrievalEnv` seeded with s + i.

Its observations keep only the split-free keys by default (`agents.sb3.SPLIT_FREE_KEYS`: the shown
image's vector, the feedback's token ids, the turn): a model trained on the train split is then
evaluated on the test split unchanged. Each info holds the step's `feedback_text`, `rank`,
`rank_percentile` and `candidate_id` (not the `shown` mask: a whole split's worth of booleans per
dialog and step).

With a `QueryBasis` the action is a point of [-1, 1]^k instead of a vector of the 256-d retrieval
space: the query is `center + (action * scale) @ components`, where center is the split's mean
vector, or the shown image's vector with `residual=True`. The leading principal components of the
catalog's features span most of its variance in a few dozen directions, which is what makes a
Gaussian policy's exploration land on rankings that differ (in 256 dimensions, PPO's noise swamps the
signal and it stays at the 50% floor). `agents.sb3.SB3Agent` applies the saved basis at evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from safetensors.numpy import load_file, save_file

from simulators.extras import missing_extra

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices
except ImportError as err:
    raise missing_extra("stable-baselines3", "sb3", "agents.sb3_vec_env (SB3's vector env)") from err

from envs.shoe_retrieval import ShoeRetrievalVectorEnv

SPLIT_FREE_KEYS = ("candidate_features", "feedback", "turn")
"""Observation keys that mean the same on every split (the candidate's index does not)."""
INFO_KEYS = ("feedback_text", "rank", "rank_percentile", "candidate_id")
"""The native env's info keys each SB3 info carries."""


@dataclass(frozen=True)
class QueryBasis:
    """Queries from k coefficients in [-1, 1]: `center + (coefficients * scale) @ components`.

    `center` is the split's mean vector, or, with `residual`, the shown image's vector (the
    observation's `candidate_features`).
    """

    components: np.ndarray
    """(k, D) float32 orthonormal directions of the retrieval space."""
    scale: np.ndarray
    """(k,) float32 how far a coefficient of 1 goes along each direction."""
    center: np.ndarray
    """(D,) float32 the split's mean vector (the origin of non-residual queries)."""
    residual: bool = False
    """Queries around the shown image's vector instead of around `center`."""

    def __post_init__(self) -> None:
        c, s, m = self.components, self.scale, self.center
        if c.ndim != 2 or s.shape != (c.shape[0],) or m.shape != (c.shape[1],):
            raise ValueError(f"a basis needs components (k, D), scale (k,) and center (D,); got {c.shape}, "
                             f"{s.shape}, {m.shape}")
        if not (np.isfinite(c).all() and np.isfinite(s).all() and np.isfinite(m).all()):
            raise ValueError("a basis must hold finite numbers")

    @property
    def k(self) -> int:
        """Coefficients per action."""
        return int(self.components.shape[0])

    @property
    def dim(self) -> int:
        """D, the retrieval space's dimension."""
        return int(self.components.shape[1])

    @classmethod
    def pca(cls, features: np.ndarray, k: int = 32, spread: float = 3.0, residual: bool = False) -> QueryBasis:
        """The k leading principal components of `features` (N, D); a coefficient of 1 goes `spread`
        standard deviations along its component (residual bases: `spread` / 2, a move, not a place)."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"features must be (N, D) with N >= 2, got {x.shape}")
        if not 1 <= k <= x.shape[1]:
            raise ValueError(f"k must be in 1..{x.shape[1]}, got {k}")
        if not spread > 0:
            raise ValueError(f"spread must be positive, got {spread}")
        mean = x.mean(axis=0)
        _, sing, vt = np.linalg.svd(x - mean, full_matrices=False)
        std = sing[:k] / np.sqrt(len(x) - 1)
        reach = spread / 2 if residual else spread
        return cls(vt[:k].astype(np.float32), (reach * std).astype(np.float32), mean.astype(np.float32), residual)

    @property
    def action_space(self) -> spaces.Box:
        """Box(-1, 1, (k,), float32)."""
        return spaces.Box(-1.0, 1.0, shape=(self.k,), dtype=np.float32)

    def query(self, coefficients: np.ndarray, shown_features: np.ndarray) -> np.ndarray:
        """(B, D) queries from (B, k) coefficients (clipped to [-1, 1]) and the shown images' (B, D) vectors."""
        a = np.clip(np.asarray(coefficients, dtype=np.float32), -1.0, 1.0)
        if a.ndim != 2 or a.shape[1] != self.k:
            raise ValueError(f"basis coefficients must have shape (B, {self.k}), got {a.shape}")
        origin = np.asarray(shown_features, dtype=np.float32) if self.residual else self.center[None, :]
        return (origin + (a * self.scale) @ self.components).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the basis as safetensors (no pickle)."""
        save_file({"components": self.components, "scale": self.scale, "center": self.center,
                   "residual": np.array([int(self.residual)], dtype=np.int64)}, str(path))

    @classmethod
    def load(cls, path: str | Path) -> QueryBasis:
        tensors = load_file(str(path))
        missing = sorted({"components", "scale", "center", "residual"} - set(tensors))
        if missing:
            raise ValueError(f"{path}: not a query basis (missing {missing})")
        return cls(tensors["components"], tensors["scale"], tensors["center"], bool(tensors["residual"][0]))


class SB3VecEnv(VecEnv):
    """SB3's `VecEnv` over `ShoeRetrievalVectorEnv`: `num_envs` dialogs, one batched ranking and user call per step.

    Pass the native env's arguments (`catalog`, `split`, `user`, `vocabulary`, `max_turns`, `device`),
    or a `ShoeRetrievalVectorEnv` built with `autoreset_mode="same_step"` and `action_type="query"`
    as `env`. `keys` are the observation keys kept (the split-free ones by default; None keeps all).
    `basis` makes the actions k coefficients of a `QueryBasis`. See the module's docstring.
    """

    def __init__(self, env: ShoeRetrievalVectorEnv | None = None, *, num_envs: int | None = None,
                 keys: Sequence[str] | None = SPLIT_FREE_KEYS, basis: QueryBasis | None = None, **env_kwargs: Any):
        if env is None:
            if env_kwargs.get("action_type", "query") != "query":
                raise ValueError("SB3VecEnv takes query actions (or a basis over them); got action_type="
                                 f"{env_kwargs['action_type']!r}")
            env_kwargs["action_type"] = "query"
            env = ShoeRetrievalVectorEnv(num_envs=1 if num_envs is None else num_envs, autoreset_mode="same_step",
                                         **env_kwargs)
        elif env_kwargs or num_envs is not None:
            raise ValueError("pass either a built env or the arguments to build one, not both")
        if not isinstance(env, ShoeRetrievalVectorEnv):
            raise ValueError(f"env must be a ShoeRetrievalVectorEnv, got {type(env).__name__}")
        if env.autoreset_mode is not AutoresetMode.SAME_STEP:
            raise ValueError("SB3 expects same-step autoreset: build the env with autoreset_mode='same_step'")
        if isinstance(env.single_action_space, (spaces.Discrete, spaces.Dict)):
            raise ValueError("SB3VecEnv takes a query-action env (action_type='query')")
        full = env.single_observation_space
        self.keys = list(full.spaces) if keys is None else list(keys)
        unknown = sorted(set(self.keys) - set(full.spaces))
        if unknown or not self.keys:
            raise ValueError(f"keys must be a non-empty subset of {list(full.spaces)}, got {list(self.keys)}")
        if basis is not None and basis.dim != env.feature_dim:
            raise ValueError(f"the basis is for {basis.dim}-d vectors, the env's are {env.feature_dim}-d")
        self.env, self.basis = env, basis
        observation_space = spaces.Dict({k: full.spaces[k] for k in self.keys})
        action_space = basis.action_space if basis is not None else env.single_action_space
        super().__init__(env.num_envs, observation_space, action_space)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
        self._shown = np.zeros((env.num_envs, env.feature_dim), dtype=np.float32)
        self._actions: np.ndarray | None = None

    # ---- SB3's contract -------------------------------------------------------------------------
    def reset(self) -> dict[str, np.ndarray]:
        seeds = self._seeds
        if all(s is None for s in seeds):
            seed: Any = None
        else:
            seed = list(seeds)
        options = self._options[0] if self._options and self._options[0] else None
        if any(o != self._options[0] for o in self._options):
            raise ValueError("SB3VecEnv takes one options dict for every sub-env (set_options(dict))")
        obs, info = self.env.reset(seed=seed, options=options)
        self.reset_infos = self._infos(info)
        self._reset_seeds()
        self._reset_options()
        return self._keep(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict[str, Any]]]:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async()")
        actions, self._actions = self._actions, None
        if self.basis is not None:
            actions = self.basis.query(actions.reshape(self.num_envs, -1), self._shown)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        done = terminated | truncated
        if done.any():
            infos = self._infos(info["final_info"])
            final = info["final_obs"]
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = {k: final[i][k] for k in self.keys}
                self.reset_infos[i] = {k: _item(info[k][i]) for k in INFO_KEYS}
        else:
            infos = self._infos(info)
        for i, (te, tr) in enumerate(zip(terminated, truncated, strict=True)):
            infos[i]["TimeLimit.truncated"] = bool(tr and not te)
        return self._keep(obs), reward.astype(np.float32), done, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The native env's attribute, once per selected sub-env (they share one env)."""
        return [getattr(self.env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"the sub-envs of SB3VecEnv share one native env: cannot set {attr_name!r} per env")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        raise AttributeError(f"the sub-envs of SB3VecEnv share one native env: call env.{method_name} on "
                             "SB3VecEnv.env directly")

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    # ---- helpers --------------------------------------------------------------------------------
    def _keep(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._shown = obs["candidate_features"]
        return {k: obs[k] for k in self.keys}

    def _infos(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        columns = [info[k] for k in INFO_KEYS]
        return [{k: _item(col[i]) for k, col in zip(INFO_KEYS, columns, strict=True)} for i in range(self.num_envs)]


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
