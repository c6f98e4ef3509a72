"""Stable-Baselines3 on ShoeRetrieval-v0: train any SB3 algorithm, save it safely, evaluate it on the protocol.

    agent, minutes = train_sb3(catalog, user, vocabulary, "runs/sb3-grammar-s0", 1_400_000)
    agent = load_sb3("runs/sb3-grammar-s0/checkpoint")   # an Agent for benchmarks.protocol.evaluate

`train_sb3` trains an `SB3Recipe`: 256 dialogs through `agents.sb3_vec_env.SB3VecEnv` (one batched
ranking and user call per step), the feedback read by `agents.sb3_features.FeedbackExtractor`, the
action a point of a `QueryBasis` (the train split's leading principal components around its mean,
or around the shown image). Any SB3 algorithm also trains on single envs as they are:

    env = split_free(ShoeRetrievalEnv(catalog="full", split="train", action_type="query"))
    model = PPO("MultiInputPolicy", env, seed=0).learn(20_000)
    save_sb3(model, "runs/ppo-captioner-s0/checkpoint")

Two things stand between an SB3 model trained on the train split and the protocol on the test
split. The observation's "candidate" is an index into the split (Discrete(N)), so a model that
reads it only fits the split it was trained on: `split_free` (and `SB3VecEnv` by default) drops it,
leaving the image's vector, the feedback tokens and the turn, which mean the same on either split;
`SB3Agent` gives the model those keys of the protocol's observations, and maps a basis's
coefficients to the query. And SB3's own `.zip` files unpickle Python objects when loaded, which
this project never does with a model file: `save_sb3` writes the policy's weights and the basis as
safetensors and the algorithm's settings as JSON (the project's extractors and activations by
name), and `load_sb3` rebuilds the algorithm on a stand-in env with those spaces and loads the
weights into it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.wrappers import FilterObservation
from safetensors.torch import load_file, save_file

from simulators.extras import missing_extra

try:
    from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.callbacks import BaseCallback
except ImportError as err:
    raise missing_extra("stable-baselines3", "sb3", "agents.sb3 (Stable-Baselines3 on the env)") from err
try:
    from sb3_contrib import RecurrentPPO
except ImportError as err:
    raise missing_extra("sb3-contrib", "sb3", "agents.sb3 (RecurrentPPO)") from err
from tqdm.auto import tqdm

from agents.base import Agent, as_batch, dialog_starts
from agents.dialog_manager import feature_scale_of
from agents.sb3_features import ACTIVATIONS, EXTRACTORS, FeedbackExtractor
from agents.sb3_vec_env import SPLIT_FREE_KEYS, QueryBasis, SB3VecEnv
from simulators.cache import verify_artifact, write_artifact, write_json

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {cls.__name__: cls for cls in (PPO, A2C, DQN, SAC, TD3, RecurrentPPO)}
KIND = "sb3-checkpoint"
WEIGHTS, CONFIG, BASIS = "policy.safetensors", "config.json", "basis.safetensors"


def split_free(env: gym.Env) -> gym.Env:
    """The env without the split-bound "candidate" index in its observations (train here, evaluate anywhere)."""
    return FilterObservation(env, list(SPLIT_FREE_KEYS))


class SB3Agent(Agent):
    """An SB3 model as a protocol agent: passes it the observation keys its policy was trained on.

    `action_type` follows the model's action space ("query" for a Box, "candidate" for a Discrete);
    the model's own `predict` does the rest, so recurrent state and `episode_start` pass through.
    """

    action_type = "query"  # replaced per instance below; the class default satisfies Agent's check

    def __init__(self, model: BaseAlgorithm, basis: QueryBasis | None = None):
        self.model, self.basis = model, basis
        self.recurrent = isinstance(model, RecurrentPPO)
        self._state: Any = None  # a recurrent model's state between calls that pass none (the protocol's)
        space = model.action_space
        if isinstance(space, spaces.Box) and len(space.shape) == 1:
            self.action_type = "query"
            if basis is not None and space.shape != (basis.k,):
                raise ValueError(f"the model acts in {space.shape[0]} dimensions, its basis has {basis.k}")
        elif isinstance(space, spaces.Discrete) and basis is None:
            self.action_type = "candidate"
        else:
            raise ValueError(f"the model's action space {space} is neither the env's query Box (or a basis's) "
                             "nor its Discrete")
        obs_space = model.observation_space
        self.keys = list(obs_space.spaces) if isinstance(obs_space, spaces.Dict) else None

    def predict(self, observation: dict[str, Any], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[Any, Any]:
        obs, single = as_batch(observation)
        full = obs
        if self.keys is not None:
            missing = [k for k in self.keys if k not in obs]
            if missing:
                raise ValueError(f"the model reads observation keys {missing} that the env does not give")
            obs = {k: obs[k] for k in self.keys}
        carried = self.recurrent and state is None
        if carried:  # keep the dialog's memory, as the protocol expects of an agent (it passes no state back)
            episode_start = dialog_starts(full, episode_start)
            fits = self._state is not None and self._state[0].shape[1] == len(episode_start)
            state = self._state if fits else None
        actions, state = self.model.predict(obs, state=state, episode_start=episode_start,
                                            deterministic=deterministic)
        if carried:
            self._state = state
        actions = np.asarray(actions)
        if self.basis is not None:
            actions = self.basis.query(actions.reshape(len(actions), -1), full["candidate_features"])
        elif self.action_type == "query":
            actions = actions.astype(np.float32)
        return (actions[0] if single else actions), state


    def reset_state(self) -> None:
        """Forget the dialogs' memory (a recurrent model's state); the protocol calls it before each batch."""
        self._state = None


def _kwargs_to_json(kwargs: dict[str, Any]) -> dict[str, Any]:
    """policy_kwargs as JSON: the project's extractors and a few activations by name, the rest plain values."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, type):
            named = {**{f"extractor:{n}": c for n, c in EXTRACTORS.items()},
                     **{f"activation:{n}": c for n, c in ACTIVATIONS.items()}}
            names = [n for n, c in named.items() if c is value]
            if not names:
                raise ValueError(f"policy_kwargs[{key!r}] = {value.__name__} cannot be saved: only the extractors "
                                 f"{sorted(EXTRACTORS)} and the activations {sorted(ACTIVATIONS)} are written by name")
            out[key] = {"class": names[0]}
            continue
        try:
            json.dumps(value)
        except TypeError:
            raise ValueError(f"policy_kwargs[{key!r}] = {value!r} is not a plain JSON value; only those can be "
                             "saved") from None
        out[key] = value
    return out


