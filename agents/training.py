"""What the dialog manager's three training methods share: arguments, the run folder, checkpoints and resume,
the per-epoch evaluation, TensorBoard logging, timing, and the dialogs an epoch is made of.

A run lives in `runs/<method>-<user>-s<seed>/` (or `--run-dir`):
- `checkpoint/`: the latest epoch (safetensors weights, config.json, `training_state.pt` with the
  optimiser state, `state.json` with the epoch, the history and the seeds), written atomically
  with a checksummed manifest; `--resume` continues from it;
- `tb/`: TensorBoard logs (`losses/`, `charts/`, `eval/`).
Every random stream of epoch e (its dialogs, the users' generators, candidate sampling, negatives)
is derived from (seed, method, e), so a run resumed after epoch e draws exactly what an
uninterrupted run draws.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from agents.dialog_manager import DialogManagerAgent
from agents.returns import check_return
from envs.evaluation import protocol_first_candidates, run_dialogs
from envs.ranking import cumulative_hits, rank_percentile, resolve_device
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import CorruptArtifactError, verify_artifact
from simulators.cli import add_config_arguments, config_from_args
from simulators.seeding import make_rng, seed_from

EVAL_TURNS = (1, 2, 3, 5)
TRAINING_STATE = "training_state.pt"
STATE = "state.json"


@dataclass(frozen=True)
class TrainArgs:
    """Arguments every training method of the dialog manager takes."""

    catalog: str = "full"
    """Catalog name: "full" (the protocol's SynthShoes) or "tiny" (64 items, for smoke runs)."""
    user: str = "captioner"
    """Simulated user to train with (a name in simulators.registry.USER_NAMES)."""
    seed: int = 0
    """Seed of initialisation, dialogs, sampling and the users' generators."""
    device: str = "cpu"
    """"cpu", "cuda" or "auto"."""
    threads: int = 0
    """torch CPU threads (0: torch's default)."""
    epochs: int = 10
    """Passes over the train split's targets (every train image is a target once per epoch)."""
    batch_size: int = 128
    """Dialogs per gradient step."""
    lr: float = 1e-3
    """Adam learning rate."""
    max_turns: int = 5
    """Turns of a training dialog."""
    eval_dialogs: int = 512
    """Protocol dialogs of the test split (a fixed subset) evaluated after every epoch (0: none)."""
    run_dir: str = ""
    """Folder of the run (default runs/<method>-<user>-s<seed>)."""
    resume: bool = False
    """Continue an interrupted run from its last checkpoint."""
    hard_negatives: int = 16
    """Hard-negative pool M of the triplet loss (SL's loss, the fine-tuning methods' anchor): each turn adds a
    term against an image drawn from the M nearest to s_t other than the target (0: random negatives only,
    the paper's; 16, the default, nearly doubled SL's Hits@10 at turn 5: README)."""
    max_batches: int = 0
    """Stop each epoch after this many batches (0: the whole split; for smoke runs and tests)."""
    progress: bool = True
    """Show a progress bar."""


@dataclass(frozen=True)
class FineTuneArgs(TrainArgs):
    """Arguments of the methods that start from the triplet-SL manager (RL-SCST, policy improvement)."""

    lr: float = 1e-4
    """Adam learning rate."""
    init: str = ""
    """Checkpoint to start from (default: the SL run of the same user and seed, runs/triplet_sl-<user>-s<seed>)."""
    top_k: int = 4
    """Candidates per turn: the K nearest unseen images to s_t."""
    grad_clip: float = 10.0
    """Clip the gradient's global norm to this."""
    return_name: Literal["percentile", "log-rank", "top-10"] = field(default="top-10", metadata={"flag": "return"})
    """`--return`: what a dialog's turns earn (agents.returns): "percentile", the paper's summed rank percentile
    (the env's reward); "log-rank", 1 - log(1 + rank) / log(N); "top-10", 1 when the target is in the top 10
    (the default: the percentile is saturated here and barely tells a rank of 3 from one of 300)."""

    selection_head: bool = True
    """Choose the image to show with a selection head (DialogManagerConfig.selection_head, started as a copy of
    the query head) that the policy's loss trains, while only the anchor trains the query; False: the paper's
    manager, where the policy's loss moves s_t itself."""
    candidate_scorer: int = 0
    """Choose the image to show with a residual candidate scorer of this width instead of the selection head
    (DialogManagerConfig.candidate_scorer; 0: none). It reads the candidates' rank, distance to s_t and to the
    images already shown, which a point in feature space cannot."""
    selection_lr: float = 1e-3
    """Adam learning rate of the selection head or scorer (a new objective, learnt faster than the rest)."""

    def __post_init__(self) -> None:
        check_return(self.return_name)

    def init_checkpoint(self, run_dir: Path) -> str:
        """`init`, or the SL run's checkpoint beside `run_dir`."""
        return self.init or str(run_dir.parent / f"triplet_sl-{self.user}-s{self.seed}" / "checkpoint")


def parse_args(cls: type, argv: list[str] | None, description: str) -> Any:
    """A method's argument dataclass from the command line (every field a flag, `--help` lists the defaults)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, cls)
    return config_from_args(parser.parse_args(argv), cls())


def command_line(cls: type, argv: list[str] | None, description: str) -> DialogManagerAgent:
    """`python -m agents.<method>`: parse the method's arguments, train, say where the checkpoint is."""
    agent = parse_args(cls, argv, description).train()
    print(f"checkpoint: {agent.path}")
    return agent


class Stopwatch:
    """Accumulated seconds per named section (`with watch("ranking"): ...`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t0

    def reset(self) -> dict[str, float]:
        out, self.seconds = dict(self.seconds), defaultdict(float)
        return out


class TimedUser:
    """A user that counts the seconds spent in `describe` (to split an iteration's time into its parts)."""

    def __init__(self, user: Any, watch: Stopwatch):
        self.user, self.watch = user, watch
        self.compares_with_previous = getattr(user, "compares_with_previous", False)

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray, rngs: Any = None,
                 **context: Any) -> list[str]:
        with self.watch("user"):
            return self.user.describe(target_ids, candidate_ids, rngs=rngs, **context)

    def reset(self, seed: int) -> None:
        self.user.reset(seed)


@dataclass
class RunState:
    """What a checkpoint remembers besides the weights and the optimiser."""

    epoch: int = -1
    """Last finished epoch (-1: none)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One entry per finished epoch: losses, evaluation, seconds."""
    train_seconds: float = 0.0
    """Training time so far, evaluation excluded, across resumes."""


class TrainingRun:
    """The shared machinery of one training run (see the module docstring)."""

    def __init__(self, args: TrainArgs, method: str, copies: int = 1):
        if args.threads:
            torch.set_num_threads(args.threads)
        self.args, self.method = args, method
        self.device = resolve_device(args.device)
        self.catalog = registry.load_catalog(args.catalog, device=self.device, progress=args.progress)
        self.vocabulary = registry.load_vocabulary(self.catalog)
        self.watch = Stopwatch()
        self.user = registry.make_user(args.user, self.catalog, seed=args.seed, device=self.device,
                                       progress=args.progress, vocabulary=self.vocabulary)
        n_train = len(self.catalog.train_ids)
        self.batch_size = min(args.batch_size, n_train)
        self.env = ShoeRetrievalVectorEnv(
            num_envs=copies * self.batch_size, catalog=self.catalog, split="train",
            user=TimedUser(self.user, self.watch), vocabulary=self.vocabulary, action_type="query_and_candidate",
            max_turns=args.max_turns, device=str(self.device), privileged=True)
        self.n_items = n_train
        self.features = torch.as_tensor(np.ascontiguousarray(self.catalog.features[self.catalog.train_ids]),
                                        dtype=torch.float32, device=self.device)  # (N_train, D), the env's positions
        self.run_dir = Path(args.run_dir or f"runs/{method}-{args.user}-s{args.seed}")
        self.checkpoint_dir = self.run_dir / "checkpoint"
        self.state = RunState()
        self._eval_env: ShoeRetrievalVectorEnv | None = None
        self._writer: SummaryWriter | None = None

    # ---- dialogs ------------------------------------------------------------------------------
    def epoch_rng(self, epoch: int, *stream: str) -> np.random.Generator:
        return make_rng(self.args.seed, self.method, "epoch", epoch, *stream)

    def torch_generator(self, epoch: int) -> torch.Generator:
        """The epoch's generator for candidate sampling and negatives (on the run's device)."""
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed_from(self.epoch_rng(epoch, "torch")))
        return gen

    def batches(self, epoch: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """The epoch's dialogs: (targets, first images, env seed) per batch; every train item a target once
        (the last partial batch dropped), in a seeded order, with seeded first images."""
        rng = self.epoch_rng(epoch, "dialogs")
        n = self.n_items
        order = rng.permutation(n)
        firsts = (order + rng.integers(1, n, size=n)) % n
        count = n // self.batch_size
        if self.args.max_batches:
            count = min(count, self.args.max_batches)
        seeds = rng.integers(0, 2**31 - 1, size=count)
        b = self.batch_size
        return [(order[i * b:(i + 1) * b], firsts[i * b:(i + 1) * b], int(seeds[i])) for i in range(count)]

    def reset(self, targets: np.ndarray, firsts: np.ndarray, seed: int) -> tuple[dict, dict]:
        """Start the batch's dialogs (`copies` times over, e.g. twice for SCST's sampled and greedy runs)."""
        reps = self.env.num_envs // len(targets)
        return self.env.reset(seed=seed, options={"target": np.tile(targets, reps),
                                                  "first_candidate": np.tile(firsts, reps)})

    def random_items(self, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
        return torch.randint(0, self.n_items, shape, generator=gen, device=self.device)

    # ---- agent, optimiser, checkpoints -----------------------------------------------------------
    def start(self, agent: DialogManagerAgent | None, init: str, lr: float, selection_head: bool = False,
              selection_lr: float | None = None, candidate_scorer: int = 0,
              **create: Any) -> tuple[DialogManagerAgent, torch.optim.Optimizer]:
        """The agent and its Adam optimiser: resumed from the run's checkpoint (--resume), else `agent`, else
        loaded from `init` (a checkpoint folder), else freshly created with `create` (architecture fields);
        with `selection_head` (or `candidate_scorer` > 0), a manager that does not choose its images gets a
        selection head (or a scorer of that width; `DialogManagerAgent.with_selection_head`), trained at
        `selection_lr` (default `lr`)."""
        if self.args.resume and (self.checkpoint_dir / "manifest.json").exists():
            agent = DialogManagerAgent.load(self.checkpoint_dir, self.catalog, self.vocabulary, device=self.device)
            optimizer = _adam(agent, lr, selection_lr)
            art = verify_artifact(self.checkpoint_dir)
            try:
                training = torch.load(art.file(TRAINING_STATE), map_location=self.device, weights_only=True)
            except Exception as err:  # noqa: BLE001 - any unreadable state is a damaged checkpoint
                raise CorruptArtifactError(f"{self.checkpoint_dir / TRAINING_STATE} is unreadable ({err})") from None
            optimizer.load_state_dict(training["optimizer"])
            state = json.loads(art.file(STATE).read_text(encoding="utf-8"))
            if state.get("args") != _resumable(asdict(self.args)):
                raise ValueError(f"{self.checkpoint_dir} was written with other arguments; resume with the same "
                                 f"ones or start a new --run-dir (saved: {state.get('args')})")
            self.state = RunState(state["epoch"], state["history"], state["train_seconds"])
            print(f"resuming {self.run_dir} after epoch {self.state.epoch}")
        else:
            if self.args.resume:
                print(f"nothing to resume in {self.checkpoint_dir}; starting a new run")
            if agent is None and init:
                if not (Path(init) / "manifest.json").exists():
                    raise FileNotFoundError(
                        f"no checkpoint at {init}; train the triplet-SL manager first, e.g. "
                        f"python -m agents.triplet_sl --user {self.args.user} --seed {self.args.seed}, or pass --init")
                agent = DialogManagerAgent.load(init, self.catalog, self.vocabulary, device=self.device)
            if agent is None:
                agent = DialogManagerAgent.create(self.catalog, self.vocabulary, device=self.device,
                                                  seed=seed_from(make_rng(self.args.seed, self.method, "init")),
                                                  **create)
            if selection_head or candidate_scorer:
                agent = agent.with_selection_head(candidate_scorer)
            optimizer = _adam(agent, lr, selection_lr)
        return agent, optimizer

    def save(self, agent: DialogManagerAgent, optimizer: torch.optim.Optimizer) -> Path:
        state = {"epoch": self.state.epoch, "history": self.state.history, "train_seconds": self.state.train_seconds,
                 "args": _resumable(asdict(self.args)), "method": self.method}

        def training_state(staging: Path) -> None:
            torch.save({"optimizer": optimizer.state_dict()}, staging / TRAINING_STATE)
            (staging / STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")

        extra = {"method": self.method, "user": self.args.user, "epoch": self.state.epoch,
                 "train_seconds": round(self.state.train_seconds, 1)}
        agent.meta.update(extra)
        return agent.save(self.checkpoint_dir, extra_files={"training": training_state})

    # ---- evaluation and logging --------------------------------------------------------------------
    def evaluate(self, agent: DialogManagerAgent) -> dict[str, float]:
        """Over a fixed subset of the protocol's test dialogs: mean rank percentile (`turn_t`) and cumulative
        Hits@10 (`hits10_turn_t`) at turns 1, 2, 3, 5, and Recall@10 at turn 5 (`recall10_turn_5`)."""
        if not self.args.eval_dialogs:
            return {}
        n_test = len(self.catalog.test_ids)
        count = min(self.args.eval_dialogs, n_test)
        if self._eval_env is None:
            self._eval_env = ShoeRetrievalVectorEnv(
                num_envs=min(count, 512), catalog=self.catalog, split="test", user=self.user,
                vocabulary=self.vocabulary, action_type=agent.action_type, max_turns=max(EVAL_TURNS),
                device=str(self.device))
        targets = np.sort(make_rng(0, "protocol", "training-subset").choice(n_test, count, replace=False))
        firsts = protocol_first_candidates(n_test, 0)[targets]
        agent.use_split("test")
        try:
            ranks = run_dialogs(agent, self._eval_env, targets, firsts, seed=0, max_turns=max(EVAL_TURNS))
        finally:
            agent.use_split("train")
            agent.reset_state()
        percentile = rank_percentile(ranks, n_test)
        hits = cumulative_hits(ranks, 10)
        return {**{f"turn_{t}": float(percentile[:, t].mean()) for t in EVAL_TURNS},
                **{f"hits10_turn_{t}": float(hits[:, t].mean()) for t in EVAL_TURNS},
                f"recall10_turn_{max(EVAL_TURNS)}": float((ranks[:, max(EVAL_TURNS)] < 10).mean())}

    @property
    def writer(self) -> SummaryWriter:
        if self._writer is None:
            self._writer = SummaryWriter(str(self.run_dir / "tb"))
        return self._writer

    def log(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def epochs(self, agent: DialogManagerAgent, optimizer: torch.optim.Optimizer,
               iteration: Any) -> DialogManagerAgent:
        """Run the remaining epochs: `iteration(epoch, batch_index, batch, generator) -> {name: value}` does one
        gradient step; after each epoch evaluate, log, checkpoint. Returns the trained agent."""
        # Two runs with the same arguments and thread count give the same weights: without the strict mode,
        # two 2-thread policy-improvement runs on the tiny catalog differed by 3e-6 after two batches (a
        # multi-threaded CPU kernel). On CUDA, where the strict mode needs extra cuBLAS settings, it only warns.
        before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
        torch.use_deterministic_algorithms(True, warn_only=self.device.type != "cpu")
        try:
            return self._epochs(agent, optimizer, iteration)
        finally:
            torch.use_deterministic_algorithms(before[0], warn_only=before[1])

    def _epochs(self, agent: DialogManagerAgent, optimizer: torch.optim.Optimizer,
                iteration: Any) -> DialogManagerAgent:
        args = self.args
        first = self.state.epoch + 1
        per_epoch = len(self.batches(first)) if first < args.epochs else 0
        bar = tqdm(total=(args.epochs - first) * per_epoch, desc=self.method, unit="batch",
                   disable=not args.progress)
        if first == 0 and args.eval_dialogs:
            self._log_eval(agent, 0, per_epoch, bar)
        for epoch in range(first, args.epochs):
            gen = self.torch_generator(epoch)
            sums: dict[str, float] = defaultdict(float)
            batches = self.batches(epoch)
            t0 = time.perf_counter()
            for i, batch in enumerate(batches):
                self.watch.reset()
                t_iter = time.perf_counter()
                values = iteration(epoch, i, batch, gen)
                parts = self.watch.reset()
                values["time/iteration_s"] = time.perf_counter() - t_iter
                values.update({f"time/{k}_s": v for k, v in parts.items()})
                step = epoch * per_epoch + i + 1
                self.log(step, {(k if "/" in k else f"losses/{k}"): v for k, v in values.items()})
                for k, v in values.items():
                    sums[k] += v
                bar.update(1)
                bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in list(values.items())[:3]})
            self.state.train_seconds += time.perf_counter() - t0
            self.state.epoch = epoch
            entry = {"epoch": epoch, **{k: v / len(batches) for k, v in sums.items()},
                     "train_seconds": round(self.state.train_seconds, 1)}
            entry.update(self._log_eval(agent, epoch + 1, per_epoch, bar))
            self.state.history.append(entry)
            self.save(agent, optimizer)
        bar.close()
        if self._writer is not None:
            self._writer.flush()
        return agent

    def _log_eval(self, agent: DialogManagerAgent, epochs_done: int, per_epoch: int, bar: tqdm) -> dict[str, float]:
        scores = self.evaluate(agent)
        step = epochs_done * per_epoch
        self.log(step, {f"eval/{k if k.startswith(('hits', 'recall')) else 'rank_percentile_' + k}": v
                        for k, v in scores.items()})
        self.log(step, {"charts/train_minutes": self.state.train_seconds / 60})
        if scores:
            tqdm.write(f"[{self.method}] after epoch {epochs_done}: test subset rank percentile "
                       + ", ".join(f"t={t} {100 * scores[f'turn_{t}']:.1f}%" for t in EVAL_TURNS)
                       + "; Hits@10 " + ", ".join(f"t={t} {100 * scores[f'hits10_turn_{t}']:.1f}%" for t in EVAL_TURNS)
                       + f" ({self.state.train_seconds / 60:.1f} min of training)")
        return {f"eval/{k}": v for k, v in scores.items()}


def _adam(agent: DialogManagerAgent, lr: float, selection_lr: float | None) -> torch.optim.Optimizer:
    """Adam over the manager's weights; the selection head and scorer (if any) in a group of their own at
    `selection_lr`."""
    heads = [m for m in (agent.model.selection, agent.model.scorer) if m is not None]
    if not heads:
        return torch.optim.Adam(agent.model.parameters(), lr=lr)
    own = [p for m in heads for p in m.parameters()]
    ids = {id(p) for p in own}
    rest = [p for p in agent.model.parameters() if id(p) not in ids]
    return torch.optim.Adam([{"params": rest}, {"params": own, "lr": selection_lr or lr}], lr=lr)


def frozen_copy(agent: DialogManagerAgent) -> torch.nn.Module:
    """A copy of the agent's network for rollouts: eval mode, no gradients."""
    model = copy.deepcopy(agent.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _resumable(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments a resumed run must share with the interrupted one."""
    return {k: v for k, v in args.items() if k not in ("resume", "progress", "threads", "epochs", "device")}
