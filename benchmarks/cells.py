"""The main job's grid as cells: every training run and every protocol evaluation is a function of plain data,
run one after another in this process (the default) or as Ray tasks on a local Ray instance or a cluster.

    grid = Grid(world, trainings, evaluations)     # what to train, what to evaluate with which user
    done = grid.run(context)                       # in this process, with the objects the driver has loaded
    done = grid.run_on_ray(address=None)           # one Ray task per cell; None: a local Ray instance
    done.results, done.cells                       # the RunResults, and each cell's wall seconds

A `TrainCell` is one training run (a dialog-manager method or the SB3 recipe, one user, one seed); policy
improvement and SCST start from the triplet-SL run of their user and seed, and on Ray their task takes the SL
task's result as an argument, so Ray starts them when it has finished. An `EvalCell` is one agent with one
evaluation user through the protocol, written to one results file (reused while it still fits the agent, the
user and the catalog); a learned agent's cell takes its training cell's result.

On Ray, the artifacts (catalog, vocabulary, captioner, attribute estimates) must be built before the grid, as
the main job does in its driver: every task loads them from the data home, which on a cluster must be a shared
file system at the same path on every node, like the runs and results folders (the driver passes absolute
paths). Each task declares its resources: `num_cpus` = the torch threads it runs with (`threads`, 1 by
default), `num_gpus` where the device is cuda. A task whose worker dies is retried (`max_retries`); a training
run resumes from its last epoch checkpoint (`agents.training`: every epoch's random streams come from the seed
and the epoch, so the resumed run ends where an uninterrupted one does). The SB3 recipe keeps no resumable state
and starts over. The driver prints one line per finished cell with a running count.

Fault injection, for the retry test: with `SHOE_RETRIEVAL_KILL_AFTER_CHECKPOINT` set to a file path that does
not exist yet, a dialog-manager training cell writes that file and kills its own process (`os._exit`) as soon
as it has written its first epoch checkpoint.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from agents import policy_improvement, scst, triplet_sl
from agents.baselines import NearestNeighbourAgent, RandomAgent
from agents.dialog_manager import DialogManagerAgent
from agents.rocchio import RocchioAgent
from agents.sb3 import SB3Recipe, load_sb3, train_sb3
from agents.training import STATE, saved_state
from agents.whittlesearch import WhittleSearchAgent
from benchmarks.protocol import ProtocolConfig, evaluate
from benchmarks.results import AgentInfo, RunResult, make_result, reusable_result, write_result
from simulators import registry
from simulators.cache import DATA_HOME_ENV, content_hash, data_home, write_json
from simulators.catalog.estimators import load_attribute_estimates
from simulators.extras import missing_extra

METHODS = ("triplet_sl", "policy_improvement", "scst")
"""The dialog manager's training methods; "sb3" (the SB3 recipe) is the grid's fourth learned method."""
LABELS = {"triplet_sl": "SL (triplet)", "policy_improvement": "policy improvement", "scst": "RL-SCST"}
BASELINES = ("nearest-neighbour", "random", "whittlesearch", "rocchio")
"""The training-free agents of the grid."""
KILL_ENV = "SHOE_RETRIEVAL_KILL_AFTER_CHECKPOINT"


@dataclass(frozen=True)
class Profile:
    """Training budgets of the main job."""

    name: str
    sl_epochs: int
    pi_epochs: int
    pi_max_batches: int
    scst_epochs: int
    scst_max_batches: int
    ppo_timesteps: int
    eval_dialogs: int
    """Test-subset dialogs evaluated after every training epoch (0: none)."""
    runs: str
    """Folder of the training runs."""
    populations: tuple[str, ...] = ()
    """Populations of users (registry names joined by "+") the dialog managers are also trained with."""


@dataclass(frozen=True)
class World:
    """What every cell runs on, loaded from the data home (built by the driver before the grid)."""

    catalog: Any
    """What `simulators.registry.load_catalog` takes: a catalog name, config or JSON path."""
    catalog_name: str
    """The catalog name the training runs' arguments take."""
    seed: int
    """The users' and the protocol's seed (the main job's --seed)."""
    device: str = "cpu"
    captions: str | None = None
    """The human caption files' folder (None: the default places)."""
    threads: int = 0
    """torch CPU threads per cell (0: torch's choice; on Ray, 1)."""
    catalog_hash: str | None = None
    """The catalog artifact's content hash, for reusing results files."""
    data_home: str = ""
    """The data home (absolute; "" = this process's `simulators.cache.data_home()`)."""
    workdir: str = ""
    """The folder relative run and results paths start from (a Ray task changes into it; "" = this process's)."""


