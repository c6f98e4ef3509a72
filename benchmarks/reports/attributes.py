"""Relative-attribute estimators: per attribute, how well hand-crafted and deep rankers order test pairs.

    python -m benchmarks.reports.attributes                      # the protocol's catalog (estimators built if missing)
    python -m benchmarks.reports.attributes --catalog tiny --fresh

For each estimator (`simulators.catalog.estimators`): the pairwise ordering accuracy of its ranking
functions on test-split pairs whose true scores differ by more than the margin (ties count half),
and the share of test pairs on which a user speaking from its estimates says the same word
("more" / "as" / "less", tolerance 0.05) as the oracle user speaking from the true scores. Times
are those recorded when the estimator was built (features, then the fit), or measured now with
`--fresh` (built again without touching the cache).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from simulators.cache import write_json
from simulators.catalog.attributes import ATTRIBUTES
from simulators.catalog.estimators import (
    ESTIMATOR_KINDS,
    EstimatorConfig,
    build_estimator,
    load_attribute_estimator,
    ordered_pairs,
    pairwise_accuracy,
)
from simulators.seeding import make_rng
from simulators.users import AttributeUser

FEEDBACK_PAIRS = 200_000


def feedback_agreement(estimates: np.ndarray, true_scores: np.ndarray, ids: np.ndarray, tolerance: float,
                       seed: int = 0) -> np.ndarray:
    """(10,) per attribute, the share of random pairs of `ids` on which "more/as/less" at `tolerance` is the
    same from the estimates as from the true scores."""
    first, second, _ = ordered_pairs(true_scores, ids, 0.0, FEEDBACK_PAIRS, make_rng(seed, "benchmarks", "feedback"))

    def relation(values: np.ndarray) -> np.ndarray:
        diff = values[first] - values[second]
        return np.where(diff > tolerance, 1, np.where(diff < -tolerance, -1, 0))

    return (relation(estimates) == relation(true_scores)).mean(axis=0)


def evaluate(catalog: Any, kind: str, fresh: bool) -> dict[str, Any]:
    config = EstimatorConfig(features=kind)
    estimator = build_estimator(catalog, config) if fresh else load_attribute_estimator(catalog, config)
    accuracy = pairwise_accuracy(estimator.scores, catalog.attributes, catalog.test_ids, config.margin)
    tolerance = AttributeUser(catalog.attributes).tolerance  # the users' default
    agreement = feedback_agreement(estimator.estimates, catalog.attributes, catalog.test_ids, tolerance)
    return {
        "config": config.key(),
        "accuracy": dict(zip(ATTRIBUTES, accuracy.tolist(), strict=True)),
        "mean_accuracy": float(np.nanmean(accuracy)),
        "feedback_agreement": dict(zip(ATTRIBUTES, agreement.tolist(), strict=True)),
        "mean_feedback_agreement": float(agreement.mean()),
        "feature_seconds": estimator.meta["feature_seconds"],
        "fit_seconds": estimator.meta["fit_seconds"],
        "timed_now": fresh,
        "train_pairs": estimator.meta["train_pairs"],
    }


def print_table(report: dict[str, Any]) -> None:
    results = report["estimators"]
    print(f"\n{report['catalog']}: pairwise ordering accuracy on test pairs (margin {report['margin']}); "
          f"in brackets, agreement of the estimated user's word with the oracle's")
    print(f"{'attribute':<24}" + "".join(f"{kind:>20}" for kind in results))
    for a in ATTRIBUTES:
        print(f"{a:<24}" + "".join(f"{r['accuracy'][a]:>12.3f} ({r['feedback_agreement'][a]:.3f})"
                                   for r in results.values()))
    print(f"{'mean':<24}" + "".join(f"{r['mean_accuracy']:>12.3f} ({r['mean_feedback_agreement']:.3f})"
                                   for r in results.values()))
    print(f"{'features + fit (s)':<24}" + "".join(f"{r['feature_seconds']:>11.1f} + {r['fit_seconds']:<6.1f}"
                                                  for r in results.values()))
    total = sum(r["feature_seconds"] + r["fit_seconds"] for r in results.values())
    print(f"both estimators: {total:.1f} s ({'measured now' if report['fresh'] else 'as recorded at build'})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, device=False, progress=False)
    parser.add_argument("--fresh", action="store_true", help="build the estimators again (not cached) and time them")
    parser.add_argument("--out", default="results/attributes.json")
    args = parser.parse_args(argv)

    catalog = setup(args).catalog
    report: dict[str, Any] = {
        "catalog": catalog.name,
        "machine": machine_description(torch.device("cpu")),
        "load_average_1min_before": os.getloadavg()[0],
        "margin": EstimatorConfig().margin,
        "fresh": args.fresh,
        "estimators": {kind: evaluate(catalog, kind, args.fresh) for kind in ESTIMATOR_KINDS},
    }
    report["load_average_1min_after"] = os.getloadavg()[0]
    print(f"{report['machine']}; load average {report['load_average_1min_before']:.1f} before, "
          f"{report['load_average_1min_after']:.1f} after")
    print_table(report)
    print(f"\nwrote {write_json(report, args.out)}")
    return report


if __name__ == "__main__":
    main()
