"""The real-catalog path measured on SynthShoes exported as the Shoes and Fashion IQ files.

    python -m benchmarks.reports.datasets --catalog full --train   # export, build both formats, compare, train
    python -m benchmarks.reports.datasets --catalog tiny --train   # the same in seconds

1. exports the catalog (`benchmarks.export`: lossless PNG renders in each dataset's folder layout, the
   captioner's training corpus and the test corpus in each dataset's caption format);
2. times a fresh native SynthShoes build (render, CNN, PCA fits; in a scratch data home) and a fresh build of
   each export through `simulators.datasets` (read, CNN, PCA fits), one after the other in this process;
3. compares each built catalog's retrieval vectors and spatial maps with SynthShoes's own, item by item
   (matched by image name): the largest absolute difference, and the share of test items whose 10 nearest
   neighbours come out the same;
4. with `--train`: registers the Shoes export as a catalog of the data home (`--name`), trains its relative
   captioner on its captions (timed), trains the dialog manager by triplet SL with the quick profile's budget
   (one epoch) on each catalog with that catalog's captioner, and runs the protocol for both: the mean rank
   percentile and Hits@10 with their 95% intervals, side by side.

Writes `--out` (results/datasets.json) and prints a markdown summary. One heavy job at a time: the timings are
only comparable within one quiet run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents import triplet_sl
from agents.dialog_manager import DialogManagerAgent
from benchmarks.cli import command_parser, setup
from benchmarks.export import export_catalog, item_names
from benchmarks.machine import machine_description
from benchmarks.protocol import ProtocolConfig, evaluate
from simulators import datasets, registry
from simulators.cache import ArtifactCache, write_json
from simulators.captioner.user import CAPTIONER_CORPUS, SMALL_CATALOG
from simulators.catalog.catalog import Catalog, load_synthshoes
from simulators.corpora import CorpusConfig, load_corpus
from simulators.datasets import FORMATS


def neighbour_agreement(a: np.ndarray, b: np.ndarray, ids: np.ndarray, k: int = 10) -> float:
    """Share of `ids` whose k nearest other items (L2) are the same set in the spaces `a` and `b`."""
    same = 0
    for start in range(0, len(ids), 256):
        rows = ids[start:start + 256]
        found = []
        for x in (a, b):
            d = (x ** 2).sum(1)[None, :] - 2 * x[rows] @ x.T
            d[np.arange(len(rows)), rows] = np.inf
            found.append(np.argsort(d, axis=1, kind="stable")[:, :k])
        same += sum(set(p) == set(q) for p, q in zip(*found, strict=True))
    return same / len(ids)


def compare(native: Catalog, real: Catalog, format: str) -> dict[str, Any]:
    """How far `real` (built from the export) is from `native`, item by item."""
    position = {n: i for i, n in enumerate(item_names(native, format))}
    order = np.array([position[n] for n in real.item_names])
    features, spatial = native.features[order], native.spatial[order].astype(np.float32)
    scale = float(np.abs(features).max())
    return {"max_abs_feature_difference": float(np.abs(real.features - features).max()),
            "feature_scale": scale,
            "max_abs_spatial_difference": float(np.abs(real.spatial.astype(np.float32) - spatial).max()),
            "same_test_neighbours@10": neighbour_agreement(features, real.features, real.test_ids),
            "splits_match": bool((np.sort(order[real.train_ids]) == native.train_ids).all()
                                 and (np.sort(order[real.test_ids]) == native.test_ids).all())}


def train_and_evaluate(catalog_name: str, run_dir: Path, device: str, progress: bool) -> dict[str, Any]:
    """Triplet SL with the quick profile's budget (one epoch) and the captioner, then the protocol."""
    t0 = time.perf_counter()
    triplet_sl.TripletSLArgs(catalog=catalog_name, user="captioner", epochs=1, eval_dialogs=0, run_dir=str(run_dir),
                             device=device, progress=progress).train()
    train_seconds = time.perf_counter() - t0
    catalog = registry.load_catalog(catalog_name, device=device, progress=progress)
    vocabulary = registry.load_vocabulary(catalog)
    user = registry.make_user("captioner", catalog, device=device, progress=progress, vocabulary=vocabulary)
    agent = DialogManagerAgent.load(run_dir / "checkpoint", catalog, vocabulary, device=device)
    agent.use_split("test")
    result = evaluate(agent, catalog, user, ProtocolConfig(), agent_name="SL (triplet)", user_name="captioner",
                      device=device, vocabulary=vocabulary, progress=progress)
    at = {t: result.mean_rank_percentile[t] for t in (1, 2, 5, 10)}
    return {"catalog": catalog.name, "train_seconds": round(train_seconds, 1), "episodes": result.episodes,
            "protocol": result.protocol, "mean_rank_percentile": at,
            "ci95": {t: result.ci95[t] for t in at}, "hits@10": {t: result.hits["@10"][t] for t in at},
            "hits10_ci95": {t: result.hits10_ci95[t] for t in at}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, threads=True)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--work", default="results/datasets-export", help="where the export is written (kept)")
    parser.add_argument("--train", action="store_true", help="also train a captioner and SL on the Shoes export")
    parser.add_argument("--name", default="synthshoes-export", help="the name the Shoes export is registered under")
    parser.add_argument("--out", default="results/datasets.json")
    args = parser.parse_args(argv)
    run = setup(args)
    native, device, progress = run.catalog, run.device, run.progress
    if native.config is None:
        parser.error("--catalog must be SynthShoes (full or tiny): it is the catalog exported")
    small = len(native) < SMALL_CATALOG
    corpora = {"train": load_corpus(native, CorpusConfig.tiny() if small else CAPTIONER_CORPUS),
               "test": load_corpus(native, CorpusConfig.tiny(split="test") if small else CorpusConfig(split="test"))}
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    report: dict[str, Any] = {"machine": machine_description(device), "catalog": native.name, "items": len(native),
                              "corpus_rows": {k: len(v) for k, v in corpora.items()}}

    t0 = time.perf_counter()
    configs = export_catalog(native, work, corpora, args.formats, progress=progress)
    report["export_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"exported {len(native)} items as {', '.join(args.formats)} in {report['export_seconds']} s to {work}")

    scratch = Path(tempfile.mkdtemp(prefix="native-build-"))
    try:
        t0 = time.perf_counter()
        load_synthshoes(native.config, cache=ArtifactCache(scratch), device=device, progress=progress)
        report["native_build_seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"native SynthShoes build: {report['native_build_seconds']} s")

    report["formats"] = {}
    built: dict[str, Catalog] = {}
    for fmt, config in configs.items():
        t0 = time.perf_counter()
        catalog, key = datasets.build_file_catalog(config, device=device, progress=progress)
        seconds = time.perf_counter() - t0
        built[fmt] = catalog
        name = args.name if fmt == "shoes" else f"{args.name}-{fmt}"
        datasets.register(name, config, key)
        entry = {"name": name, "catalog": catalog.name, "build_seconds": round(seconds, 1),
                 "ratio_to_native": round(seconds / report["native_build_seconds"], 2),
                 "captions": catalog.meta["captions"], "corpus_rows": catalog.meta["corpus_rows"],
                 **compare(native, catalog, fmt)}
        report["formats"][fmt] = entry
        print(f"{fmt}: built in {entry['build_seconds']} s ({entry['ratio_to_native']}x native), largest feature "
              f"difference {entry['max_abs_feature_difference']:.2e} (scale {entry['feature_scale']:.1f}), same 10 "
              f"neighbours {entry['same_test_neighbours@10']:.1%}")
        write_json(report, args.out)

    if args.train and "shoes" in built:
        t0 = time.perf_counter()
        real = built["shoes"]
        vocabulary = registry.load_vocabulary(real)
        captioner = registry.make_user("captioner", real, device=device, progress=progress, vocabulary=vocabulary)
        report["captioner"] = {"train_seconds": round(time.perf_counter() - t0, 1),
                               "history": {k: v for k, v in captioner.meta.get("history", {}).items()
                                           if k in ("best_epoch", "best_val_nll", "train_seconds")}}
        print(f"captioner of the Shoes export trained in {report['captioner']['train_seconds']} s")
        write_json(report, args.out)
        runs = work / "runs"
        report["sl"] = {"native": train_and_evaluate(args.catalog, runs / "native", device, progress),
                        "shoes files": train_and_evaluate(args.name, runs / "shoes", device, progress)}
        for label, row in report["sl"].items():
            pct, ci, hits = row["mean_rank_percentile"], row["ci95"], row["hits@10"]
            print(f"SL on {label}: trained {row['train_seconds']} s; turn 5 {pct[5]:.2%} [{ci[5][0]:.2%}, "
                  f"{ci[5][1]:.2%}], Hits@10 {hits[5]:.1%}")
    write_json(report, args.out)
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
