"""RL against its matched control, seed by seed: is the dialog manager's RL gain a method or a seed?

    python -m benchmarks.reports.rl_seeds --user captioner --seeds 0 1 2 3 --jobs 2
    python -m benchmarks.reports.rl_seeds --catalog tiny --seeds 0 1 --sl-epochs 1 --rl-epochs 1   # a smoke run

For every seed it trains four arms with `--user`, each in `<runs>/<arm>-<user>-s<seed>` (a finished run is
reused, an interrupted one resumed):
- sl: the triplet-SL manager at this release's defaults (`--sl-epochs`, hard negatives);
- control: that manager trained on for `--rl-epochs` more epochs at Adam 1e-4 with the SL loss, no RL term;
- scst and pi: RL-SCST and policy improvement from the same SL checkpoint, `--rl-epochs` epochs each, at
  their defaults (the same rate, the SL loss as anchor).
So each RL arm has the same start, budget and rate as the control, and the only difference is the RL term.
`--jobs N` trains N seeds' chains at a time, one torch thread each.

Every run is then evaluated on the full protocol with `--user` (one results file per arm and seed in
`--results`, reused while it fits; `python -m benchmarks.leaderboard` groups them by seed). The report gives
cumulative Hits@10 at turn 5 per arm and seed with the mean and the seeds' standard deviation, then the paired
differences (an RL arm minus the control, SL or the other RL arm with the same seed): each seed's, their mean, standard
deviation and how many seeds are above zero. It writes `--out` (JSON) and beside it the leaderboard of the runs
(`leaderboard.md`, `rank_curves.png`) and `seed_pairs.png`: every seed's figure per arm and every paired
difference, one dot per seed.
"""

from __future__ import annotations

import multiprocessing
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import policy_improvement, scst, triplet_sl
from agents.training import saved_state
from benchmarks.cells import Context, EvalCell, World, evaluate_cell
from benchmarks.cli import command_parser, setup
from benchmarks.leaderboard import write_leaderboard
from benchmarks.plots import plot_seed_pairs
from benchmarks.results import AgentInfo, RunResult, result_path
from simulators import registry
from simulators.cache import content_hash, write_json

ARMS = ("sl", "control", "scst", "pi")
NAMES = {"sl": "SL (triplet)", "control": "SL trained on at 1e-4 (control)", "scst": "RL-SCST",
         "pi": "policy improvement"}
METHOD = {"sl": "triplet_sl", "control": "triplet_sl", "scst": "scst", "pi": "policy_improvement"}
CONTROL_LR = 1e-4
"""The RL methods' Adam rate, which the control trains at."""
TURN = 5
PAIRS = (("scst", "control"), ("scst", "sl"), ("pi", "control"), ("pi", "sl"), ("pi", "scst"))
"""The paired differences reported: each RL arm against the control and SL, and the paper's order of the two."""


@dataclass(frozen=True)
class Budget:
    """What every seed's chain trains."""

    catalog: str
    user: str
    runs: str
    sl_epochs: int
    rl_epochs: int
    device: str = "cpu"
    threads: int = 1
    eval_dialogs: int = 512

    def run_dir(self, arm: str, seed: int) -> Path:
        return Path(self.runs) / f"{arm}-{self.user}-s{seed}"

    def epochs(self, arm: str) -> int:
        return self.sl_epochs if arm == "sl" else self.rl_epochs

    def args(self, arm: str, seed: int) -> Any:
        """The training arguments of one arm and seed (every arm but sl starts from that seed's sl run)."""
        common = {"catalog": self.catalog, "user": self.user, "seed": seed, "device": self.device,
                  "threads": self.threads, "epochs": self.epochs(arm), "eval_dialogs": self.eval_dialogs,
                  "run_dir": str(self.run_dir(arm, seed)), "resume": True, "progress": False}
        init = str(self.run_dir("sl", seed) / "checkpoint")
        if arm == "sl":
            return triplet_sl.TripletSLArgs(**common)
        if arm == "control":
            return triplet_sl.TripletSLArgs(**common, init=init, lr=CONTROL_LR)
        if arm == "scst":
            return scst.SCSTArgs(**common, init=init)
        return policy_improvement.PolicyImprovementArgs(**common, init=init)


def train_chain(budget: Budget, seed: int) -> int:
    """Train one seed's four arms in order (sl first), each to its epochs; finished runs are left as they are."""
    for arm in ARMS:
        saved = saved_state(budget.run_dir(arm, seed))
        if saved is not None and saved.epoch + 1 >= budget.epochs(arm):
            continue
        print(f"-- seed {seed}: training {NAMES[arm]} in {budget.run_dir(arm, seed)}", flush=True)
        budget.args(arm, seed).train()
    return seed


def train_all(budget: Budget, seeds: list[int], jobs: int) -> None:
    """Every seed's chain: in this process (`jobs` 1), else `jobs` chains at a time in fresh processes."""
    if jobs <= 1:
        for seed in seeds:
            train_chain(budget, seed)
        return
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for seed in pool.map(train_chain, [budget] * len(seeds), seeds):
            print(f"-- seed {seed}: trained", flush=True)