@dataclass(frozen=True)
class TrainCell:
    """One training run: `method` (METHODS or "sb3") with `user` and `seed` in `run_dir`."""

    method: str
    user: str
    seed: int
    run_dir: str
    budget: int
    """Epochs (a dialog-manager method) or environment steps (sb3)."""
    max_batches: int = 0
    eval_dialogs: int = 0
    profile: str = "quick"

    @property
    def name(self) -> str:
        return f"{self.method}-{self.user}-s{self.seed}"

    @property
    def after(self) -> str | None:
        """The cell this one starts from: the triplet-SL run of its user and seed (policy improvement, SCST)."""
        return f"triplet_sl-{self.user}-s{self.seed}" if self.method in ("policy_improvement", "scst") else None

    @property
    def label(self) -> str:
        return f"{LABELS.get(self.method, 'the SB3 recipe')} with {self.user}, seed {self.seed}"


@dataclass(frozen=True)
class EvalCell:
    """One agent with one evaluation user through the protocol, written to the results file `path`."""

    info: AgentInfo
    """The agent as the results file names it (a learned agent's checkpoint hash and minutes are filled in from
    its training)."""
    agent: str
    """"manager" or "sb3" (from `trained_by`'s checkpoint), or one of BASELINES."""
    user: str
    path: str
    trained_by: str | None = None
    """The TrainCell (by name) whose checkpoint is evaluated."""
    checkpoint: str | None = None
    """Or a finished run's checkpoint, evaluated as it is (no training cell: the robustness grid)."""

    @property
    def name(self) -> str:
        return f"{self.info.name} / {self.user}"


@dataclass(frozen=True)
class Trained:
    """A finished training cell: its checkpoint, training minutes (across resumes) and how it began."""

    checkpoint: str
    minutes: float
    resumed_after: int | None = None
    """The epoch of the checkpoint this attempt resumed from (None: it started fresh or found the run done)."""
    wall_seconds: float = 0.0
    """The wall time of the Ray task that finished the cell (0 in this process: the caller times it)."""


@dataclass
class Context:
    """The loaded world of one process: catalog, vocabulary and users (made on first use)."""

    world: World
    catalog: Any
    vocabulary: Any
    users: dict[str, Any] = field(default_factory=dict)
    progress: bool = False

    @classmethod
    def load(cls, world: World, progress: bool = False) -> Context:
        catalog = registry.load_catalog(world.catalog, device=world.device, progress=progress)
        return cls(world, catalog, registry.load_vocabulary(catalog), progress=progress)

    def user(self, name: str) -> Any:
        if name not in self.users:
            self.users[name] = registry.make_user(name, self.catalog, seed=self.world.seed, device=self.world.device,
                                                  progress=self.progress, vocabulary=self.vocabulary,
                                                  captions=self.world.captions)
        return self.users[name]


def training_cells(profile: Profile, methods: list[str], users: list[str], seeds: list[int],
                   sb3_user: str | None) -> list[TrainCell]:
    """The grid's training runs, each SL run before the runs that start from it: for every seed, every user and
    every dialog-manager method in `methods`, then the SB3 recipe with `sb3_user` ("sb3" in `methods`)."""
    budgets = {"triplet_sl": (profile.sl_epochs, 0), "policy_improvement": (profile.pi_epochs, profile.pi_max_batches),
               "scst": (profile.scst_epochs, profile.scst_max_batches)}
    unknown = sorted(set(methods) - {*METHODS, "sb3"})
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected some of {[*METHODS, 'sb3']}")
    cells = []
    for seed in seeds:
        for user in users:
            for method in METHODS:
                if method in methods:
                    epochs, max_batches = budgets[method]
                    cells.append(TrainCell(method, user, seed, str(Path(profile.runs) / f"{method}-{user}-s{seed}"),
                                           epochs, max_batches, profile.eval_dialogs, profile.name))
        if "sb3" in methods and sb3_user is not None:
            cells.append(TrainCell("sb3", sb3_user, seed, str(Path(profile.runs) / f"sb3-{sb3_user}-s{seed}"),
                                   profile.ppo_timesteps, profile=profile.name))
    return cells