def _kwargs_from_json(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"class"}:
            kind, _, name = str(value["class"]).partition(":")
            table = {"extractor": EXTRACTORS, "activation": ACTIVATIONS}.get(kind, {})
            if name not in table:
                raise ValueError(f"the checkpoint names an unknown {kind or 'class'} {value['class']!r}")
            value = table[name]
        out[key] = value
    return out


def _unique_tensors(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state's tensors once each (safetensors refuses shared memory, as in a policy whose actor and critic
    share one features extractor), and {alias: name} for the names that share another's tensor."""
    weights: dict[str, torch.Tensor] = {}
    first: dict[tuple[Any, ...], str] = {}
    shared: dict[str, str] = {}
    for name, tensor in state.items():
        key = (tensor.device, tensor.data_ptr(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
        if tensor.numel() and key in first:
            shared[name] = first[key]
            continue
        first.setdefault(key, name)
        weights[name] = tensor.detach().cpu().contiguous()
    return weights, shared


def _space_to_json(space: spaces.Space) -> dict[str, Any]:
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: _space_to_json(v) for k, v in space.spaces.items()}}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "low": space.low.tolist(), "high": space.high.tolist(), "shape": list(space.shape),
                "dtype": str(space.dtype)}
    raise ValueError(f"cannot save a model with a {type(space).__name__} space")


def _space_from_json(data: dict[str, Any]) -> spaces.Space:
    kind = data.get("type")
    if kind == "Dict":
        return spaces.Dict({k: _space_from_json(v) for k, v in data["spaces"].items()})
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data["start"]))
    if kind == "Box":
        dtype = np.dtype(data["dtype"])
        return spaces.Box(np.asarray(data["low"], dtype=dtype), np.asarray(data["high"], dtype=dtype),
                          shape=tuple(data["shape"]), dtype=dtype)
    raise ValueError(f"unknown space type {kind!r} in the checkpoint's config")


