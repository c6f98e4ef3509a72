"""Helpers the dialog manager's three training methods share; each method's file holds its own arguments and
its loop, which reads top to bottom:

    run = TrainingRun(args, METHOD)
    agent, optimizer = run.start(agent, init=..., lr=args.lr)
    with deterministic_algorithms(run.device):
        for epoch in run.remaining_epochs(agent):  # a new run first evaluates the agent it starts from
            gen = run.torch_generator(epoch)
            for targets, firsts, seed in run.batches(epoch):
                ...  # the dialogs and the gradient step
                run.log_step({"triplet": ...})
            run.end_epoch(agent, optimizer)  # evaluate, log, checkpoint
    run.finish()

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
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from agents.dialog_manager import DialogManagerAgent
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


def parse_args(cls: type, argv: list[str] | None, description: str) -> Any:
    """A method's argument dataclass from the command line (every field a flag, `--help` lists the defaults)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, cls)
    return config_from_args(parser.parse_args(argv), cls())


def sl_checkpoint(run_dir: Path, user: str, seed: int) -> str:
    """The checkpoint of the triplet-SL run of `user` and `seed` beside `run_dir` (where the fine-tuning methods
    start unless given `--init`)."""
    return str(run_dir.parent / f"triplet_sl-{user}-s{seed}" / "checkpoint")


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


@contextmanager
def deterministic_algorithms(device: torch.device) -> Iterator[None]:
    """torch's deterministic algorithms inside the block (warn-only off the CPU), the previous mode restored after.

    Two runs with the same arguments and thread count give the same weights: without the strict mode, two
    2-thread policy-improvement runs on the tiny catalog differed by 3e-6 after two batches (a multi-threaded
    CPU kernel). On CUDA, where the strict mode needs extra cuBLAS settings, it only warns."""
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


class TimedUser:
    """A user that counts the seconds spent in `describe` (to split an iteration's time into its parts)."""

    def __init__(self, user: Any, watch: Stopwatch):
        self.user, self.watch = user, watch
        self.compares_with_previous = getattr(user, "compares_with_previous", False)
        self.draws_per_dialog = getattr(user, "draws_per_dialog", False)
        if self.draws_per_dialog:
            self.draw_dialog = user.draw_dialog

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


def saved_state(run_dir: str | Path) -> RunState | None:
    """The state of a run's last checkpoint (its last finished epoch, history, training time), or None where the
    run has no checkpoint yet."""
    path = Path(run_dir) / "checkpoint" / STATE
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    return RunState(state["epoch"], state["history"], state["train_seconds"])


class TrainingRun:
    """The shared machinery of one training run (see the module docstring). `args` is the method's arguments;
    the run reads the fields every method declares: catalog, user, seed, device, threads, epochs, batch_size,
    max_turns, eval_dialogs, run_dir, captions, resume, max_batches, progress."""

    def __init__(self, args: Any, method: str, copies: int = 1):
        if args.threads:
            torch.set_num_threads(args.threads)
        self.args, self.method = args, method
        self.device = resolve_device(args.device)
        self.catalog = registry.load_catalog(args.catalog, device=self.device, progress=args.progress)
        self.vocabulary = registry.load_vocabulary(self.catalog)
        self.watch = Stopwatch()
        self.user = registry.make_user(args.user, self.catalog, seed=args.seed, device=self.device,
                                       progress=args.progress, vocabulary=self.vocabulary,
                                       captions=args.captions or None)
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
        # The epoch in progress: set by remaining_epochs and batches, read by log_step and end_epoch.
        self._bar: tqdm | None = None
        self._per_epoch = 0
        self._epoch, self._epoch_start, self._batches = -1, 0.0, 0
        self._step, self._step_start = 0, 0.0
        self._sums: dict[str, float] = defaultdict(float)

    # ---- dialogs ------------------------------------------------------------------------------
    def epoch_rng(self, epoch: int, *stream: str) -> np.random.Generator:
        return make_rng(self.args.seed, self.method, "epoch", epoch, *stream)

    def torch_generator(self, epoch: int) -> torch.Generator:
        """The epoch's generator for candidate sampling and negatives (on the run's device)."""
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed_from(self.epoch_rng(epoch, "torch")))
        return gen

    def dialogs(self, epoch: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
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

    def batches(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """The epoch's dialogs (`dialogs`), one batch at a time, each timed: the stopwatch restarts as a batch is
        handed out, and `log_step` reads it."""
        batches = self.dialogs(epoch)
        self._batches = len(batches)
        for i, batch in enumerate(batches):
            self._step = epoch * self._per_epoch + i + 1
            self.watch.reset()
            self._step_start = time.perf_counter()
            yield batch

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
                agent = agent.with_selection_head(
                    candidate_scorer, seed=seed_from(make_rng(self.args.seed, self.method, "selection")))
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

    def remaining_epochs(self, agent: DialogManagerAgent) -> Iterator[int]:
        """The epochs left to train (all, or those after the resumed checkpoint's), with a progress bar over their
        batches; a new run first evaluates and logs the agent it starts from. An epoch's training time runs
        from here to `end_epoch`."""
        first = self.state.epoch + 1
        self._per_epoch = len(self.dialogs(first)) if first < self.args.epochs else 0
        self._bar = tqdm(total=(self.args.epochs - first) * self._per_epoch, desc=self.method, unit="batch",
                         disable=not self.args.progress)
        if first == 0 and self.args.eval_dialogs:
            self._log_eval(agent, 0)
        for epoch in range(first, self.args.epochs):
            self._epoch, self._epoch_start = epoch, time.perf_counter()
            self._sums = defaultdict(float)
            yield epoch

    def log_step(self, values: dict[str, float]) -> None:
        """Log a gradient step's values (a name without a "/" goes under `losses/`) with its time and the
        stopwatch's sections (`time/`), add them to the epoch's means, and advance the progress bar."""
        parts = self.watch.reset()
        values = {**values, "time/iteration_s": time.perf_counter() - self._step_start,
                  **{f"time/{k}_s": v for k, v in parts.items()}}
        self.log(self._step, {(k if "/" in k else f"losses/{k}"): v for k, v in values.items()})
        for k, v in values.items():
            self._sums[k] += v
        self._bar.update(1)
        self._bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in list(values.items())[:3]})

    def end_epoch(self, agent: DialogManagerAgent, optimizer: torch.optim.Optimizer) -> None:
        """After the epoch's last step: add its means and its evaluation to the history, log, checkpoint."""
        self.state.train_seconds += time.perf_counter() - self._epoch_start
        self.state.epoch = self._epoch
        entry = {"epoch": self._epoch, **{k: v / self._batches for k, v in self._sums.items()},
                 "train_seconds": round(self.state.train_seconds, 1)}
        entry.update(self._log_eval(agent, self._epoch + 1))
        self.state.history.append(entry)
        self.save(agent, optimizer)

    def finish(self) -> None:
        """Close the progress bar and flush the TensorBoard logs."""
        if self._bar is not None:
            self._bar.close()
        if self._writer is not None:
            self._writer.flush()

    def _log_eval(self, agent: DialogManagerAgent, epochs_done: int) -> dict[str, float]:
        scores = self.evaluate(agent)
        step = epochs_done * self._per_epoch
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


def _resumable(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments a resumed run must share with the interrupted one."""
    return {k: v for k, v in args.items() if k not in ("resume", "progress", "threads", "epochs", "device", "captions")}
