"""Build a catalog's artifacts ahead of time (each is otherwise built on first use and cached).

    python -m simulators.build captioner                  # the full catalog, its vocabulary and its captioner
    python -m simulators.build captioner --catalog tiny   # the 64-item test catalog: a tiny captioner in seconds
    python -m simulators.build catalog                    # only the catalog (render, CNN, projections)
    python -m simulators.build captioner --model.hidden-dim 512 --max-epochs 20   # another captioner

A catalog from a dataset's files (`simulators.datasets`: the paper's Shoes data, Fashion IQ), registered under
a name that every `--catalog` flag then takes:

    python -m simulators.build catalog --format shoes --images ~/shoes --captions ~/fashion-retrieval/dataset
    python -m simulators.build captioner --format fashion-iq --category dress --images ~/fiq/images \\
        --captions ~/fashion-iq                           # the catalog "fashion-iq-dress" and its captioner
    python -m simulators.build captioner --catalog shoes  # the captioner of a catalog built before

Every field of the captioner's TrainConfig is a flag (`--help` lists them with their defaults).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

import torch

from simulators import datasets, registry
from simulators.captioner.train import TrainConfig
from simulators.captioner.user import SMALL_CATALOG, load_captioner
from simulators.catalog.catalog import Catalog
from simulators.cli import add_config_arguments, config_from_args
from simulators.datasets import FASHION_IQ_CATEGORIES, FORMATS, FileCatalogConfig

WHAT = ("catalog", "vocabulary", "captioner")


def captioner_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the captioner's training flags (one per TrainConfig field) to `parser`."""
    add_config_arguments(parser.add_argument_group("captioner training (TrainConfig)"), TrainConfig)
    return parser


def captioner_config(args: argparse.Namespace, n_items: int) -> TrainConfig:
    """The default TrainConfig for a catalog of `n_items` (the tiny one for small catalogs) with the flags given."""
    return config_from_args(args, TrainConfig.tiny() if n_items < SMALL_CATALOG else TrainConfig())


def build_from_files(args: argparse.Namespace) -> tuple[Catalog, str]:
    """Build (or find built) the catalog of `--format`'s files and register it; (catalog, its name)."""
    missing = [flag for flag in ("images", "captions") if not getattr(args, flag)]
    if missing:
        raise SystemExit(f"--format {args.format} needs {' and '.join('--' + m for m in missing)}")
    config = FileCatalogConfig(format=args.format, images=str(Path(args.images).expanduser().resolve()),
                               captions=str(Path(args.captions).expanduser().resolve()), category=args.category,
                               attributes=str(Path(args.attributes).expanduser().resolve()) if args.attributes else "",
                               image_size=args.image_size, backbone=args.backbone, feature_dim=args.feature_dim,
                               spatial_channels=args.spatial_channels, detail_channels=args.detail_channels,
                               test_split=args.test_split)
    name = datasets.check_name(args.name or config.default_name)
    if name in registry.CATALOG_NAMES:
        raise SystemExit(f"--name {name} is SynthShoes's; choose another name")
    catalog, key = datasets.build_file_catalog(config, device=args.device)
    datasets.register(name, config, key)
    return catalog, name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=WHAT, help="what to build (a captioner needs the other two: built too)")
    parser.add_argument("--catalog", default="full",
                        help="full, tiny, or the name or JSON path of a catalog built from files; default %(default)s")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    files = parser.add_argument_group("a catalog from a dataset's files (simulators.datasets)")
    files.add_argument("--format", choices=FORMATS, default=None, help="build from files in this dataset's layout")
    files.add_argument("--images", help="folder under which every image is found by base name (nested folders)")
    files.add_argument("--captions", help="shoes: the folder of the four dataset/ files; fashion-iq: the folder "
                                          "holding captions/ and image_splits/")
    files.add_argument("--category", default="", help=f"Fashion IQ category ({', '.join(FASHION_IQ_CATEGORIES)})")
    files.add_argument("--attributes", default="", help="optional JSON {image name: [10 relative-attribute scores]}")
    files.add_argument("--name", default=None, help="the name to register it under (default: shoes, "
                                                    "fashion-iq-<category>)")
    for field in ("image_size", "backbone", "feature_dim", "spatial_channels", "detail_channels", "test_split"):
        default = FileCatalogConfig.__dataclass_fields__[field].default
        files.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default,
                           help=f"default {default}")
    captioner_parser(parser)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.format is not None:
        catalog, name = build_from_files(args)
        print(f"catalog {name!r} ({catalog.name}): {len(catalog)} items ({len(catalog.train_ids)} train / "
              f"{len(catalog.test_ids)} test), {catalog.meta['corpus_rows']} caption rows, at {catalog.path} "
              f"({time.perf_counter() - t0:.1f} s; built in {catalog.meta['build_seconds']} s); use --catalog {name}")
    else:
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
