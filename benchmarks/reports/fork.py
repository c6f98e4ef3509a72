"""Cost of model-based rollouts: forked dialogs (`ShoeRetrievalVectorEnv.fork`) against their unavoidable work.

    python -m benchmarks.reports.fork                                   # full catalog, grammar and attributes-3 users
    python -m benchmarks.reports.fork --catalog tiny --repeats 3        # smoke run
    python -m benchmarks.reports.fork --threads 1                       # steadier on a crowded machine

The work is the paper's model-based policy improvement at its training size: 128 dialogs of the
train split forked at turn 0 into 4 branches each (512 branches), and every branch rolled 3 more
turns with its own candidate's vector as the query, so 4 simulated turns including the forking
step. The same work without the env is 4 rankings of 512 queries (the env's product, ranks and
nearest unseen image) and 4 user calls of 512 pairs with 512 generators. The ratio of the two is
the fork's own overhead (target: at most 1.3). The three timings are interleaved within each
repeat so machine noise hits them alike; medians are reported, with the spread of the ratio.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import torch

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import write_json
from simulators.captioner.user import CaptionerUserConfig, load_captioner
from simulators.catalog.catalog import Catalog
from simulators.language.vocab import Vocabulary
from simulators.users import User

DIALOGS, BRANCHES, TURNS = 128, 4, 4
TARGET_RATIO = 1.3


def make_user(name: str, catalog: Catalog, vocabulary: Vocabulary, device: torch.device) -> User:
    """The user by name; the captioner without its pair cache, so repeated timings decode every time."""
    if name == "captioner":
        return load_captioner(catalog, vocabulary, user_config=CaptionerUserConfig(cache_size=0), device=device)
    return registry.make_user(name, catalog, device=device, vocabulary=vocabulary)


def bench_user(catalog: Catalog, vocabulary: Vocabulary, user_name: str, device: torch.device,
               repeats: int) -> dict[str, Any]:
    user = make_user(user_name, catalog, vocabulary, device)
    env = ShoeRetrievalVectorEnv(num_envs=DIALOGS, catalog=catalog, split="train", user=user, action_type="query",
                                 max_turns=TURNS + 1, device=str(device), vocabulary=vocabulary, privileged=True)
    obs, info = env.reset(seed=0)  # privileged adds the targets to info and changes nothing the timings run
    ranker = env.ranker
    # Each dialog's top-4 unseen images under its own first image: the candidates a policy would roll forward.
    candidates = ranker.nearest(obs["candidate_features"], env.shown_indices, k=BRANCHES)  # (128, 4)

    def fork() -> None:
        branches = env.fork(candidates)
        for _ in range(TURNS - 1):
            branches.step(branches.observation()["candidate_features"])

    # The same work alone, on the branches' inputs: 512 queries, their targets and shown images.
    rows = DIALOGS * BRANCHES
    flat = candidates.reshape(-1)
    queries = env.features[flat]  # (512, D)
    targets = np.repeat(info["target"], BRANCHES)
    shown_idx = env.shown_indices[torch.as_tensor(np.repeat(np.arange(DIALOGS), BRANCHES), device=ranker.device)]
    target_ids, candidate_ids = env.item_ids[targets], env.item_ids[flat]
    rngs = [np.random.default_rng(i) for i in range(rows)]

    def rankings() -> None:
        for _ in range(TURNS):
            scores = ranker.scores(queries)  # (512, N)
            ranker.ranks_from(scores, targets)
            ranker.nearest_from(scores, shown_idx)

    def user_calls() -> None:
        for _ in range(TURNS):
            user.describe(target_ids, candidate_ids, rngs=rngs)

    timings: dict[str, list[float]] = {"fork": [], "rankings": [], "user_calls": []}
    work = {"fork": fork, "rankings": rankings, "user_calls": user_calls}
    for repeat in range(repeats + 1):  # the first round warms up
        for name, fn in work.items():
            start = time.perf_counter()
            fn()
            if repeat:
                timings[name].append(1e3 * (time.perf_counter() - start))
    ratios = [f / (r + u) for f, r, u in zip(timings["fork"], timings["rankings"], timings["user_calls"], strict=True)]
    ms = {name: statistics.median(times) for name, times in timings.items()}
    return {"user": user_name, "n_items": env.n_items, "branches": rows, "turns": TURNS,
            "fork_ms": ms["fork"], "rankings_ms": ms["rankings"], "user_calls_ms": ms["user_calls"],
            "ratio": ms["fork"] / (ms["rankings"] + ms["user_calls"]),
            "ratio_per_repeat_min": min(ratios), "ratio_per_repeat_max": max(ratios), "timings_ms": timings}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, threads=True, progress=False)
    parser.add_argument("--user", nargs="+", default=["grammar", "attributes-3"], choices=registry.USER_NAMES,
                        help="users to time (the captioner is trained on first use: minutes on the full catalog)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default="results/fork.json")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    run = setup(args)
    catalog, device = run.catalog, torch.device(run.device)
    vocabulary = registry.load_vocabulary(catalog)
    report: dict[str, Any] = {"machine": machine_description(device), "device": str(device), "catalog": catalog.name,
                              "dialogs": DIALOGS, "branches_per_dialog": BRANCHES, "turns": TURNS,
                              "repeats": args.repeats, "target_ratio": TARGET_RATIO, "rows": []}
    print(f"machine: {report['machine']}")
    print(f"{DIALOGS} dialogs x {BRANCHES} branches x {TURNS} turns on the train split of {catalog.name}; "
          f"median of {args.repeats} repeats\n")
    head = (f"{'user':<14} {'items':>6} {'fork ms':>9} {'rank ms':>9} {'user ms':>9} {'fork/(rank+user)':>17} "
            f"{'per-repeat range':>17}")
    print(head)
    print("-" * len(head))
    for user_name in args.user:
        row = bench_user(catalog, vocabulary, user_name, device, args.repeats)
        report["rows"].append(row)
        print(f"{user_name:<14} {row['n_items']:>6} {row['fork_ms']:>9.1f} {row['rankings_ms']:>9.1f} "
              f"{row['user_calls_ms']:>9.1f} {row['ratio']:>17.2f} "
              f"{row['ratio_per_repeat_min']:>8.2f}-{row['ratio_per_repeat_max']:.2f}")
    print(f"\ntarget: fork / (rankings + user calls) <= {TARGET_RATIO}")
    out = write_json(report, args.out)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