class _SpacesOnly(gym.Env):
    """A stand-in env with the saved spaces, to rebuild an algorithm without the env it was trained on."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # pragma: no cover - never stepped
        raise RuntimeError("a loaded SB3 checkpoint is for prediction; train it on a real env")

    def step(self, action):  # pragma: no cover - never stepped
        raise RuntimeError("a loaded SB3 checkpoint is for prediction; train it on a real env")


def save_sb3(model: BaseAlgorithm, path: str | Path, meta: dict[str, Any] | None = None,
             basis: QueryBasis | None = None) -> Path:
    """Write the model's policy weights (safetensors), settings (JSON) and query basis (safetensors, if
    the model acts through one) as a verified artifact folder."""
    name = type(model).__name__
    if name not in ALGORITHMS:
        raise ValueError(f"only {sorted(ALGORITHMS)} can be saved, got {name}")
    kwargs = _kwargs_to_json(model.policy_kwargs or {})
    aliases = [alias for alias, cls in model.policy_aliases.items() if cls is type(model.policy)]
    if not aliases:
        raise ValueError(f"only {name}'s named policies ({sorted(model.policy_aliases)}) can be saved, not a custom "
                         f"{type(model.policy).__name__}")
    config = {"algorithm": name, "policy": aliases[0], "policy_kwargs": kwargs,
              "observation_space": _space_to_json(model.observation_space),
              "action_space": _space_to_json(model.action_space), "num_timesteps": int(model.num_timesteps),
              "basis": basis is not None, "meta": meta or {}}
    weights, shared = _unique_tensors(model.policy.state_dict())
    config["shared_tensors"] = shared

    def write(staging: Path) -> dict[str, Any]:
        save_file(weights, str(staging / WEIGHTS))
        (staging / CONFIG).write_text(json.dumps(config, indent=1), encoding="utf-8")
        if basis is not None:
            basis.save(staging / BASIS)
        return {"algorithm": name, "num_timesteps": int(model.num_timesteps), **(meta or {})}

    return write_artifact(path, KIND, {"algorithm": name}, write).path


def load_sb3(path: str | Path, device: str = "cpu") -> SB3Agent:
    """An SB3Agent from a `save_sb3` folder (verified; the weights are loaded without unpickling anything)."""
    art = verify_artifact(Path(path), KIND)
    config = json.loads(art.file(CONFIG).read_text(encoding="utf-8"))
    algorithm = ALGORITHMS.get(config.get("algorithm"))
    if algorithm is None:
        raise ValueError(f"{path}: unknown algorithm {config.get('algorithm')!r}; known: {sorted(ALGORITHMS)}")
    env = _SpacesOnly(_space_from_json(config["observation_space"]), _space_from_json(config["action_space"]))
    kwargs = _kwargs_from_json(config["policy_kwargs"] or {})
    model = algorithm(config["policy"], env, policy_kwargs=kwargs or None, device=device)
    state = load_file(str(art.file(WEIGHTS)), device=str(torch.device(device)))
    for alias, name in (config.get("shared_tensors") or {}).items():
        if name not in state:
            raise ValueError(f"{path}: the weights lack {name!r}, which {alias!r} shares")
        state[alias] = state[name]
    try:
        model.policy.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: the weights do not fit a {config['algorithm']} {config['policy']} ({err})") from None
    model.num_timesteps = int(config.get("num_timesteps", 0))
    basis = QueryBasis.load(art.file(BASIS)) if config.get("basis") else None
    return SB3Agent(model, basis)


@dataclass(frozen=True)
class SB3Recipe:
    """How `train_sb3` trains an SB3 algorithm on the native vector env (the defaults: the documented recipe).

    RecurrentPPO (sb3-contrib; an LSTM over the turns, `MultiInputLstmPolicy`) reads the feedback through
    `FeedbackExtractor` and acts through a `QueryBasis` of the train split's 32 leading principal
    components around the split's mean (`residual=True`: around the shown image); `basis_k=0` acts in
    the full retrieval space, `extractor=False` uses SB3's default extractor (the floor's settings). The
    routes that led here are measured in `benchmarks.reports.sb3` (docs/results/sb3.md).
    """

    algorithm: str = "RecurrentPPO"
    """PPO, A2C, SAC, TD3 or RecurrentPPO (the last with `MultiInputLstmPolicy`)."""
    num_envs: int = 256
    basis_k: int = 32
    residual: bool = False
    spread: float = 3.0
    extractor: bool = True
    hidden_dim: int = 128
    embed_dim: int = 64
    net_arch: tuple[int, ...] = (128, 128)
    log_std_init: float = -0.5
    n_steps: int = 16
    batch_size: int = 1024
    n_epochs: int = 4
    gamma: float = 0.9
    learning_rate: float = 3e-4
    ent_coef: float = 0.0
    max_turns: int = 10

    def __post_init__(self) -> None:
        if self.algorithm not in ("PPO", "A2C", "SAC", "TD3", "RecurrentPPO"):
            raise ValueError(f"algorithm must be PPO, A2C, SAC, TD3 or RecurrentPPO, got {self.algorithm!r}")
        for name in ("num_envs", "n_steps", "batch_size", "n_epochs", "max_turns", "hidden_dim", "embed_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.basis_k < 0:
            raise ValueError(f"basis_k must be 0 (the full space) or a number of components, got {self.basis_k}")

    @property
    def label(self) -> str:
        """A name for the leaderboard, e.g. "SB3 RecurrentPPO, feedback extractor, PCA-32 residual query"."""
        reads = "feedback extractor" if self.extractor else "default policy"
        acts = (f"PCA-{self.basis_k} {'residual ' if self.residual else ''}query" if self.basis_k
                else "256-d query")
        return f"SB3 {self.algorithm}, {reads}, {acts}"

    def basis(self, features: np.ndarray) -> QueryBasis | None:
        return QueryBasis.pca(features, self.basis_k, self.spread, self.residual) if self.basis_k else None

    def policy_kwargs(self, image_scale: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"net_arch": list(self.net_arch)}
        if self.extractor:
            kwargs["features_extractor_class"] = FeedbackExtractor
            kwargs["features_extractor_kwargs"] = {"hidden_dim": self.hidden_dim, "embed_dim": self.embed_dim,
                                                   "image_scale": round(image_scale, 4)}
        if self.algorithm in ("PPO", "A2C", "RecurrentPPO"):
            kwargs["log_std_init"] = self.log_std_init
        return kwargs

    def make(self, venv: SB3VecEnv, image_scale: float, seed: int, device: str,
             tensorboard_log: str | None = None) -> BaseAlgorithm:
        """The SB3 algorithm on `venv`, with this recipe's settings."""
        cls = ALGORITHMS[self.algorithm]
        policy = "MultiInputLstmPolicy" if self.algorithm == "RecurrentPPO" else "MultiInputPolicy"
        common = dict(policy_kwargs=self.policy_kwargs(image_scale), seed=seed, device=device, verbose=0,
                      learning_rate=self.learning_rate, gamma=self.gamma, tensorboard_log=tensorboard_log)
        if self.algorithm in ("PPO", "RecurrentPPO"):
            return cls(policy, venv, n_steps=self.n_steps, batch_size=self.batch_size, n_epochs=self.n_epochs,
                       ent_coef=self.ent_coef, **common)
        if self.algorithm == "A2C":
            return cls(policy, venv, n_steps=self.n_steps, ent_coef=self.ent_coef, **common)
        return cls(policy, venv, batch_size=self.batch_size, train_freq=1, gradient_steps=self.n_epochs,
                   learning_starts=self.batch_size, **common)


