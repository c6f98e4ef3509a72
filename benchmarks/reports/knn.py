"""Nearest-neighbour search for the candidate generator: time per search, build time and IVF recall.

    python -m benchmarks.reports.knn                  # N = 10,000 and N = 1,000,000 items (about 3 minutes, 5 GB)
    python -m benchmarks.reports.knn --quick          # N = 10,000 and N = 100,000, fewer repeats
    python -m benchmarks.reports.knn --catalog full   # also the SynthShoes train split's own features

faiss is an optional extra (`pip install -e '.[faiss]'`; the dev extra has it).

The search is the dialog manager's: 128 queries, k = 4, each row skipping 5 shown images, for
every backend of `agents.index.NearestNeighbourIndex`. Items are random isotropic Gaussian vectors
of D = 256 (no clusters: the hardest case for IVF, so its recall there is a floor) and, with
`--catalog`, the catalog's own train features. Each query is an item plus noise, and its exclusions
are its exact 5 nearest items (a dialog has shown its nearest images already), so they always bite.

Backends are timed round-robin within each repeat, so load from other jobs on the shared machine
hits them alike; the table gives the median and the range of the repeats. Recall is the share of
the exact top-k (the torch backend's) that faiss-ivf returns. At 1M items faiss-ivf uses
nlist = 1024 rather than its default of about 4 sqrt(N) = 4000, which takes minutes to build here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import faiss
import numpy as np
import torch

from agents.index import NearestNeighbourIndex, default_nlist
from benchmarks.machine import machine_description
from simulators import registry
from simulators.cache import write_json

DIM, QUERIES, K, EXCLUDED = 256, 128, 4, 5
QUERY_NOISE = 0.5  # per-coordinate std of a query around its item (items have std 1)


def timed(build: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = build()
    return out, time.perf_counter() - start


def recall(found: torch.Tensor, exact: torch.Tensor) -> float:
    """Mean over rows of |found & exact| / k."""
    hits = (found[:, :, None] == exact[:, None, :]).any(dim=2)  # (B, k)
    return float(hits.float().mean())


def bench_size(n: int, nlist: int | None, nprobes: list[int], repeats: int, seed: int = 0,
               items: np.ndarray | None = None, label: str = "random Gaussian") -> dict[str, Any]:
    """One table: random Gaussian items of size n, or the given `items` (queries: items plus noise scaled to
    each coordinate's spread)."""
    rng = np.random.default_rng(seed)
    if items is None:
        items = rng.standard_normal((n, DIM), dtype=np.float32)  # (N, D)
    n, dim = items.shape
    anchors = rng.integers(0, n, QUERIES)
    noise = rng.normal(0, QUERY_NOISE, (QUERIES, dim)) * items.std(axis=0)
    queries = torch.from_numpy((items[anchors] + noise).astype(np.float32))

    indexes, build_s = {}, {}
    for backend in ("torch", "faiss-flat", "faiss-ivf"):
        kwargs = {"nlist": nlist} if backend == "faiss-ivf" else {}
        indexes[backend], build_s[backend] = timed(lambda b=backend, kw=kwargs: NearestNeighbourIndex(items, b, **kw))
    ivf = indexes["faiss-ivf"]

    _, exclude = indexes["torch"].search(queries, EXCLUDED)  # (B, M): each query's exact nearest, as if shown
    searches: dict[str, Callable[[], tuple[torch.Tensor, torch.Tensor]]] = {
        "torch": lambda: indexes["torch"].search(queries, K, exclude),
        "faiss-flat": lambda: indexes["faiss-flat"].search(queries, K, exclude),
    }
    for nprobe in nprobes:
        def search_ivf(nprobe: int = nprobe) -> tuple[torch.Tensor, torch.Tensor]:
            ivf.nprobe = nprobe
            return ivf.search(queries, K, exclude)
        searches[f"faiss-ivf nprobe={nprobe}"] = search_ivf

    results = {name: search() for name, search in searches.items()}  # also the warm-up call
    exact_ids = results["torch"][1]
    times: dict[str, list[float]] = {name: [] for name in searches}
    for _ in range(repeats):
        for name, search in searches.items():
            times[name].append(timed(search)[1])

    rows = {}
    for name, t in times.items():
        backend = name.split()[0]
        rows[name] = {
            "build_s": build_s[backend],
            "search_ms_median": 1e3 * statistics.median(t),
            "search_ms_min": 1e3 * min(t),
            "search_ms_max": 1e3 * max(t),
            "recall": recall(results[name][1], exact_ids),
            "excluded_returned": int((results[name][1][:, :, None] == exclude[:, None, :]).any(dim=2).sum()),
        }
    return {"n_items": n, "dim": dim, "queries": QUERIES, "k": K, "excluded_per_row": EXCLUDED,
            "features": label, "nlist": ivf.nlist, "default_nlist": default_nlist(n),
            "repeats": repeats, "rows": rows}


def print_table(report: dict[str, Any]) -> None:
    print(f"\nN={report['n_items']:,}  D={report['dim']}  {report['queries']} queries, k={report['k']}, "
          f"{report['excluded_per_row']} excluded per row, {report['features']} items, "
          f"faiss-ivf nlist={report['nlist']}, {report['repeats']} repeats")
    print(f"{'backend':<22}{'build s':>9}{'search ms median':>18}{'  [min - max]':<20}{'recall@k':>9}")
    for name, row in report["rows"].items():
        spread = f"  [{row['search_ms_min']:.1f} - {row['search_ms_max']:.1f}]"
        print(f"{name:<22}{row['build_s']:>9.2f}{row['search_ms_median']:>18.1f}{spread:<20}{row['recall']:>9.3f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 100,000 instead of 1,000,000; fewer repeats")
    parser.add_argument("--catalog", default=None,
                        help="also time the train split of this catalog's retrieval features (built if missing)")
    parser.add_argument("--out", default="results/knn.json")
    args = parser.parse_args(argv)

    large = 100_000 if args.quick else 1_000_000
    report: dict[str, Any] = {
        "machine": machine_description(torch.device("cpu")),
        "faiss_threads": faiss.omp_get_max_threads(),
        "load_average_1min_before": os.getloadavg()[0],
        "sizes": [bench_size(10_000, None, [8, 32, 128], repeats=5 if args.quick else 15),
                  bench_size(large, 1024, [8, 32, 128], repeats=3)],
    }
    if args.catalog:
        catalog = registry.load_catalog(args.catalog)
        features = np.ascontiguousarray(catalog.features[catalog.train_ids], dtype=np.float32)
        report["sizes"].insert(1, bench_size(len(features), None, [8, 32, 128], repeats=5 if args.quick else 15,
                                             items=features, label=f"{catalog.name} train split"))
    report["load_average_1min_after"] = os.getloadavg()[0]
    print(f"{report['machine']}; load average {report['load_average_1min_before']:.1f} before, "
          f"{report['load_average_1min_after']:.1f} after")
    for size in report["sizes"]:
        print_table(size)
    print(f"\nwrote {write_json(report, args.out)}")
    return report


if __name__ == "__main__":
    main()
