"""The main job: build what is missing (catalog, captioner, every agent), evaluate every agent, print the leaderboard.

    python -m benchmarks.main                      # quick profile on the full catalog (the README's run command)
    python -m benchmarks.main --profile paper      # the agents' full training budgets
    python -m benchmarks.main --catalog tiny       # a 64-item catalog, for a quick look

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
   agent and user in `results/runs/<profile>/` (reused while the checkpoint, the user and the
   protocol are unchanged);
5. the leaderboard: `results/leaderboard.md` and `results/rank_curves.png`.

The quick profile trains briefly (SL one epoch, policy improvement and SCST a few dozen batches, the SB3
agent 131,072 steps) and every one of its results says "quick"; the paper profile uses the budgets of the
agents' own commands (the SB3 agent: 1,000,000 steps, under 30 minutes on 2 CPU cores with the captioner).
Training and evaluation are deterministic on CPU for a given thread count: two runs print the same
numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import policy_improvement, scst, triplet_sl
from agents.baselines import NearestNeighbourAgent, RandomAgent
from agents.dialog_manager import DialogManagerAgent
from agents.rocchio import RocchioAgent
from agents.sb3 import SB3Recipe, train_sb3
from agents.whittlesearch import WhittleSearchAgent
from benchmarks.grid import make_grid, pick_rows
from benchmarks.leaderboard import format_leaderboard, write_leaderboard
from benchmarks.lexicon import format_corpus_comparison, format_lexicon
from benchmarks.protocol import PROTOCOL_VERSION, ProtocolConfig, evaluate
from benchmarks.results import AgentInfo, RunResult, make_result, result_path, reusable_result, write_result
from envs.ranking import resolve_device
from simulators import registry
from simulators.cache import content_hash
from simulators.catalog.estimators import load_attribute_estimates
from simulators.catalog.params import CATEGORIES
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.stats import corpus_statistics, lexicon_statistics


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
METHODS = ("triplet_sl", "policy_improvement", "scst")
LABELS = {"triplet_sl": "SL (triplet)", "policy_improvement": "policy improvement", "scst": "RL-SCST"}


def train_manager(method: str, user: str, profile: Profile, catalog_name: str, seed: int, device: str,
                  progress: bool, captions: str | None = None) -> tuple[Path, float]:
    """Train (or resume, or find finished) one dialog-manager run; (checkpoint folder, training minutes)."""
    run_dir = Path(profile.runs) / f"{method}-{user}-s{seed}"
    checkpoint = run_dir / "checkpoint"
    epochs = {"triplet_sl": profile.sl_epochs, "policy_improvement": profile.pi_epochs,
              "scst": profile.scst_epochs}[method]
    state_path = checkpoint / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state["epoch"] + 1 >= epochs:
            return checkpoint, state["train_seconds"] / 60
    common = {"catalog": catalog_name, "user": user, "seed": seed, "device": device, "epochs": epochs,
              "eval_dialogs": profile.eval_dialogs, "run_dir": str(run_dir), "resume": True, "progress": progress,
              "captions": captions or ""}
    if method == "triplet_sl":
        args: Any = triplet_sl.TripletSLArgs(**common)
    elif method == "policy_improvement":
        args = policy_improvement.PolicyImprovementArgs(**common, max_batches=profile.pi_max_batches)
    else:
        args = scst.SCSTArgs(**common, max_batches=profile.scst_max_batches)
    print(f"\n-- training {LABELS[method]} with the {user} user ({profile.name} profile) in {run_dir}")
    args.train()
    state = json.loads(state_path.read_text(encoding="utf-8"))
    return checkpoint, state["train_seconds"] / 60


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
    parser.add_argument("--seed", type=int, default=0)
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
    t0 = time.perf_counter()

    # 1. The world.
    catalog = registry.load_catalog(args.catalog, device=device, progress=progress, seed=args.seed)
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

    # 3. The agents: (AgentInfo, factory, evaluation users).
    split_ids = catalog.split_ids("test")
    entries: list[tuple[AgentInfo, Any, list[str]]] = [
        (AgentInfo(name="nearest-neighbour", feedback="none"), NearestNeighbourAgent, args.users),
        (AgentInfo(name="random", feedback="none"), lambda: RandomAgent(len(split_ids), seed=args.seed), args.users),
    ]
    if whittle_user is None:
        print("   (no WhittleSearch row: the catalog has no attribute scores; build it with --attributes FILE)")
    else:
        values = (load_attribute_estimates(catalog, "handcrafted") if catalog.params is not None
                  else catalog.attributes)[split_ids]
        label = "hand-crafted attributes" if catalog.params is not None else "the catalog's attributes"
        entries.append((AgentInfo(name=f"WhittleSearch ({label})", feedback="relative attributes",
                                  train_user=whittle_user),
                        lambda: WhittleSearchAgent(values, vocabulary, features=catalog.features[split_ids]),
                        [*args.users, whittle_user]))
    entries.append((AgentInfo(name="Rocchio", feedback="relevance", train_user="relevance"),
                    lambda: RocchioAgent(vocabulary), [*args.users, "relevance"]))
    for user in [*args.users, *populations]:
        for method in METHODS:
            checkpoint, minutes = train_manager(method, user, profile, args.catalog, args.seed, device, progress,
                                                args.captions)
            info = AgentInfo(name=f"{LABELS[method]} (trained: {user})", feedback="natural language",
                             checkpoint_sha256=content_hash(checkpoint), method=method, train_user=user,
                             profile=profile.name, train_minutes=round(minutes, 2))

            def load(checkpoint: Path = checkpoint) -> DialogManagerAgent:
                agent = DialogManagerAgent.load(checkpoint, catalog, vocabulary, device=device)
                agent.use_split("test")
                return agent

            entries.append((info, load, language_users))
    ppo_user = args.users[0]
    print(f"\n-- SB3 through SB3VecEnv with the {ppo_user} user ({profile.ppo_timesteps:,} steps, "
          f"{profile.name} profile)")
    recipe = SB3Recipe()
    ppo_dir = Path(profile.runs) / f"sb3-{ppo_user}-s{args.seed}"
    ppo, ppo_minutes = train_sb3(catalog, users[ppo_user], vocabulary, ppo_dir, profile.ppo_timesteps, recipe=recipe,
                                 seed=args.seed, device=device, progress=progress)
    entries.append((AgentInfo(name=f"{recipe.label} (trained: {ppo_user})", feedback="natural language",
                              checkpoint_sha256=content_hash(ppo_dir / "checkpoint"), method="sb3",
                              train_user=ppo_user, profile=profile.name, train_minutes=round(ppo_minutes, 2)),
                    lambda: ppo, args.users))

    # 4. The protocol, one results file per agent and user.
    protocol = ProtocolConfig(seed=args.seed)
    results_dir = out / "runs" / profile.name
    results: list[RunResult] = []
    catalog_hash = content_hash(catalog.path) if catalog.path else None
    print(f"\n== Protocol {PROTOCOL_VERSION}: every test item the target once, 10 turns")
    for info, factory, eval_users in entries:
        for user_name in dict.fromkeys(eval_users):
            user = users[user_name]
            path = result_path(results_dir, info.name, user_name)
            cached = reusable_result(path, info, registry.user_fingerprint(user), catalog_hash)
            if cached is not None:
                results.append(cached)
                continue
            evaluation = evaluate(factory(), catalog, user, protocol, agent_name=info.name, user_name=user_name,
                                  device=device, vocabulary=vocabulary, progress=progress)
            result = make_result(evaluation, catalog, info, user, user_name, device)
            write_result(result, path)
            results.append(result)

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