def train_sb3(catalog: Any, user: Any, vocabulary: Any, run_dir: str | Path, timesteps: int,
              recipe: SB3Recipe = SB3Recipe(), seed: int = 0, device: str = "cpu",
              progress: bool = True) -> tuple[SB3Agent, float]:
    """Train `recipe` on the train split through `SB3VecEnv`, saved to `run_dir/checkpoint`.

    A finished run with at least `timesteps` steps and the same recipe and seed is loaded instead of
    retrained. Returns the agent and the training minutes (from the checkpoint when loaded). The
    training curve (every ~100,000 steps: the training dialogs' mean rank percentile at turns 1, 2 and 5)
    goes to `run_dir/curve.json` and TensorBoard (`run_dir/tb`). An interrupted run starts over: SB3
    keeps no resumable state that this project would load without unpickling.
    """
    checkpoint = Path(run_dir) / "checkpoint"
    settings = asdict(recipe)
    settings["net_arch"] = list(recipe.net_arch)
    if (checkpoint / "manifest.json").exists():
        art = verify_artifact(checkpoint, KIND)
        meta = art.meta
        if meta.get("num_timesteps", 0) >= timesteps and meta.get("seed") == seed and meta.get("recipe") == settings:
            return load_sb3(checkpoint, device=device), float(meta.get("train_minutes", 0.0))
    train_features = catalog.features[catalog.split_ids("train")]
    basis = recipe.basis(train_features)
    venv = SB3VecEnv(num_envs=recipe.num_envs, basis=basis, catalog=catalog, split="train", user=user,
                     vocabulary=vocabulary, max_turns=recipe.max_turns, device=device)
    venv.seed(seed)
    tb = str(Path(run_dir) / "tb")
    model = recipe.make(venv, feature_scale_of(train_features), seed, device, tensorboard_log=tb)
    curve = _CurveCallback(recipe.num_envs, Path(run_dir) / "curve.json")
    callbacks: list[BaseCallback] = [curve] + ([_TqdmCallback(timesteps)] if progress else [])
    t0 = time.perf_counter()
    model.learn(total_timesteps=timesteps, callback=callbacks, tb_log_name=recipe.algorithm)
    minutes = (time.perf_counter() - t0) / 60
    save_sb3(model, checkpoint, basis=basis,
             meta={"seed": seed, "train_minutes": round(minutes, 2), "max_turns": recipe.max_turns,
                   "recipe": settings, "steps_per_second": round(model.num_timesteps / (60 * minutes), 1)})
    return SB3Agent(model, basis), minutes


