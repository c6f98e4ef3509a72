"""The paper's agents through the protocol: results per turn, the train-user x test-user table, training times.

    python -m benchmarks.reports.paper_agents                          # every run found in runs/, both users
    python -m benchmarks.reports.paper_agents --train-users captioner --eval-users captioner grammar --turns 10
    python -m benchmarks.reports.paper_agents --train-users attributes-10-deep --methods triplet_sl policy_improvement \
        --eval-users own                                 # each run with the user it was trained with

For each method (triplet SL, RL-SCST, policy improvement) and each user it was trained with, the
run's last checkpoint (`runs/<method>-<user>-s<seed>/checkpoint`) is evaluated on the protocol (every
test item the target once, seeded first image, 10 turns, greedy) with every evaluation user, beside
the feedback-blind nearest-neighbour baseline: mean target rank percentile and cumulative Hits@10
per turn with 95% intervals, and the Hits@10 AUC. From the runs' histories it reports how long each
method trained, when it reached its best test figure (the 512-dialog subset logged after every
epoch: Hits@10 at turn 5 where the run logged it, else rank percentile at turn 2), and one training
iteration's time split into rankings, user calls and the network, with the rollout share of policy
improvement. Writes results/agents.json and results/agents_curves_<user>.png (Hits@10 and rank
percentile panels).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines import NearestNeighbourAgent
from agents.dialog_manager import DialogManagerAgent
from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from benchmarks.plots import plot_rank_curves
from benchmarks.protocol import EvalResult, ProtocolConfig, evaluate
from simulators import registry
from simulators.cache import write_json

METHODS = ("triplet_sl", "scst", "policy_improvement")
LABELS = {"triplet_sl": "SL (triplet)", "scst": "RL-SCST", "policy_improvement": "policy improvement",
          "nearest-neighbour": "nearest-neighbour"}
REPORT_TURNS = (0, 1, 2, 3, 4, 5, 7, 10)


BEST_BY = ("eval/hits10_turn_5", "eval/turn_2")
"""The subset figure that picks a run's best epoch: Hits@10 at turn 5, else (older runs) rank percentile at turn 2."""


def training_summary(state: dict[str, Any]) -> dict[str, Any]:
    """Time to the best subset figure (BEST_BY) and the median iteration's parts, from a run's state.json."""
    history = state["history"]
    if not history:
        return {}
    best_by = next((key for key in BEST_BY if any(key in e for e in history)), BEST_BY[-1])
    best = max(history, key=lambda e: e.get(best_by, 0.0))
    mean = {k: float(np.median([e[k] for e in history if k in e])) for k in history[-1] if k.startswith("time/")}
    user = mean.get("time/user_s", 0.0)
    env = mean.get("time/env_s", 0.0) + mean.get("time/rollout_env_s", 0.0)
    network = mean.get("time/network_s", 0.0) + mean.get("time/rollout_network_s", 0.0)
    rollout = mean.get("time/rollout_env_s", 0.0) + mean.get("time/rollout_network_s", 0.0)
    iteration = mean.get("time/iteration_s", 0.0)
    return {"epochs": len(history), "train_minutes": state["train_seconds"] / 60,
            "best_epoch": best["epoch"] + 1, "best_minutes": best["train_seconds"] / 60,
            "best_by": best_by, "best_hits10_turn_5": best.get("eval/hits10_turn_5"),
            "best_turn_2": best.get("eval/turn_2"),
            "iteration_s": iteration, "ranking_and_env_s": env - user, "user_s": user, "network_s": network,
            "rollout_share": rollout / iteration if iteration else 0.0,
            "eval_curve": [{k: e[k] for k in e if k.startswith("eval/")} | {"epoch": e["epoch"] + 1,
                                                                             "minutes": e["train_seconds"] / 60}
                           for e in history]}


def format_results(results: list[EvalResult]) -> str:
    """Mean target rank percentile [95% interval] at REPORT_TURNS, one row per (agent, user)."""
    head = f"{'agent':<34} {'eval user':<10}" + "".join(f" {'t=' + str(t):>15}" for t in REPORT_TURNS)
    lines = [head, "-" * len(head)]
    for r in results:
        cells = "".join(f" {100 * r.mean_rank_percentile[t]:5.1f} [{100 * r.ci95[t][0]:4.1f},{100 * r.ci95[t][1]:5.1f}]"
                        if t < len(r.mean_rank_percentile) else f" {'':>15}" for t in REPORT_TURNS)
        lines.append(f"{r.agent:<34} {r.user:<10}{cells}")
    return "\n".join(lines)


def format_hits(results: list[EvalResult]) -> str:
    """Cumulative Hits@10 [95% interval] at REPORT_TURNS and its AUC over turns 1..T; "n/a" for older results."""
    head = (f"{'agent':<34} {'eval user':<10}" + "".join(f" {'t=' + str(t):>15}" for t in REPORT_TURNS)
            + f" {'AUC':>15}")
    lines = [head, "-" * len(head)]

    def cell(value: float, ci: tuple[float, float]) -> str:
        return f" {100 * value:5.1f} [{100 * ci[0]:4.1f},{100 * ci[1]:5.1f}]"

    for r in results:
        if r.hits is None or r.hits10_ci95 is None or r.hits10_auc is None or r.hits10_auc_ci95 is None:
            lines.append(f"{r.agent:<34} {r.user:<10}" + f" {'n/a':>15}" * (len(REPORT_TURNS) + 1))
            continue
        hits = r.hits["@10"]
        cells = "".join(cell(hits[t], r.hits10_ci95[t]) if t < len(hits) else f" {'':>15}" for t in REPORT_TURNS)
        lines.append(f"{r.agent:<34} {r.user:<10}{cells}{cell(r.hits10_auc, r.hits10_auc_ci95)}")
    return "\n".join(lines)


