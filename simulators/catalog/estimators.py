"""Relative-attribute estimators: the ten attribute scores as a model would predict them from an image.

The paper's attribute users speak from *estimated* attribute values, either WhittleSearch's
(hand-crafted image features) or a deep network's. Here each attribute gets one linear ranking
function, learned in the manner of relative attributes (Parikh & Grauman, 2011) from ordered pairs
of train images (ordered by the true score; pairs closer than `margin` left out) with a pairwise
logistic loss, on one of two feature sets:

- "handcrafted": an RGB colour histogram and a gradient-orientation histogram (HOG-like) of the
  rendered image, as WhittleSearch used colour and GIST features;
- "deep": the catalog's CNN retrieval features.

The ranking function's output is mapped to [0, 1] by matching quantiles with the true scores on the
train split (a monotone map), so estimates have the true scores' distribution and a user's tolerance
("as shiny" within 0.05) means the same for both. Built once per (catalog, config) and cached:

    estimates = load_attribute_estimates(catalog, "deep")                    # (N, 10) float32 in [0, 1]
    accuracy = pairwise_accuracy(estimator.scores, catalog.attributes, catalog.test_ids)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from simulators.cache import ArtifactCache, save_array
from simulators.catalog.attributes import ATTRIBUTES
from simulators.catalog.catalog import Catalog
from simulators.catalog.histograms import colour_histogram, gradient_histogram
from simulators.seeding import make_rng

ESTIMATOR_KINDS: tuple[str, ...] = ("handcrafted", "deep")
KIND = "attribute-estimates"


@dataclass(frozen=True)
class EstimatorConfig:
    """Everything that determines a set of estimated attribute scores; a change builds a new artifact."""

    features: str = "deep"
    """Feature set the rankers read: "handcrafted" (colour + gradient-orientation histograms) or "deep"."""
    margin: float = 0.05
    """Pairs whose true scores differ by at most this are left out of training and evaluation."""
    max_pairs: int = 300_000
    """Random train pairs drawn (before the margin filter); all pairs when the split has fewer."""
    l2: float = 1e-3
    """Weight of the squared-norm penalty on each ranking function (the RankSVM's 1/C)."""
    max_iter: int = 200
    """L-BFGS iterations of the full-batch fit (all ten rankers at once)."""
    image_size: int = 64
    """Side in pixels at which images are rendered for hand-crafted features."""
    colour_bins: int = 8
    """Bins per RGB channel of the colour histogram (8 -> 512 bins)."""
    orientation_bins: int = 9
    """Unsigned gradient-orientation bins per cell of the gradient histogram."""
    grid: int = 4
    """The gradient histogram's cells per side (4 -> 16 cells)."""
    seed: int = 0
    """Seed of the pair sampling."""
    version: int = 1
    """Bumped whenever the features or the fit change, so stale estimates are never reused."""

    def __post_init__(self) -> None:
        if self.features not in ESTIMATOR_KINDS:
            raise ValueError(f"features must be one of {ESTIMATOR_KINDS}, got {self.features!r}")
        if not 0 <= self.margin < 1 or self.max_pairs < 1 or self.l2 < 0 or self.max_iter < 1:
            raise ValueError(f"invalid estimator config {self}")
        if self.image_size < 16 or self.image_size % self.grid:
            raise ValueError(f"image_size must be >= 16 and a multiple of grid, got {self.image_size}, {self.grid}")

    def key(self) -> dict[str, Any]:
        """The fields that matter to this feature set (hand-crafted settings do not key deep estimates)."""
        fields = asdict(self)
        if self.features == "deep":
            for name in ("image_size", "colour_bins", "orientation_bins", "grid"):
                fields.pop(name)
        return fields


@dataclass(frozen=True)
class AttributeEstimator:
    """A fitted set of ten rankers and their outputs for every catalog item."""

    scores: np.ndarray
    """(N, 10) float32 raw ranking-function outputs (their order is what the rankers learned)."""
    estimates: np.ndarray
    """(N, 10) float32 estimated attribute scores in [0, 1] (scores mapped to the true train quantiles)."""
    config: EstimatorConfig
    meta: dict[str, Any]
    """Build facts: train pairs per attribute, seconds spent on features and on fitting."""


# ---------------------------------------------------------------- features (histograms: catalog.histograms)


def handcrafted_features(catalog: Catalog, config: EstimatorConfig, chunk: int = 512) -> np.ndarray:
    """(N, bins**3 + grid**2 * orientation_bins) float32: colour and gradient histograms of every item's image
    (rendered, or read from a real catalog's files), square-rooted (the Hellinger map, so a linear ranker compares
    histograms sensibly)."""
    parts = []
    for start in range(0, len(catalog), chunk):
        images = catalog.render(np.arange(start, min(start + chunk, len(catalog))), config.image_size)
        parts.append(np.concatenate([colour_histogram(images, config.colour_bins),
                                     gradient_histogram(images, config.orientation_bins, config.grid)], axis=1))
    return np.sqrt(np.concatenate(parts))


# ---------------------------------------------------------------- pairs and the ranker


def ordered_pairs(true_scores: np.ndarray, ids: np.ndarray, margin: float, max_pairs: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of items of `ids` and, per attribute, which pairs count and which way they are ordered.

    Returns (first, second, sign): (P,) catalog ids each and (P, 10) int8 sign of the true score difference
    first - second, 0 where it is within `margin` (the pair is left out for that attribute). Every pair when
    `ids` has at most `max_pairs` of them, else `max_pairs` distinct-item pairs drawn at random.
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    if n * (n - 1) // 2 <= max_pairs:
        a, b = np.triu_indices(n, k=1)
    else:
        a = rng.integers(0, n, max_pairs)
        b = rng.integers(0, n - 1, max_pairs)
        b = b + (b >= a)  # a != b
    first, second = ids[a], ids[b]
    diff = true_scores[first] - true_scores[second]  # (P, 10)
    sign = np.where(diff > margin, 1, np.where(diff < -margin, -1, 0)).astype(np.int8)
    return first, second, sign


def fit_rankers(features: np.ndarray, first: np.ndarray, second: np.ndarray, sign: np.ndarray, l2: float,
                max_iter: int) -> np.ndarray:
    """(F, K) weights of K linear ranking functions fitted with a pairwise logistic loss (mean per ranker over
    its pairs, `sign` != 0) plus l2 * ||w||^2, full batch with L-BFGS. `first`/`second` index rows of features."""
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))  # (M, F)
    i, j = torch.from_numpy(first), torch.from_numpy(second)
    y = torch.from_numpy(sign.astype(np.float32))  # (P, K)
    counted = (y != 0).float()
    per_ranker = counted.sum(dim=0).clamp(min=1)  # (K,)
    weights = torch.zeros(x.shape[1], y.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([weights], lr=1, max_iter=max_iter, history_size=20,
                                  line_search_fn="strong_wolfe", tolerance_grad=1e-6, tolerance_change=1e-9)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        s = x @ weights  # (M, K)
        margin = (s[i] - s[j]) * y  # (P, K), positive when ordered right
        loss = ((torch.nn.functional.softplus(-margin) * counted).sum(dim=0) / per_ranker).sum()
        loss = loss + l2 * (weights**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weights.detach().numpy()


def quantile_map(scores: np.ndarray, reference_scores: np.ndarray, reference_true: np.ndarray) -> np.ndarray:
    """Map each column of `scores` monotonically onto the distribution of `reference_true`: a score at the q-th
    quantile of `reference_scores` becomes the q-th quantile of the true scores. Float32 in [0, 1]."""
    out = np.empty(scores.shape, dtype=np.float32)
    for k in range(scores.shape[1]):
        out[:, k] = np.interp(scores[:, k], np.sort(reference_scores[:, k]), np.sort(reference_true[:, k]))
    return out


def pairwise_accuracy(scores: np.ndarray, true_scores: np.ndarray, ids: np.ndarray, margin: float = 0.05,
                      max_pairs: int = 300_000, seed: int = 0) -> np.ndarray:
    """(10,) per-attribute share of pairs of `ids` (true scores more than `margin` apart) that `scores` order
    the same way as the true scores; a tie in `scores` counts half. NaN for an attribute with no such pair."""
    rng = make_rng(seed, "estimators", "evaluation-pairs")
    first, second, sign = ordered_pairs(true_scores, ids, margin, max_pairs, rng)
    predicted = np.sign(scores[first] - scores[second])  # (P, 10)
    agree = np.where(predicted == 0, 0.5, (predicted == sign).astype(np.float64))
    counted = sign != 0
    with np.errstate(invalid="ignore"):
        return (agree * counted).sum(axis=0) / counted.sum(axis=0)


# ---------------------------------------------------------------- build and load


def build_estimator(catalog: Catalog, config: EstimatorConfig) -> AttributeEstimator:
    """Compute features, fit the ten rankers on the train split and score every catalog item (no caching)."""
    t0 = time.perf_counter()
    if config.features == "handcrafted":
        features = handcrafted_features(catalog, config)
    else:
        features = np.asarray(catalog.features, dtype=np.float32)
    train = catalog.train_ids
    mean, std = features[train].mean(axis=0), features[train].std(axis=0) + 1e-6
    features = (features - mean) / std
    t_features = time.perf_counter() - t0

    rng = make_rng(config.seed, "estimators", config.features, "train-pairs")
    first, second, sign = ordered_pairs(catalog.attributes, train, config.margin, config.max_pairs, rng)
    # Index rows of the train features, not of the whole catalog, so test items never enter the fit.
    row_of = np.full(len(catalog), -1, dtype=np.int64)
    row_of[train] = np.arange(len(train))
    weights = fit_rankers(features[train], row_of[first], row_of[second], sign, config.l2, config.max_iter)
    scores = (features @ weights).astype(np.float32)  # (N, 10)
    estimates = quantile_map(scores, scores[train], catalog.attributes[train])
    meta = {
        "feature_dim": int(features.shape[1]),
        "train_pairs": {a: int(n) for a, n in zip(ATTRIBUTES, (sign != 0).sum(axis=0), strict=True)},
        "feature_seconds": round(t_features, 2),
        "fit_seconds": round(time.perf_counter() - t0 - t_features, 2),
    }
    return AttributeEstimator(scores=scores, estimates=estimates, config=config, meta=meta)


def load_attribute_estimator(catalog: Catalog, kind: str | EstimatorConfig = "deep",
                             cache: ArtifactCache | None = None) -> AttributeEstimator:
    """The estimator for `kind` ("handcrafted", "deep" or a full config) over `catalog`, built and cached on
    first use (the key holds the catalog's name and the config)."""
    config = kind if isinstance(kind, EstimatorConfig) else EstimatorConfig(features=kind)
    if not catalog.has_attributes:
        raise ValueError(f"catalog {catalog.name!r} has no attribute scores, which the estimators learn to predict: "
                         "build it with an attribute file (python -m simulators.build catalog --attributes FILE)")
    cache = cache or ArtifactCache()

    def write(staging: Path) -> dict:
        built = build_estimator(catalog, config)
        save_array(staging, "scores", built.scores)
        save_array(staging, "estimates", built.estimates)
        return built.meta

    art = cache.load_or_build(KIND, {"catalog": catalog.name, "estimator": config.key()}, write)
    return AttributeEstimator(scores=art.array("scores"), estimates=art.array("estimates"), config=config,
                              meta=art.meta)


def load_attribute_estimates(catalog: Catalog, kind: str | EstimatorConfig = "deep",
                             cache: ArtifactCache | None = None) -> np.ndarray:
    """(N, 10) float32 estimated attribute scores in [0, 1] for every item of `catalog` (see
    `load_attribute_estimator`); the values the estimated-attribute users speak from."""
    return load_attribute_estimator(catalog, kind, cache).estimates


__all__ = ["ESTIMATOR_KINDS", "AttributeEstimator", "EstimatorConfig", "load_attribute_estimates",
           "load_attribute_estimator", "pairwise_accuracy"]
