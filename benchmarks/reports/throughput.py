"""Throughput of ShoeRetrieval-v0: env steps per second, and where the time of a step goes.

    python -m benchmarks.reports.throughput                 # full catalog, every user, both splits
    python -m benchmarks.reports.throughput --quick         # fewer repeats, for a smoke run

A step has two unavoidable costs: one batched ranking (every item's distance to every query)
and one batched user call. The benchmark times those two alone and the native vector env's
whole step at num_envs = 256 with the same inputs, so the env's own overhead is measured as a
ratio within one run (the machines are shared and noisy; absolute numbers drift). Medians of
repeated timings are reported. Results go to a table on stdout and to JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description, median_seconds
from envs.ranking import Ranker, ranks_per_query_loop
from envs.shoe_retrieval import ShoeRetrievalEnv, ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import write_json
from simulators.captioner.user import CaptionerUserConfig, load_captioner
from simulators.catalog.catalog import Catalog


def bench_ranking(catalog: Catalog, device: torch.device, repeats: int, batch: int = 256) -> dict[str, float]:
    feats = catalog.features[catalog.train_ids].astype(np.float32)
    rng = np.random.default_rng(0)
    queries = feats[rng.integers(0, len(feats), batch)] + rng.normal(0, 0.1, (batch, feats.shape[1])).astype(np.float32)
    targets = rng.integers(0, len(feats), batch)
    ranker = Ranker(feats, device)
    batched = median_seconds(lambda: ranker.ranks(queries, targets), repeats)
    loop = median_seconds(lambda: ranks_per_query_loop(feats, queries, targets), max(1, repeats // 3))
    return {"n_items": len(feats), "queries": batch, "batched_ms": 1e3 * batched, "loop_ms": 1e3 * loop,
            "speedup": loop / batched}


def bench_single(catalog: Catalog, split: str, user: str, device: torch.device, steps: int,
                 vocabulary: Any) -> float:
    env = ShoeRetrievalEnv(catalog=catalog, split=split, user=user, action_type="query", max_turns=10_000,
                           device=str(device), vocabulary=vocabulary)
    obs, _ = env.reset(seed=0)

    def run() -> None:
        nonlocal obs
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(obs["candidate_features"])
            if terminated or truncated:
                obs, _ = env.reset()

    return steps / median_seconds(run, 3)


def bench_vector(catalog: Catalog, split: str, user: str, device: torch.device, num_envs: int, steps: int,
                 vocabulary: Any) -> float:
    env = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=catalog, split=split, user=user, action_type="query",
                                 max_turns=10_000, device=str(device), vocabulary=vocabulary)
    obs, _ = env.reset(seed=0)

    def run() -> None:
        nonlocal obs
        for _ in range(steps):
            obs, *_ = env.step(obs["candidate_features"])

    return num_envs * steps / median_seconds(run, 3)


def bench_step_breakdown(catalog: Catalog, split: str, user: str, device: torch.device, repeats: int,
                         vocabulary: Any, num_envs: int = 256) -> dict[str, float]:
    """The vector env's step at num_envs against its two unavoidable costs, timed on the same inputs."""
    env = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=catalog, split=split, user=user, action_type="query",
                                 max_turns=10_000, device=str(device), vocabulary=vocabulary)
    targets = np.random.default_rng(0).integers(env.n_items, size=num_envs)  # the env shows its own only if privileged
    obs, info = env.reset(seed=0, options={"target": targets})
    queries = obs["candidate_features"]
    if user == "captioner":  # its pair cache would answer the repeated timing calls: time the decode itself
        user_obj = load_captioner(catalog, vocabulary, user_config=CaptionerUserConfig(cache_size=0), device=device)
    else:
        user_obj = registry.make_user(user, catalog)
    rngs = [np.random.default_rng(i) for i in range(num_envs)]
    target_ids, candidate_ids = env.item_ids[targets], info["candidate_id"]
    ranker, shown = env.ranker, env.shown_indices

    def ranking() -> None:  # exactly the env's ranking work: one product, the ranks, the nearest unseen image
        scores = ranker.scores(queries)
        ranker.ranks_from(scores, targets)
        ranker.nearest_from(scores, shown)

    rank_s = median_seconds(ranking, repeats)
    user_s = median_seconds(lambda: user_obj.describe(target_ids, candidate_ids, rngs=rngs), repeats)

    def step() -> None:
        nonlocal obs
        obs, *_ = env.step(obs["candidate_features"])

    step_s = median_seconds(step, repeats)
    return {"num_envs": num_envs, "ranking_ms": 1e3 * rank_s, "user_ms": 1e3 * user_s, "step_ms": 1e3 * step_s,
            "step_over_costs": step_s / (rank_s + user_s)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, progress=False)
    parser.add_argument("--users", nargs="+", default=list(registry.USER_NAMES), choices=registry.USER_NAMES)
    parser.add_argument("--splits", nargs="+", default=["train", "test"])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--out", default="results/throughput.json")
    args = parser.parse_args(argv)
    run = setup(args)
    catalog, device = run.catalog, torch.device(run.device)
    vocabulary = registry.load_vocabulary(catalog)
    repeats = 5 if args.quick else 15
    steps = 20 if args.quick else 100

    report: dict[str, Any] = {"machine": machine_description(device), "device": str(device),
                              "catalog": catalog.name, "rows": []}
    rank = bench_ranking(catalog, device, repeats)
    report["ranking"] = rank
    print(f"machine: {report['machine']}")
    print(f"ranking {rank['queries']} queries over {rank['n_items']} items: batched {rank['batched_ms']:.1f} ms, "
          f"per-query loop {rank['loop_ms']:.1f} ms, speed-up x{rank['speedup']:.0f} (target >= 30)")
    head = (f"{'split':<6} {'user':<14} {'single':>9} {'vec 1':>9} {'vec 64':>9} {'vec 256':>9} "
            f"{'256/single':>10} {'rank ms':>8} {'user ms':>8} {'step ms':>8} {'step/costs':>10}")
    print("\nenv steps per second (dialog turns per second, all sub-envs together)")
    print(head)
    print("-" * len(head))
    for split in args.splits:
        for user in args.users:
            single = bench_single(catalog, split, user, device, steps * 2, vocabulary)
            vec = {n: bench_vector(catalog, split, user, device, n, max(3, steps // max(1, n // 16)), vocabulary)
                   for n in (1, 64, 256)}
            parts = bench_step_breakdown(catalog, split, user, device, repeats, vocabulary)
            row = {"split": split, "user": user, "single_sps": single, **{f"vector{n}_sps": v for n, v in vec.items()},
                   "vector256_over_single": vec[256] / single, **parts}
            report["rows"].append(row)
            print(f"{split:<6} {user:<14} {single:>9.0f} {vec[1]:>9.0f} {vec[64]:>9.0f} {vec[256]:>9.0f} "
                  f"{row['vector256_over_single']:>9.1f}x {parts['ranking_ms']:>8.1f} {parts['user_ms']:>8.1f} "
                  f"{parts['step_ms']:>8.1f} {parts['step_over_costs']:>10.2f}")
    print("\ntargets: ranking speed-up >= 30; vector step <= 1.5 x (ranking + user); vec 256 >= 5 x single")
    out = write_json(report, args.out)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