def train(cell: TrainCell, world: World, context: Context | None = None, after: Trained | None = None,
          progress: bool = False) -> Trained:
    """Run one training cell to its budget: resumed from its last checkpoint, or found finished. `after` is the
    result of the cell it starts from (`cell.after`), which must have finished first."""
    if cell.after is not None and after is None:
        raise ValueError(f"{cell.name} starts from {cell.after}: train that cell first and pass its result")
    if cell.method == "sb3":
        context = context or Context.load(world)
        print(f"\n-- SB3 through SB3VecEnv with the {cell.user} user ({cell.budget:,} steps, {cell.profile} profile)")
        _, minutes = train_sb3(context.catalog, context.user(cell.user), context.vocabulary, cell.run_dir,
                               cell.budget, recipe=SB3Recipe(), seed=cell.seed, device=world.device, progress=progress)
        return Trained(str(Path(cell.run_dir) / "checkpoint"), minutes)
    checkpoint = Path(cell.run_dir) / "checkpoint"
    state_path = checkpoint / STATE
    resumed_after = None
    saved = saved_state(cell.run_dir)
    if saved is not None:
        if saved.epoch + 1 >= cell.budget:
            return Trained(str(checkpoint), saved.train_seconds / 60)
        resumed_after = saved.epoch
    common = {"catalog": world.catalog_name, "user": cell.user, "seed": cell.seed, "device": world.device,
              "epochs": cell.budget, "eval_dialogs": cell.eval_dialogs, "run_dir": cell.run_dir, "resume": True,
              "progress": progress, "captions": world.captions or "", "threads": world.threads}
    if cell.method == "triplet_sl":
        args: Any = triplet_sl.TripletSLArgs(**common)
    elif cell.method == "policy_improvement":
        args = policy_improvement.PolicyImprovementArgs(**common, max_batches=cell.max_batches)
    else:
        args = scst.SCSTArgs(**common, max_batches=cell.max_batches)
    print(f"\n-- training {LABELS[cell.method]} with the {cell.user} user ({cell.profile} profile) in {cell.run_dir}")
    stop_watching = _kill_after_checkpoint(state_path, resumed_after)
    try:
        args.train()
    finally:
        stop_watching()
    state = json.loads(state_path.read_text(encoding="utf-8"))
    return Trained(str(checkpoint), state["train_seconds"] / 60, resumed_after)


def evaluate_cell(cell: EvalCell, world: World, context: Context | None = None, trained: Trained | None = None,
                  progress: bool = False) -> RunResult:
    """The cell's results file: reused if it still fits the agent, the user and the catalog, else the agent is
    evaluated on the protocol and the file written."""
    if cell.trained_by is not None and trained is None:
        raise ValueError(f"{cell.name} evaluates {cell.trained_by}: train that cell first and pass its result")
    if cell.checkpoint is not None and trained is None:
        state = json.loads((Path(cell.checkpoint) / STATE).read_text(encoding="utf-8"))
        trained = Trained(cell.checkpoint, state["train_seconds"] / 60)
    context = context or Context.load(world)
    info = cell.info
    if trained is not None:
        info = info.model_copy(update={"checkpoint_sha256": content_hash(trained.checkpoint),
                                       "train_minutes": round(trained.minutes, 2)})
    user = context.user(cell.user)
    cached = reusable_result(cell.path, info, registry.user_fingerprint(user), world.catalog_hash)
    if cached is not None:
        return cached
    evaluation = evaluate(make_agent(cell, context, trained), context.catalog, user, ProtocolConfig(seed=world.seed),
                          agent_name=info.name, user_name=cell.user, device=world.device,
                          vocabulary=context.vocabulary, progress=progress)
    result = make_result(evaluation, context.catalog, info, user, cell.user, world.device)
    write_result(result, cell.path)
    return result


