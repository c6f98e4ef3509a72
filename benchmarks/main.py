"""The main job: build what is missing (catalog, captioner, every agent), evaluate every agent, print the leaderboard.

    python -m benchmarks.main                      # quick profile on the full catalog (the README's run command)
    python -m benchmarks.main --profile paper      # the agents' full training budgets
    python -m benchmarks.main --catalog tiny       # a 64-item catalog, for a quick look
    python -m benchmarks.main --seeds 0 1 2        # every learned method with three training seeds
    python -m benchmarks.main --ray                # every training run and evaluation as a task on local Ray
    python -m benchmarks.main --ray auto           # ... on the cluster `ray start --head` started

Steps, each loaded from its cache when it is already there, so a second run only reads and prints,
and a killed run resumes where it stopped:

1. the SynthShoes catalog (built and cached on first use), its category counts and a grid picture;
   the caption corpus's statistics beside the human figures; the vocabulary;
2. the relative captioner, the environment's default user (trained and cached on first use);
3. the agents: the paper's dialog manager trained with the captioner and with the grammar user by
   triplet SL, policy improvement and RL-SCST (runs in `runs/quick/` for the quick profile, `runs/`
   for the paper profile, the same folders `scripts/train_agents.sh` uses; interrupted runs resume);
   the paper profile also trains them with PAPER_POPULATION (captioner + grammar + people's captions,
   one drawn per dialog) when the human caption files are there;
   an SB3 agent (the documented recipe, `agents.sb3.SB3Recipe`: RecurrentPPO through `SB3VecEnv`, trained
   with the captioner), and the training-free agents: the
   nearest-neighbour and random baselines, WhittleSearch (relative-attribute feedback) and
   Rocchio (relevance feedback);
4. the protocol (frozen test dialogs, 10 turns) for every agent with the captioner and the grammar
   user (the paper profile adds `human-replay-heldout`, people's captions no agent trained with, when the
   files are there), plus WhittleSearch and Rocchio with the user of their own channel; one results file per
   agent, training seed and user in `results/runs/<profile>/` (reused while the checkpoint, the user and the
   protocol are unchanged);
5. the leaderboard (one row per agent and user: the mean over the seeds, with their spread):
   `results/leaderboard.md` and `results/rank_curves.png`.

Steps 3 and 4 are the grid (`benchmarks.cells`): with `--seeds`, every learned method is trained once per
seed; `--methods` and `--baselines` pick its agents. It runs in this process, or with `--ray [ADDRESS]` as
one Ray task per training run and per evaluation (policy improvement and SCST wait for their SL run; a task
whose worker dies is retried and its training resumes from the last epoch checkpoint). Steps 1 and 2 build
every artifact first, in this process, so the tasks only load them from the data home (on a cluster: a
shared file system, like the runs and results folders). Each cell's wall time goes to
`results/grid-<profile>.json`.

The quick profile trains briefly (SL one epoch, policy improvement and SCST a few dozen batches, the SB3
agent 131,072 steps) and every one of its results says "quick"; the paper profile uses the budgets of the
agents' own commands (the SB3 agent: 1,000,000 steps, under 30 minutes on 2 CPU cores with the captioner).
Training and evaluation are deterministic on CPU for a given thread count: two runs print the same
numbers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from agents.sb3 import SB3Recipe
from benchmarks.cells import BASELINES, LABELS, METHODS, Context, EvalCell, Grid, Profile, World, training_cells
from benchmarks.grid import make_grid, pick_rows
from benchmarks.leaderboard import format_leaderboard, write_leaderboard
from benchmarks.lexicon import format_corpus_comparison, format_lexicon
from benchmarks.protocol import PROTOCOL_VERSION
from benchmarks.results import AgentInfo, RunResult, result_path
from envs.ranking import resolve_device
from simulators import registry
from simulators.cache import content_hash
from simulators.catalog.params import CATEGORIES
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.stats import corpus_statistics, lexicon_statistics

PAPER_POPULATION = "captioner+grammar+human-replay"
"""The population the paper profile also trains with: of those tried it measured best with people's held-out
captions while keeping the captioner's score (docs/results/robustness.md)."""
HELDOUT_USER = "human-replay-heldout"