class _CurveCallback(BaseCallback):
    """The training dialogs' mean rank percentile at turns 1, 2 and 5, every ~100,000 steps (JSON and TensorBoard)."""

    TURNS = (1, 2, 5)

    def __init__(self, num_envs: int, path: Path, every: int = 100_000):
        super().__init__()
        self.turn = np.zeros(num_envs, dtype=np.int64)
        self.path, self.every = path, every
        self.sums = {t: [0.0, 0] for t in self.TURNS}
        self.points: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        self.next = every

    def _on_step(self) -> bool:
        self.turn += 1
        infos, dones = self.locals["infos"], self.locals["dones"]
        for t in self.TURNS:
            for i in np.flatnonzero(self.turn == t):
                self.sums[t][0] += infos[i]["rank_percentile"]
                self.sums[t][1] += 1
        self.turn[np.asarray(dones, dtype=bool)] = 0
        if self.num_timesteps >= self.next:
            self.next += self.every
            self._point()
        return True

    def _point(self) -> None:
        minutes = round((time.perf_counter() - self.t0) / 60, 2)
        point: dict[str, Any] = {"steps": int(self.num_timesteps), "minutes": minutes}
        for t, (total, count) in self.sums.items():
            if count:
                point[f"pct_t{t}"] = round(100 * total / count, 2)
                self.logger.record(f"dialog/rank_percentile_t{t}", total / count)
        self.sums = {t: [0.0, 0] for t in self.TURNS}
        self.points.append(point)
        write_json({"points": self.points}, self.path)

    def _on_training_end(self) -> None:
        last = self.points[-1]["steps"] if self.points else 0
        enough = not self.points or self.num_timesteps - last >= self.every // 2
        if enough and any(count for _, count in self.sums.values()):
            self._point()  # the run's last stretch, if it holds enough dialogs for a point (or is the only one)


class _TqdmCallback(BaseCallback):
    """A tqdm bar over environment steps (SB3's own bar needs `rich`)."""

    def __init__(self, total: int):
        super().__init__()
        self.total = total

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, desc="PPO", unit="step")

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()
