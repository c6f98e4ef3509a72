"""The main job: build (or load) the SynthShoes catalog, then run the baselines through the protocol.

    python -m benchmarks.main                   # the README's run command does set-up, then this
    python -m benchmarks.main --catalog tiny    # a 64-item catalog, for a quick look

Prints what was built (items per category and split, build time, the grid picture), the caption
corpus statistics next to the human figures, and the baselines' mean target rank percentile per
turn over the test split (every test item the target once, 10 turns). Writes results/main.json,
results/rank_curves.png and results/synthshoes_grid.png.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from agents.baselines import NearestNeighbourAgent, RandomAgent
from benchmarks.grid import make_grid, pick_rows
from benchmarks.plots import plot_rank_curves
from benchmarks.protocol import ProtocolConfig, evaluate, format_table, save_results
from envs.ranking import resolve_device
from simulators import registry
from simulators.cache import write_json
from simulators.catalog.params import CATEGORIES
from simulators.language.stats import HUMAN_STATISTICS, corpus_statistics
from simulators.world import CorpusConfig, load_corpus


def format_corpus_comparison(stats: dict) -> str:
    """Synthetic corpus against the human figures of DESIGN.md section 6, in percent."""
    lines = [f"   {'statistic':<30}{'synthetic':>10}{'human':>8}"]
    lines.append(f"   {'mean words':<30}{stats['mean_words']:>10.2f}{HUMAN_STATISTICS['mean_words']:>8.2f}")
    for key, ref in HUMAN_STATISTICS.items():
        if isinstance(ref, dict):
            for item, value in ref.items():
                lines.append(f"   {key.removesuffix('_shares') + ': ' + str(item):<30}"
                             f"{100 * stats[key][item]:>9.1f}%{100 * value:>7.1f}%")
        elif key.endswith("_share"):
            lines.append(f"   {key.removesuffix('_share'):<30}{100 * stats[key]:>9.1f}%{100 * ref:>7.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", choices=registry.CATALOG_NAMES, default="full")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto")
    parser.add_argument("--users", nargs="+", default=["captioner"], choices=registry.USER_NAMES,
                        help="users to evaluate with (default: the captioner, the environment's default user, "
                             "trained and cached on first use)")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    device = str(resolve_device(args.device))
    progress = not args.no_progress

    t0 = time.perf_counter()
    config = registry.catalog_config(args.catalog, seed=args.seed)
    catalog = registry.load_catalog(config, device=device, progress=progress)
    load_s = time.perf_counter() - t0
    print(f"\n== SynthShoes catalog: {len(catalog)} items ({len(catalog.train_ids)} train / {len(catalog.test_ids)} "
          f"test), {config.image_size}x{config.image_size} renders, {config.backbone} features "
          f"D={catalog.feature_dim}, spatial maps {tuple(catalog.spatial.shape[1:])}")
    print(f"   stored at {catalog.path}")
    print(f"   build time {catalog.meta.get('build_seconds', float('nan')):.0f} s (this run: loaded in {load_s:.1f} s)")
    train_counts, test_counts = catalog.category_counts("train"), catalog.category_counts("test")
    print(f"   {'category':<16}{'train':>7}{'test':>7}")
    for c in CATEGORIES:
        print(f"   {c:<16}{train_counts[c]:>7}{test_counts[c]:>7}")
    grid_path = out / "synthshoes_grid.png"
    grid_path.parent.mkdir(parents=True, exist_ok=True)
    make_grid(catalog.params, pick_rows(catalog.params, 8), size=config.image_size).save(grid_path)
    print(f"   grid picture: {grid_path}")

    corpus = load_corpus(catalog, CorpusConfig(split="train", seed=args.seed))
    vocabulary = registry.load_vocabulary(catalog)
    print(f"\n== Caption corpus (train split): {len(corpus)} rows, vocabulary of {len(vocabulary)} tokens")
    print(format_corpus_comparison(corpus_statistics(corpus.relative_captions)))

    protocol = ProtocolConfig(max_turns=args.turns, seed=args.seed)
    results = []
    for user in args.users:
        for agent, name in ((RandomAgent(len(catalog.test_ids), seed=args.seed), "random"),
                            (NearestNeighbourAgent(), "nearest-neighbour")):
            results.append(evaluate(agent, catalog, user, protocol, agent_name=name, user_name=user, device=device,
                                    vocabulary=vocabulary, progress=progress))
    print(f"\n== Baselines, test split ({results[0].episodes} dialogs, {args.turns} turns): "
          "mean target rank percentile per turn")
    print(format_table(results))
    save_results(results, out / "main.json")
    curves = plot_rank_curves(results, out / "rank_curves.png")
    summary = {"catalog": catalog.name, "build_seconds": catalog.meta.get("build_seconds"),
               "results": str(out / "main.json"), "plot": str(curves), "grid": str(grid_path)}
    write_json(summary, out / "summary.json")
    print(f"\nwrote {out / 'main.json'}, {curves}, {grid_path}  (total {time.perf_counter() - t0:.0f} s)")
    return summary


if __name__ == "__main__":
    main()
