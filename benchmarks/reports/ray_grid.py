"""The main job's grid on Ray against the sequential run: wall times, the same results, the paper grid on N machines.

    python -m benchmarks.reports.ray_grid                            # the quick profile on the full catalog
    python -m benchmarks.reports.ray_grid --catalog tiny --ppo-timesteps 256   # a smoke run
    python -m benchmarks.reports.ray_grid --machines 1 4 16 --cores-per-machine 16

Builds the world first (catalog, vocabulary, users: what the main job's steps 1-2 build), then runs
`python -m benchmarks.main` twice in fresh run and results folders under `--work`, with the same profile,
users, seeds and torch threads per cell: one after another in one process, then with `--ray` on a local Ray
instance (every CPU of this machine). It reports each run's wall time (the process) and its grid's (the
cells, from `grid-<profile>.json`), what Ray's scheduling costs (the Ray run's cells each load the world
from the data home, and Ray starts and stops), and whether the two runs wrote the same results files (the
metrics of every file; the timings and checkpoint hashes differ by nature).

From the Ray run's measured cells it then projects the paper profile's grid: the dialog manager's three
methods x the training users x `--paper-seeds` seeds (their training runs at the paper profile's budgets,
each evaluated with every training user), the baselines, and the robustness cells (every seed-0 run with
`--robustness-users` users), on N machines of `--cores-per-machine` cores, one cell per `--threads` cores.
A quick-profile measurement is scaled to the paper budgets through each run's seconds per batch (or per
step) from its `state.json`, plus the per-epoch evaluation of 512 test dialogs the paper profile logs
(scaled from the run's own protocol cells); the cells' loading overhead is kept as measured. The schedule
is Ray's: cells start in submission order as slots free up, each once the cell it waits for has finished.
It is a projection from one machine's cells, not a measurement on N machines.

Writes `results/ray_grid.json` and `results/ray_grid.md`.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.cells import BASELINES, METHODS
from benchmarks.cli import command_parser
from benchmarks.machine import cpu_model
from simulators import registry
from simulators.cache import write_json, write_text

PAPER_BUDGETS = {"triplet_sl": (16, 0), "policy_improvement": (3, 0), "scst": (5, 0)}
"""(epochs, max batches) of the paper profile (`benchmarks.main.PROFILES["paper"]`; 0: every batch)."""
PAPER_EVAL_DIALOGS = 512
"""Test dialogs the paper profile evaluates after every training epoch."""
ROBUSTNESS_USERS = 5
"""`benchmarks.reports.robustness.LANGUAGE_USERS`: the robustness matrix's evaluation users."""


@dataclass(frozen=True)
class Cell:
    """A cell of a projected grid: its name, seconds on one slot, and the cell it waits for."""

    name: str
    seconds: float
    after: str | None = None


def schedule(cells: list[Cell], slots: int) -> float:
    """The wall seconds of `cells` on `slots` parallel slots: whenever a slot is free, the first cell in list order
    whose dependency has finished starts on it (Ray's scheduling of ready tasks in submission order)."""
    if slots < 1:
        raise ValueError(f"slots must be at least 1, got {slots}")
    pending, running, finished = list(cells), [], {}
    now = 0.0
    while pending or running:
        ready = [c for c in pending if c.after is None or c.after in finished]
        for cell in ready[:slots - len(running)]:
            heapq.heappush(running, (now + cell.seconds, cell.name))
            pending.remove(cell)
        if not running:
            unknown = sorted({c.after for c in pending if c.after is not None} - {c.name for c in cells})
            raise ValueError(f"cells wait for cells that are not in the grid: {unknown}")
        now, name = heapq.heappop(running)
        finished[name] = now
    return now


def run_main(args: list[str], log: Path) -> float:
    """`python -m benchmarks.main ARGS` in a child process (its output to `log`); its wall seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run([sys.executable, "-m", "benchmarks.main", *args], stdout=out, stderr=subprocess.STDOUT,
                              check=False).returncode
    if code != 0:
        raise RuntimeError(f"benchmarks.main {' '.join(args)} failed (exit {code}); see {log}")
    return time.perf_counter() - t0


def results_metrics(folder: Path) -> dict[str, Any]:
    """Every results file's metrics, by file name."""
    return {p.name: json.loads(p.read_text(encoding="utf-8"))["metrics"] for p in sorted(folder.glob("*.json"))}