PROFILES = {
    "quick": Profile("quick", sl_epochs=1, pi_epochs=1, pi_max_batches=12, scst_epochs=1, scst_max_batches=24,
                     ppo_timesteps=131_072, eval_dialogs=0, runs="runs/quick"),
    "paper": Profile("paper", sl_epochs=16, pi_epochs=3, pi_max_batches=0, scst_epochs=5, scst_max_batches=0,
                     ppo_timesteps=1_000_000, eval_dialogs=512, runs="runs", populations=(PAPER_POPULATION,)),
}
def main(argv: list[str] | None = None) -> list[RunResult]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--catalog", default="full",
                        help="full (the protocol's SynthShoes), tiny (64 items), or the name or JSON path of a catalog "
                             "built from files (python -m simulators.build catalog --format ...); default %(default)s")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--users", nargs="+", default=None,
                        help="users the dialog managers are trained with and every agent is evaluated with (default: "
                             "captioner and grammar; on a catalog built from files, captioner and human-replay)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the seed of the users, the protocol and the random baseline, and the training seed "
                             "when --seeds is not given (the catalog is always --catalog's, seed 0 for SynthShoes, "
                             "as every training run loads it)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="training seeds: every learned method is trained and evaluated once per seed, and the "
                             "leaderboard shows their mean and spread (default: --seed)")
    parser.add_argument("--methods", nargs="+", default=[*METHODS, "sb3"], choices=[*METHODS, "sb3"],
                        help="the learned methods of the grid (default: all)")
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES), choices=BASELINES,
                        help="the training-free agents of the grid (default: all; none: --baselines alone)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads per cell (0: torch's choice; with --ray, 1): results are "
                             "deterministic for a given thread count")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run every training run and evaluation as a Ray task: on a local Ray instance, or the "
                             "cluster at ADDRESS (auto: the one `ray start` runs here); needs the ray extra")
    parser.add_argument("--retries", type=int, default=3, help="with --ray, retries of a task whose worker died")
    parser.add_argument("--out", default="results")
    parser.add_argument("--runs", default=None, help="folder of the training runs (default: the profile's)")
    parser.add_argument("--ppo-timesteps", type=int, default=None,
                        help="the SB3 agent's steps (default: the profile's)")
    parser.add_argument("--captions", default=None,
                        help="the human caption files' folder, for the paper profile's population and held-out "
                             "user (default: $SHOE_RETRIEVAL_HUMAN_CAPTIONS, else the shared data folder)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    overrides = {"runs": args.runs, "ppo_timesteps": args.ppo_timesteps}
    profile = Profile(**{**profile.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    out = Path(args.out)
    device = str(resolve_device(args.device))
    progress = not args.no_progress
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = list(dict.fromkeys(args.seeds if args.seeds is not None else [args.seed]))
    t0 = time.perf_counter()

    # 1. The world.
    catalog = registry.load_catalog(args.catalog, device=device, progress=progress)
    grid_path = None
    if catalog.config is not None:
        config = catalog.config
        print(f"\n== SynthShoes catalog: {len(catalog)} items ({len(catalog.train_ids)} train / "
              f"{len(catalog.test_ids)} test), {config.image_size}x{config.image_size} renders, {config.backbone} "
              f"features D={catalog.feature_dim}; stored at {catalog.path}, built in "
              f"{catalog.meta.get('build_seconds', float('nan')):.0f} s")
        train_counts, test_counts = catalog.category_counts("train"), catalog.category_counts("test")
        print("   " + ", ".join(f"{c} {train_counts[c]}/{test_counts[c]}" for c in CATEGORIES) + "  (train/test)")
        grid_path = out / "synthshoes_grid.png"
        grid_path.parent.mkdir(parents=True, exist_ok=True)
        make_grid(catalog.params, pick_rows(catalog.params, 8), size=config.image_size).save(grid_path)
    else:
        meta = catalog.meta
        print(f"\n== Catalog {args.catalog!r} ({catalog.name}, from {meta.get('format')} files): {len(catalog)} items "
              f"({len(catalog.train_ids)} train / {len(catalog.test_ids)} test), {meta.get('image_size')} px, "
              f"{meta.get('config', {}).get('backbone')} features D={catalog.feature_dim}; stored at {catalog.path}, "
              f"built in {meta.get('build_seconds', float('nan')):.0f} s; captions {meta.get('captions')}")
    args.users = args.users or registry.default_users(catalog)
    corpus = load_corpus(catalog, CorpusConfig(split="train", seed=args.seed))
    vocabulary = registry.load_vocabulary(catalog)
    print(f"\n== Caption corpus (train split): {len(corpus)} rows, vocabulary of {len(vocabulary)} tokens")
    print(format_corpus_comparison(corpus_statistics(corpus.relative_captions)))
    print(format_lexicon(lexicon_statistics(corpus.relative_captions)))

    # 2. The users (the captioner is trained on first use).
    print("\n== Users")
    # WhittleSearch speaks with SynthShoes's hand-crafted estimates, or a real catalog's own attribute file.
    whittle_user = ("attributes-10-handcrafted" if catalog.params is not None
                    else "attributes-10" if catalog.has_attributes else None)
    user_names = list(dict.fromkeys([*args.users, *([whittle_user] if whittle_user else []), "relevance"]))
    users = {name: registry.make_user(name, catalog, seed=args.seed, device=device, progress=progress,
                                      vocabulary=vocabulary) for name in user_names}
    populations, language_users = [], list(args.users)
    if profile.populations and catalog.params is not None:  # the population's people replay on SynthShoes
        try:
            users[HELDOUT_USER] = registry.make_user(HELDOUT_USER, catalog, seed=args.seed, captions=args.captions)
            populations, language_users = list(profile.populations), list(dict.fromkeys([*args.users, HELDOUT_USER]))
        except FileNotFoundError as err:
            print(f"   (no populations {', '.join(profile.populations)} and no {HELDOUT_USER} user: {err})")
    for name, user in users.items():
        print(f"   {name:<28}{registry.user_fingerprint(user)}")

    # 3. The grid: the training runs, every seed of every learned method, then every agent with its evaluation
    # users, one results file per agent, seed and user.
    results_dir = out / "runs" / profile.name

    def cells(info: AgentInfo, agent: str, eval_users: list[str], trained_by: str | None = None) -> list[EvalCell]:
        return [EvalCell(info, agent, user, str(result_path(results_dir, info.name, user, seed=info.seed)), trained_by)
                for user in dict.fromkeys(eval_users)]

    evaluations: list[EvalCell] = []
    if "nearest-neighbour" in args.baselines:
        evaluations += cells(AgentInfo(name="nearest-neighbour", feedback="none"), "nearest-neighbour", args.users)
    if "random" in args.baselines:
        evaluations += cells(AgentInfo(name="random", feedback="none"), "random", args.users)
    if "whittlesearch" in args.baselines and whittle_user is None:
        print("   (no WhittleSearch row: the catalog has no attribute scores; build it with --attributes FILE)")
    elif "whittlesearch" in args.baselines:
        label = "hand-crafted attributes" if catalog.params is not None else "the catalog's attributes"
        evaluations += cells(AgentInfo(name=f"WhittleSearch ({label})", feedback="relative attributes",
                                       train_user=whittle_user), "whittlesearch", [*args.users, whittle_user])
    if "rocchio" in args.baselines:
        evaluations += cells(AgentInfo(name="Rocchio", feedback="relevance", train_user="relevance"), "rocchio",
                             [*args.users, "relevance"])
    ppo_user = args.users[0]
    trainings = training_cells(profile, args.methods, [*args.users, *populations], seeds, ppo_user)
    for cell in trainings:
        if cell.method == "sb3":
            info = AgentInfo(name=f"{SB3Recipe().label} (trained: {ppo_user})", feedback="natural language",
                             method="sb3", train_user=ppo_user, profile=profile.name, seed=cell.seed)
            evaluations += cells(info, "sb3", args.users, cell.name)
        else:
            info = AgentInfo(name=f"{LABELS[cell.method]} (trained: {cell.user})", feedback="natural language",
                             method=cell.method, train_user=cell.user, profile=profile.name, seed=cell.seed)
            evaluations += cells(info, "manager", language_users, cell.name)

    # 4. Run it: in this process, or as Ray tasks (the artifacts above are built: the tasks only load them).
    world = World(catalog=args.catalog, catalog_name=args.catalog, seed=args.seed, device=device,
                  captions=args.captions, threads=args.threads,
                  catalog_hash=content_hash(catalog.path) if catalog.path else None)
    grid = Grid(world, trainings, evaluations)
    print(f"\n== The grid: {len(trainings)} training runs (seeds {', '.join(map(str, seeds))}), then protocol "
          f"{PROTOCOL_VERSION} (every test item the target once, 10 turns) for {len(evaluations)} agent-user cells")
    if args.ray is None:
        done = grid.run(Context(world, catalog, vocabulary, users, progress), progress=progress)
    else:
        done = grid.run_on_ray(args.ray or None, max_retries=args.retries)
    done.write(out / f"grid-{profile.name}.json")
    results = done.results

    # 5. The leaderboard.
    table, figure = write_leaderboard(results, out)
    print(f"\n== Leaderboard ({profile.name} profile; also in {table})\n")
    print(format_leaderboard(results))
    grid_note = f"{grid_path} " if grid_path else ""
    print(f"\nwrote {table}, {figure}, {grid_note}and {len(results)} results files in {results_dir} "
          f"(total {time.perf_counter() - t0:.0f} s)")
    return results


if __name__ == "__main__":
    main()