def paired(results: dict[tuple[str, int], RunResult], seeds: list[int]) -> dict[str, Any]:
    """Hits@10 at turn 5 (%) per arm and seed with their mean and spread, and the PAIRS' differences, seed by
    seed."""
    def hits(arm: str, seed: int) -> float:
        return 100 * results[arm, seed].metrics.hits["@10"][TURN]

    def spread(values: list[float]) -> dict[str, Any]:
        return {"per_seed": [round(v, 2) for v in values], "mean": round(statistics.fmean(values), 2),
                "std": round(statistics.stdev(values), 2) if len(values) > 1 else None,
                "min": round(min(values), 2), "max": round(max(values), 2)}

    out: dict[str, Any] = {"arms": {arm: spread([hits(arm, s) for s in seeds]) for arm in ARMS}, "differences": {}}
    for rl, base in PAIRS:
        diffs = [hits(rl, s) - hits(base, s) for s in seeds]
        out["differences"][f"{rl} - {base}"] = {**spread(diffs), "above_zero": sum(d > 0 for d in diffs)}
    return out


def _pair_label(name: str) -> str:
    """'pi - control' as the arms' names."""
    rl, base = name.split(" - ")
    return f"{NAMES[rl]} - {NAMES[base]}"


def format_report(report: dict[str, Any], seeds: list[int]) -> str:
    head = " / ".join(f"seed {s}" for s in seeds)
    lines = [f"| arm | Hits@10 t={TURN}: {head} | mean | std |", "|---|---|---|---|"]
    for arm, row in report["arms"].items():
        std = "" if row["std"] is None else f"{row['std']:.1f}"
        lines.append(f"| {NAMES[arm]} | {' / '.join(f'{v:.1f}' for v in row['per_seed'])} | {row['mean']:.1f} | "
                     f"{std} |")
    lines += ["", f"| paired difference (points) | {head} | mean | std | seeds above 0 |", "|---|---|---|---|---|"]
    for name, row in report["differences"].items():
        std = "" if row["std"] is None else f"{row['std']:.1f}"
        lines.append(f"| {_pair_label(name)} | {' / '.join(f'{v:+.1f}' for v in row['per_seed'])} | "
                     f"{row['mean']:+.1f} | {std} | {row['above_zero']} of {len(seeds)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--user", default="captioner", choices=registry.USER_NAMES,
                        help="the user every arm trains and is evaluated with; default %(default)s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="training seeds; default 0 1 2 3")
    parser.add_argument("--sl-epochs", type=int, default=16, help="SL's epochs; default %(default)s")
    parser.add_argument("--rl-epochs", type=int, default=3,
                        help="epochs of the control and of each RL arm after SL; default %(default)s")
    parser.add_argument("--eval-dialogs", type=int, default=512,
                        help="test-subset dialogs each training run evaluates after every epoch; default %(default)s")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at a time; default %(default)s")
    parser.add_argument("--runs", default="runs/rl_seeds", help="folder of the training runs; default %(default)s")
    parser.add_argument("--results", default="results/runs/rl_seeds",
                        help="folder of the results files; default %(default)s")
    parser.add_argument("--out", default="results/rl_seeds/report.json", help="the report; default %(default)s")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < len(args.seeds) or min(args.seeds) < 0:
        parser.error(f"--seeds must be distinct non-negative integers, got {args.seeds}")
    if args.sl_epochs < 1 or args.rl_epochs < 1 or args.jobs < 1:
        parser.error("--sl-epochs, --rl-epochs and --jobs must be at least 1")
    budget = Budget(args.catalog, args.user, args.runs, args.sl_epochs, args.rl_epochs, eval_dialogs=args.eval_dialogs)
    run = setup(args)
    budget = Budget(**{**budget.__dict__, "device": run.device})
    train_all(budget, args.seeds, args.jobs)

    world = World(catalog=args.catalog, catalog_name=args.catalog, seed=0, device=run.device,
                  catalog_hash=content_hash(run.catalog.path) if run.catalog.path else None)
    context = Context(world, run.catalog, registry.load_vocabulary(run.catalog), progress=run.progress)
    results: dict[tuple[str, int], RunResult] = {}
    for seed in args.seeds:
        for arm in ARMS:
            info = AgentInfo(name=NAMES[arm], feedback="natural language", method=METHOD[arm],
                             train_user=args.user, seed=seed)
            cell = EvalCell(info, "manager", args.user, str(result_path(args.results, NAMES[arm], args.user, seed)),
                            checkpoint=str(budget.run_dir(arm, seed) / "checkpoint"))
            results[arm, seed] = evaluate_cell(cell, world, context, progress=run.progress)
    report = {"catalog": run.catalog.name, "user": args.user, "seeds": args.seeds, "turn": TURN,
              "budget": {"sl_epochs": args.sl_epochs, "rl_epochs": args.rl_epochs, "control_lr": CONTROL_LR},
              **paired(results, args.seeds)}
    out = Path(args.out)
    write_json(report, out)
    table, _ = write_leaderboard(list(results.values()), out.parent)
    figure = plot_seed_pairs({NAMES[arm]: row["per_seed"] for arm, row in report["arms"].items()},
                             {_pair_label(name): row["per_seed"] for name, row in report["differences"].items()},
                             args.seeds, out.parent / "seed_pairs.png", f"Hits@10 at turn {TURN} (%)")
    episodes = next(iter(results.values())).metrics.episodes
    print(f"\n== {args.user} user, protocol ({episodes:,} test dialogs), Hits@10 at turn {TURN} (%)\n")
    print(format_report(report, args.seeds))
    print(f"\nwrote {out}, {table} and {figure}")
    return report


if __name__ == "__main__":
    main()
