"""Binary relevance feedback on the protocol: Rocchio against the feedback-blind baseline (and a trained manager).

    python -m benchmarks.reports.relevance                      # full catalog
    python -m benchmarks.reports.relevance --catalog tiny       # smoke run

The `relevance` user answers "more like this" / "less like this" (is the image on show closer to the
target than the one before it). Rocchio's three weights are chosen on the *train* split from a
small grid (alpha in 0, 0.5, 1; beta 1; gamma in 0, 0.5, 1, 2, 4; best mean rank percentile
over turns 1-10), then the chosen weights and the textbook ones (1, 0.75, 0.15) are evaluated on the
protocol (every test item the target once, seeded first image, 10 turns) beside the nearest-neighbour
baseline, and beside the dialog manager trained with the relevance user when
`runs/<method>-relevance-s0` exists. Writes results/relevance.json, in the shape
`python -m benchmarks.reports.paper_agents --include` reads.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from agents.baselines import NearestNeighbourAgent
from agents.dialog_manager import DialogManagerAgent
from agents.rocchio import RocchioAgent
from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from benchmarks.protocol import EvalResult, ProtocolConfig, evaluate
from benchmarks.reports.paper_agents import LABELS, METHODS, format_hits, format_results, training_summary
from simulators import registry
from simulators.cache import write_json

ALPHAS, BETAS, GAMMAS = (0.0, 0.5, 1.0), (1.0,), (0.0, 0.5, 1.0, 2.0, 4.0)
TEXTBOOK = (1.0, 0.75, 0.15)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--out", default="results/relevance.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    user = registry.make_user("relevance", catalog)
    common = {"device": device, "vocabulary": vocabulary, "progress": False, "user_name": "relevance"}

    tuning = ProtocolConfig(split="train", max_turns=args.turns, bootstrap=10)
    grid = []
    for weights in tqdm(list(itertools.product(ALPHAS, BETAS, GAMMAS)), desc="Rocchio weights (train split)",
                        disable=not progress):
        r = evaluate(RocchioAgent(vocabulary, *weights), catalog, user, tuning, **common)
        grid.append({"alpha": weights[0], "beta": weights[1], "gamma": weights[2],
                     "train_mean_turns_1_on": float(np.mean(r.mean_rank_percentile[1:]))})
    best = max(grid, key=lambda g: g["train_mean_turns_1_on"])
    chosen = (best["alpha"], best["beta"], best["gamma"])

    protocol = ProtocolConfig(max_turns=args.turns)
    results: list[EvalResult] = [evaluate(NearestNeighbourAgent(), catalog, user, protocol,
                                          agent_name="nearest-neighbour", **common)]
    for label, weights in (("textbook", TEXTBOOK), ("tuned on train", chosen)):
        name = f"Rocchio ({label}: {', '.join(f'{w:g}' for w in weights)})"
        results.append(evaluate(RocchioAgent(vocabulary, *weights), catalog, user, protocol, agent_name=name,
                                **common))
    training: dict[str, Any] = {}
    for method in METHODS:
        path = Path(args.runs) / f"{method}-relevance-s0" / "checkpoint"
        if not (path / "manifest.json").exists():
            continue
        agent = DialogManagerAgent.load(path, catalog, vocabulary, device=device)
        agent.use_split(protocol.split)
        training[f"{method}-relevance"] = training_summary(json.loads((path / "state.json").read_text("utf-8")))
        results.append(evaluate(agent, catalog, user, protocol, agent_name=f"{LABELS[method]} (trained: relevance)",
                                **common))

    print("\n== Rocchio weights on the train split (mean rank percentile over turns 1-"
          f"{args.turns}); chosen: alpha={chosen[0]:g}, beta={chosen[1]:g}, gamma={chosen[2]:g}")
    for g in grid:
        score = 100 * g["train_mean_turns_1_on"]
        print(f"  alpha={g['alpha']:<4g} beta={g['beta']:<4g} gamma={g['gamma']:<5g} {score:.1f}")
    print(f"\n== Protocol with the relevance user: {results[0].episodes} test dialogs, {args.turns} turns; mean target "
          "rank percentile [95% interval] per turn")
    print(format_results(results))
    print(f"\n== The same dialogs: cumulative Hits@10 [95% interval] per turn, and its AUC over turns 1-{args.turns}")
    print(format_hits(results))
    report = {"catalog": catalog.name, "machine": machine_description(device),
              "rocchio_grid": grid, "rocchio_chosen": dict(zip(("alpha", "beta", "gamma"), chosen, strict=True)),
              "results": [r.to_json() for r in results], "training": training,
              "seconds": round(time.perf_counter() - t0, 1)}
    write_json(report, args.out)
    print(f"\nwrote {args.out} ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