def paper_cells(measured: list[dict[str, Any]], runs: Path, n_train: int, n_test: int, users: list[str],
                seeds: int, robustness_users: int) -> list[Cell]:
    """The paper profile's grid from a run's measured cells (grid-<profile>.json entries): its training cells
    scaled to the paper budgets, every manager evaluated with every training user, the baselines, and the
    robustness cells of seed 0."""
    by_name = {c["name"]: c for c in measured}
    evals = [c for c in measured if c["kind"] == "eval"]

    def eval_seconds(user: str, agent: str = "manager") -> float:
        own = [c["seconds"] for c in evals if c["agent"] == agent and c["name"].endswith(f" / {user}")]
        if not own:  # a user the run did not evaluate with (robustness columns): the slowest of the run's users
            own = [max(c["seconds"] for c in evals if c["agent"] == agent)]
        return sum(own) / len(own)

    cells: list[Cell] = []
    for seed in range(seeds):
        for user in users:
            for method in METHODS:
                run = by_name.get(f"{method}-{user}-s0")
                if run is None:
                    raise ValueError(f"the measured grid has no {method}-{user}-s0 run to scale from")
                state = json.loads((runs / f"{method}-{user}-s0" / "checkpoint" / "state.json").read_text())
                batch = min(state["args"]["batch_size"], n_train)
                per_epoch = n_train // batch
                done = (state["epoch"] + 1) * min(per_epoch, state["args"].get("max_batches") or per_epoch)
                per_batch = state["train_seconds"] / max(done, 1)
                overhead = max(run["seconds"] - state["train_seconds"], 0.0)
                epochs, max_batches = PAPER_BUDGETS[method]
                batches = epochs * min(per_epoch, max_batches or per_epoch)
                subset = eval_seconds(user) * min(PAPER_EVAL_DIALOGS, n_test) / n_test
                name = f"{method}-{user}-s{seed}"
                after = f"triplet_sl-{user}-s{seed}" if method != "triplet_sl" else None
                cells.append(Cell(name, overhead + batches * per_batch + epochs * subset, after))
                for eval_user in users:
                    cells.append(Cell(f"{name} / {eval_user}", eval_seconds(eval_user), name))
    for c in evals:
        if c["agent"] in BASELINES:
            cells.append(Cell(c["name"], c["seconds"]))
    for user in users:
        for method in METHODS:
            for k in range(robustness_users):
                cells.append(Cell(f"robustness {method}-{user}-s0 / user {k}", eval_seconds(users[k % len(users)]),
                                  f"{method}-{user}-s0"))
    return cells


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--profile", default="quick", choices=["quick", "paper"])
    parser.add_argument("--users", nargs="+", default=None, help="training and evaluation users (default: the job's)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds of the measured runs")
    parser.add_argument("--methods", nargs="+", default=[*METHODS, "sb3"], choices=[*METHODS, "sb3"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per cell in both runs")
    parser.add_argument("--ppo-timesteps", type=int, default=None,
                        help="the SB3 agent's steps (default: the profile's)")
    parser.add_argument("--machines", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--cores-per-machine", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--paper-seeds", type=int, default=3)
    parser.add_argument("--robustness-users", type=int, default=ROBUSTNESS_USERS)
    parser.add_argument("--work", default="results/ray_grid", help="the two runs' folders (emptied first)")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    if any(m not in args.methods for m in METHODS):
        raise ValueError(f"the projection scales the measured runs of every method {METHODS}: keep them in --methods")

    # The world, built before either run is timed.
    catalog = registry.load_catalog(args.catalog, device=args.device, progress=not args.no_progress)
    vocabulary = registry.load_vocabulary(catalog)
    users = args.users or registry.default_users(catalog)
    for name in dict.fromkeys([*users, *(["attributes-10-handcrafted"] if catalog.params is not None else []),
                               "relevance"]):
        registry.make_user(name, catalog, device=args.device, progress=not args.no_progress, vocabulary=vocabulary)

    work = Path(args.work)
    common = ["--catalog", args.catalog, "--profile", args.profile, "--device", args.device, "--users", *users,
              "--seeds", *map(str, args.seeds), "--methods", *args.methods, "--threads", str(args.threads),
              "--no-progress"]
    if args.ppo_timesteps is not None:
        common += ["--ppo-timesteps", str(args.ppo_timesteps)]
    runs: dict[str, dict[str, Any]] = {}
    for mode, extra in (("sequential", []), ("ray", ["--ray"])):
        folder = work / mode
        shutil.rmtree(folder, ignore_errors=True)
        wall = run_main([*common, "--runs", str(folder / "runs"), "--out", str(folder / "out"), *extra],
                        folder / "log.txt")
        grid = json.loads((folder / "out" / f"grid-{args.profile}.json").read_text(encoding="utf-8"))
        runs[mode] = {"wall_seconds": round(wall, 1), "grid_seconds": round(grid["wall_seconds"], 1),
                      "cell_seconds": round(sum(c["seconds"] for c in grid["cells"]), 1), "cells": grid["cells"]}
        print(f"{mode:<10} process {wall:7.1f} s, grid {grid['wall_seconds']:7.1f} s, cells summed "
              f"{runs[mode]['cell_seconds']:7.1f} s ({len(grid['cells'])} cells)", flush=True)
    a = results_metrics(work / "sequential" / "out" / "runs" / args.profile)
    b = results_metrics(work / "ray" / "out" / "runs" / args.profile)
    identical = a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))

    ray_cells = runs["ray"]["cells"]
    cells = paper_cells(ray_cells, work / "ray" / "runs", len(catalog.train_ids), len(catalog.test_ids), users,
                        args.paper_seeds, args.robustness_users)
    slots_per_machine = max(args.cores_per_machine // args.threads, 1)
    projection = [{"machines": n, "slots": n * slots_per_machine,
                   "minutes": round(schedule(cells, n * slots_per_machine) / 60, 1)} for n in args.machines]
    work_minutes = sum(c.seconds for c in cells) / 60
    report = {"catalog": catalog.name, "profile": args.profile, "users": users, "seeds": args.seeds,
              "threads": args.threads, "machine": f"{cpu_model()}, {os.cpu_count()} cores", "runs": runs,
              "identical_results": identical, "differing_files": differing, "results_files": len(a),
              "ray_overhead_seconds": round(runs["ray"]["wall_seconds"] - runs["sequential"]["wall_seconds"], 1),
              "paper_grid": {"cells": len(cells), "seeds": args.paper_seeds, "work_minutes": round(work_minutes, 1),
                             "cores_per_machine": args.cores_per_machine, "projection": projection}}
    lines = [f"Grid of the {args.profile} profile on the {catalog.name} catalog ({report['machine']}; users "
             f"{', '.join(users)}; seeds {', '.join(map(str, args.seeds))}; {args.threads} torch thread(s) per cell):",
             "", "| run | process wall s | grid wall s | cells summed s |", "|---|---|---|---|"]
    lines += [f"| {mode} | {r['wall_seconds']} | {r['grid_seconds']} | {r['cell_seconds']} |"
              for mode, r in runs.items()]
    same = "yes" if identical else f"no: {differing}"
    lines += ["", f"Results files identical (metrics of all {len(a)}): {same}",
              "", f"Projected paper-profile grid ({len(cells)} cells, {work_minutes:.1f} min of cell time; "
              f"{args.cores_per_machine} cores per machine, {args.threads} per cell):", "",
              "| machines | slots | wall minutes |", "|---|---|---|"]
    lines += [f"| {p['machines']} | {p['slots']} | {p['minutes']} |" for p in projection]
    text = "\n".join(lines)
    out = Path(args.out)
    write_json(report, out / "ray_grid.json")
    md = write_text(text + "\n", out / "ray_grid.md")
    print("\n" + text + f"\n\nwrote {md} and {out / 'ray_grid.json'}")
    return report


if __name__ == "__main__":
    main()