def make_agent(cell: EvalCell, context: Context, trained: Trained | None) -> Any:
    """The agent an evaluation cell runs: loaded from its training's checkpoint, or a training-free baseline."""
    catalog, vocabulary, device = context.catalog, context.vocabulary, context.world.device
    split_ids = catalog.split_ids("test")
    if cell.agent == "manager":
        agent = DialogManagerAgent.load(trained.checkpoint, catalog, vocabulary, device=device)
        agent.use_split("test")
        return agent
    if cell.agent == "sb3":
        return load_sb3(trained.checkpoint, device=device)
    if cell.agent == "nearest-neighbour":
        return NearestNeighbourAgent()
    if cell.agent == "random":
        return RandomAgent(len(split_ids), seed=context.world.seed)
    if cell.agent == "whittlesearch":  # SynthShoes's hand-crafted estimates, or a real catalog's attribute file
        values = load_attribute_estimates(catalog, "handcrafted") if catalog.params is not None else catalog.attributes
        return WhittleSearchAgent(values[split_ids], vocabulary, features=catalog.features[split_ids])
    if cell.agent == "rocchio":
        return RocchioAgent(vocabulary)
    raise ValueError(f"unknown agent kind {cell.agent!r}; expected manager, sb3 or one of {BASELINES}")


@dataclass
class GridRun:
    """What a grid run gives: the results (in the evaluation cells' order) and each cell's wall seconds."""

    results: list[RunResult]
    cells: list[dict[str, Any]]
    """One entry per cell: name, kind ("train" / "eval"), after (the cell it waited for), seconds, and for a
    training cell the epoch it resumed after."""
    wall_seconds: float
    mode: str
    """"sequential" or "ray"."""

    def write(self, path: str | Path) -> Path:
        return write_json({"mode": self.mode, "wall_seconds": round(self.wall_seconds, 2), "cells": self.cells}, path)


@dataclass
class Grid:
    """The training cells and the evaluation cells of one job, on one world."""

    world: World
    trainings: list[TrainCell]
    evaluations: list[EvalCell]

    def __post_init__(self) -> None:
        names = {c.name for c in self.trainings}
        for cell in self.trainings:
            if cell.after is not None and cell.after not in names:
                raise ValueError(f"{cell.name} starts from {cell.after}, which is not in the grid")
        for cell in self.evaluations:
            if cell.trained_by is not None and cell.trained_by not in names:
                raise ValueError(f"{cell.name} evaluates {cell.trained_by}, which is not in the grid")
        order = [c.name for c in self.trainings]
        for cell in self.trainings:
            if cell.after is not None and order.index(cell.after) > order.index(cell.name):
                raise ValueError(f"{cell.name} comes before {cell.after}, the cell it starts from")

    def run(self, context: Context, progress: bool = True) -> GridRun:
        """Every cell in this process, in order, with the driver's loaded objects."""
        t0 = time.perf_counter()
        trained: dict[str, Trained] = {}
        cells = []
        for cell in self.trainings:
            start = time.perf_counter()
            trained[cell.name] = train(cell, self.world, context, trained.get(cell.after or ""), progress)
            cells.append(_train_entry(cell, trained[cell.name], time.perf_counter() - start))
        results = []
        for cell in self.evaluations:
            start = time.perf_counter()
            results.append(evaluate_cell(cell, self.world, context, trained.get(cell.trained_by or ""), progress))
            cells.append(_eval_entry(cell, time.perf_counter() - start))
        return GridRun(results, cells, time.perf_counter() - t0, "sequential")

    def run_on_ray(self, address: str | None = None, max_retries: int = 3, num_gpus: float | None = None) -> GridRun:
        """Every cell as a Ray task (see the module docstring), on the Ray instance this process is connected to,
        else one started locally (`address` None) or the cluster at `address` ("auto": the one `ray start`
        started on this machine). Prints one line per finished cell."""
        try:
            import ray
        except ImportError as err:
            raise missing_extra("ray", "ray", "the grid on Ray (--ray)") from err
        threads = self.world.threads or 1
        world = replace(self.world, threads=threads, data_home=self.world.data_home or str(data_home().resolve()),
                        workdir=self.world.workdir or os.getcwd())
        gpus = num_gpus if num_gpus is not None else (1.0 if world.device.startswith("cuda") else 0.0)
        started = not ray.is_initialized()
        if started:
            if address:
                ray.init(address=address)
            else:
                ray.init(include_dashboard=False)
        try:
            options = {"num_cpus": threads, "num_gpus": gpus, "max_retries": max_retries}
            train_task = ray.remote(_train_task).options(**options)
            eval_task = ray.remote(_eval_task).options(**options)
            t0 = time.perf_counter()
            refs: dict[str, Any] = {}
            pending: dict[Any, tuple[str, Any]] = {}
            for cell in self.trainings:
                refs[cell.name] = train_task.remote(cell, world, refs.get(cell.after or ""))
                pending[refs[cell.name]] = ("train", cell)
            eval_refs = []
            for cell in self.evaluations:
                ref = eval_task.remote(cell, world, refs.get(cell.trained_by or ""))
                eval_refs.append(ref)
                pending[ref] = ("eval", cell)
            total, done, cells = len(pending), 0, []
            print(f"\n== The grid on Ray: {len(self.trainings)} training runs and {len(self.evaluations)} evaluations "
                  f"as tasks of {threads} CPU{'s' * (threads > 1)}{f' and {gpus:g} GPU' if gpus else ''} each "
                  f"({ray.cluster_resources().get('CPU', 0):g} CPUs in the cluster)", flush=True)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    kind, cell = pending.pop(ref)
                    value = ray.get(ref)
                    done += 1
                    if kind == "train":
                        seconds = value.wall_seconds
                        cells.append(_train_entry(cell, value, seconds))
                        how = "" if value.resumed_after is None else f", resumed after epoch {value.resumed_after}"
                        what = f"trained {cell.label} ({seconds:.1f} s{how})"
                    else:
                        value, seconds = value
                        cells.append(_eval_entry(cell, seconds))
                        what = f"evaluated {cell.name} ({seconds:.1f} s)"
                    print(f"[{done:>{len(str(total))}}/{total}] {what}", flush=True)
            results = [ray.get(ref)[0] for ref in eval_refs]
            return GridRun(results, cells, time.perf_counter() - t0, "ray")
        finally:
            if started:
                ray.shutdown()