def eval_result_from_json(data: dict[str, Any]) -> EvalResult:
    """An EvalResult from its `to_json()` (an earlier report; one without Hits@10 gets None there)."""
    pairs = {key: [tuple(c) for c in data[key]] for key in ("ci95", "hits10_ci95") if data.get(key) is not None}
    auc_ci = {"hits10_auc_ci95": tuple(data["hits10_auc_ci95"])} if data.get("hits10_auc_ci95") is not None else {}
    return EvalResult(**{**data, **pairs, **auc_ci})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--runs", default="runs", help="folder holding the training runs")
    parser.add_argument("--seed", type=int, default=0, help="training seed of the runs to evaluate")
    parser.add_argument("--train-users", nargs="+", default=["captioner", "grammar"], choices=registry.USER_NAMES)
    parser.add_argument("--eval-users", nargs="+", default=["captioner", "grammar"],
                        choices=[*registry.USER_NAMES, "own"],
                        help='users every run is evaluated with; "own": each run with the user it was trained with')
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--out", default="results/agents.json")
    parser.add_argument("--include", nargs="*", default=[],
                        help="earlier outputs of this command whose results and training figures join this report "
                             "(e.g. the agents of another training user, evaluated separately)")
    args = parser.parse_args(argv)
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    protocol = ProtocolConfig(max_turns=args.turns)
    runs = Path(args.runs)
    t0 = time.perf_counter()

    results: list[EvalResult] = []
    training: dict[str, Any] = {}
    own = "own" in args.eval_users
    eval_names = list(dict.fromkeys([u for u in args.eval_users if u != "own"] + (args.train_users if own else [])))
    users = {name: registry.make_user(name, catalog, device=device, vocabulary=vocabulary, progress=progress)
             for name in eval_names}
    for earlier in args.include:
        data = json.loads(Path(earlier).read_text(encoding="utf-8"))
        if data.get("catalog") != catalog.name:
            raise ValueError(f"{earlier} is a report on catalog {data.get('catalog')!r}, not {catalog.name!r}")
        results += [eval_result_from_json(r) for r in data["results"] if r["agent"] != "nearest-neighbour"]
        training.update(data["training"])
    for eval_user, user in users.items():
        results.append(evaluate(NearestNeighbourAgent(), catalog, user, protocol, agent_name="nearest-neighbour",
                                user_name=eval_user, device=str(device), vocabulary=vocabulary, progress=progress))
    for train_user in args.train_users:
        for method in args.methods:
            path = runs / f"{method}-{train_user}-s{args.seed}" / "checkpoint"
            if not (path / "manifest.json").exists():
                print(f"(no run at {path}; skipped)")
                continue
            agent = DialogManagerAgent.load(path, catalog, vocabulary, device=device)
            agent.use_split(protocol.split)
            state = json.loads((path / "state.json").read_text(encoding="utf-8"))
            training[f"{method}-{train_user}"] = training_summary(state)
            name = f"{LABELS[method]} (trained: {train_user})"
            for eval_user, user in users.items():
                if own and eval_user not in args.eval_users and eval_user != train_user:
                    continue  # "own" adds only the run's own training user
                results.append(evaluate(agent, catalog, user, protocol, agent_name=name, user_name=eval_user,
                                        device=str(device), vocabulary=vocabulary, progress=progress))

    results.sort(key=lambda r: r.agent != "nearest-neighbour")  # the baseline first, then in training order
    print(f"\n== Protocol: {results[0].episodes} test dialogs, {args.turns} turns, greedy; mean target rank "
          "percentile [95% interval] per turn")
    print(format_results(results))
    print("\n== The same dialogs: cumulative Hits@10 (target in the top 10 at some turn so far) [95% interval] per "
          f"turn, and its AUC (mean over turns 1-{args.turns})")
    print(format_hits(results))
    print("\n== Training (machine and threads: as the runs were made): minutes of training (evaluation excluded), "
          "best epoch by the 512-dialog test subset (Hits@10 at turn 5; runs that did not log it: rank percentile "
          "at turn 2), one iteration's seconds split into parts")
    print(f"{'run':<32}{'epochs':>7}{'minutes':>9}{'best ep':>8}{'at min':>8}{'iter s':>8}{'rank+env':>9}"
          f"{'user':>7}{'network':>8}{'rollout':>8}")
    for name, s in training.items():
        if s:
            print(f"{name:<32}{s['epochs']:>7}{s['train_minutes']:>9.1f}{s['best_epoch']:>8}{s['best_minutes']:>8.1f}"
                  f"{s['iteration_s']:>8.2f}{s['ranking_and_env_s']:>9.2f}{s['user_s']:>7.2f}{s['network_s']:>8.2f}"
                  f"{100 * s['rollout_share']:>7.0f}%")
    curves = Path(args.out).with_name("agents_curves.png")
    by_user = {u: [r for r in results if r.user == u] for u in eval_names}
    for u, rs in by_user.items():
        plot_rank_curves(rs, curves.with_name(f"agents_curves_{u}.png"), zoom=(90, 100), hits10=True,
                         title=f"ShoeRetrieval-v0, test split, {u} user")
    report = {"catalog": catalog.name, "machine": machine_description(device),
              "results": [r.to_json() for r in results], "training": training,
              "seconds": round(time.perf_counter() - t0, 1)}
    write_json(report, args.out)
    print(f"\nwrote {args.out} and {', '.join(str(curves.with_name(f'agents_curves_{u}.png')) for u in by_user)}")
    return report


if __name__ == "__main__":
    main()
