"""Build a catalog's artifacts ahead of time (each is otherwise built on first use and cached).

    python -m simulators.build captioner                  # the full catalog, its vocabulary and its captioner
    python -m simulators.build captioner --catalog tiny   # the 64-item test catalog: a tiny captioner in seconds
    python -m simulators.build catalog                    # only the catalog (render, CNN, projections)
    python -m simulators.build captioner --model.hidden-dim 512 --max-epochs 20   # another captioner

Every field of the captioner's TrainConfig is a flag (`--help` lists them with their defaults).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import torch

from simulators import registry
from simulators.captioner.train import TrainConfig
from simulators.captioner.user import SMALL_CATALOG, load_captioner
from simulators.cli import add_config_arguments, config_from_args

WHAT = ("catalog", "vocabulary", "captioner")


def captioner_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the captioner's training flags (one per TrainConfig field) to `parser`."""
    add_config_arguments(parser.add_argument_group("captioner training (TrainConfig)"), TrainConfig)
    return parser


def captioner_config(args: argparse.Namespace, n_items: int) -> TrainConfig:
    """The default TrainConfig for a catalog of `n_items` (the tiny one for small catalogs) with the flags given."""
    return config_from_args(args, TrainConfig.tiny() if n_items < SMALL_CATALOG else TrainConfig())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=WHAT, help="what to build (a captioner needs the other two: built too)")
    parser.add_argument("--catalog", choices=registry.CATALOG_NAMES, default="full")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    captioner_parser(parser)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    catalog = registry.load_catalog(args.catalog, device=args.device)
    print(f"catalog {catalog.name}: {len(catalog)} items at {catalog.path} ({time.perf_counter() - t0:.1f} s)")
    if args.what == "catalog":
        return
    vocabulary = registry.load_vocabulary(catalog)
    print(f"vocabulary: {len(vocabulary)} words, sha256 {vocabulary.content_hash[:12]}")
    if args.what == "vocabulary":
        return
    config = captioner_config(args, len(catalog))
    t0 = time.perf_counter()
    user = load_captioner(catalog, vocabulary, config, device=args.device, progress=True)
    print(f"captioner for {catalog.name} ready at {user.path} ({time.perf_counter() - t0:.1f} s)")
    history = user.meta.get("history", {})
    if history:
        print(f"trained {history.get('train_seconds')} s, best epoch {history.get('best_epoch')}, "
              f"validation NLL {history.get('best_val_nll'):.3f} per caption")
    print("config:", asdict(config))


if __name__ == "__main__":
    main()