def _train_entry(cell: TrainCell, trained: Trained, seconds: float) -> dict[str, Any]:
    return {"name": cell.name, "kind": "train", "method": cell.method, "after": cell.after,
            "seconds": round(seconds, 3), "resumed_after": trained.resumed_after}


def _eval_entry(cell: EvalCell, seconds: float) -> dict[str, Any]:
    return {"name": cell.name, "kind": "eval", "agent": cell.agent, "after": cell.trained_by,
            "seconds": round(seconds, 3)}


def _in_task(world: World) -> None:
    """A Ray task's preamble: the driver's data home and working folder, and the cell's thread count."""
    os.environ[DATA_HOME_ENV] = world.data_home
    os.chdir(world.workdir)
    torch.set_num_threads(world.threads)


def _train_task(cell: TrainCell, world: World, after: Trained | None) -> Trained:
    t0 = time.perf_counter()
    _in_task(world)
    return replace(train(cell, world, after=after), wall_seconds=time.perf_counter() - t0)


def _eval_task(cell: EvalCell, world: World, trained: Trained | None) -> tuple[RunResult, float]:
    t0 = time.perf_counter()
    _in_task(world)
    return evaluate_cell(cell, world, trained=trained), time.perf_counter() - t0


def _kill_after_checkpoint(state_path: Path, resumed_after: int | None) -> Callable[[], None]:
    """Fault injection (KILL_ENV): once this attempt has written a checkpoint, write the marker and kill the
    process, mid-way through the next epoch. Returns the function that stops the watch."""
    marker = os.environ.get(KILL_ENV)
    stop = threading.Event()
    if not marker or Path(marker).exists():
        return stop.set
    start = -1 if resumed_after is None else resumed_after

    def watch() -> None:
        while not stop.wait(0.005):
            try:
                epoch = json.loads(state_path.read_text(encoding="utf-8"))["epoch"]
            except (OSError, ValueError, KeyError):
                continue
            if epoch > start:
                Path(marker).write_text(json.dumps({"killed_after_epoch": epoch, "pid": os.getpid()}),
                                        encoding="utf-8")
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    return stop.set
