"""Visibility report: can a linear probe read every captioned parameter off the retrieval features?

Captions and attribute feedback talk about colours, heels, straps, finishes, ... If the CNN
features of the renders do not carry a parameter, no agent can act on feedback about it. This
report fits one linear probe per captioned column on training items and scores it on test
items: multinomial logistic regression (accuracy) for categorical, boolean and count columns,
ridge regression (R²) for the continuous ones. Each derived style of `params.subtypes` ("mary
janes", "chelsea boots", ...) gets a binary probe too. Accuracy hides rare values (a style on 2%
of items passes at chance), so every row also keeps the test recall of each value.

The colour columns are also probed off each render's colour histogram, which the relative
captioner reads beside the CNN maps (`simulators.catalog.histograms`; agents do not see it).

    python -m benchmarks.reports.visibility --n-train 3000 --n-test 1000 --size 128 --json results/visibility.json
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

from simulators.cache import write_json
from simulators.captioner.train import TrainConfig
from simulators.catalog.histograms import colour_histogram
from simulators.catalog.params import CAPTIONED_COLUMNS, MAX_STRAPS, ShoeParams, sample_params, subtypes
from simulators.cli import add_config_arguments, config_from_args

ACCURACY_TARGET = 0.85
ABOVE_CHANCE_TARGET = 0.25
R2_TARGET = 0.7
COLOUR_COLUMNS = ("primary_colour", "accent_colour")
CAPTIONER_COLOUR_BINS = TrainConfig().colour_bins


@dataclass
class ProbeConfig:
    """Probe fitting settings; the L2 strength is picked on a validation slice of the train items."""

    l2_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    """Candidate L2 weights of the logistic probes (on standardised features)."""
    ridge_grid: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    """Candidate ridge penalties of the continuous probes."""
    val_fraction: float = 0.2
    """Share of train items held out to pick the penalty; the final probe refits on all of train."""
    max_iter: int = 300
    """LBFGS iterations per logistic fit."""
    seed: int = 0


@contextmanager
def _one_thread() -> Iterator[None]:
    """Probe fits are many tiny ops: one thread is faster and immune to a busy second core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _labels(params: ShoeParams, column: str) -> tuple[np.ndarray, list[str]]:
    """Integer labels of a captioned column and the name of each class."""
    kind = CAPTIONED_COLUMNS[column]
    y = params[column].astype(np.int64)
    if isinstance(kind, tuple):
        return y, list(kind)
    return y, [str(v) for v in range(MAX_STRAPS + 1)] if kind == "count" else ["no", "yes"]


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float, max_iter: int) -> torch.nn.Linear:
    probe = torch.nn.Linear(x.shape[1], n_classes, dtype=x.dtype)
    torch.nn.init.zeros_(probe.weight)
    torch.nn.init.zeros_(probe.bias)
    opt = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(x), y) + l2 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return probe


def _accuracy(probe: torch.nn.Linear, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((probe(x).argmax(1) == y).double().mean())


def _fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    mu = y.mean()
    a = x.T @ x + alpha * np.eye(x.shape[1])
    w = np.linalg.solve(a, x.T @ (y - mu))
    return w, float(mu)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / max(ss, 1e-12)


def visibility_report(
    features: np.ndarray,
    params: ShoeParams,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    config: ProbeConfig | None = None,
    derived: bool = True,
    columns: tuple[str, ...] | None = None,
) -> list[dict]:
    """One row per captioned column (or per one of `columns`), then (if `derived`) one per style of `subtypes`:
    parameter, metric name and value, chance, target, passed, derived, and the test recall of each value."""
    with _one_thread():
        return _report(features, params, train_idx, test_idx, config or ProbeConfig(), derived, columns)


def _classify(zt: torch.Tensor, y: np.ndarray, names: list[str], split: tuple[np.ndarray, ...],
              cfg: ProbeConfig) -> dict:
    """Fit a logistic probe (L2 picked on the validation slice) and score it on the test items."""
    fit_idx, val_idx, train_idx, test_idx = split
    n_classes = len(names)
    yt = torch.from_numpy(y)
    counts = np.bincount(y[train_idx], minlength=n_classes)
    chance = float((y[test_idx] == counts.argmax()).mean())
    scores = {l2: _accuracy(_fit_logistic(zt[fit_idx], yt[fit_idx], n_classes, l2, cfg.max_iter),
                            zt[val_idx], yt[val_idx]) for l2 in cfg.l2_grid}
    best = max(cfg.l2_grid, key=lambda l2: scores[l2])
    probe = _fit_logistic(zt[train_idx], yt[train_idx], n_classes, best, cfg.max_iter)
    with torch.no_grad():
        pred = probe(zt[test_idx]).argmax(1).numpy()
    truth = y[test_idx]
    metric = float((pred == truth).mean())
    recall = {name: [float((pred[truth == k] == k).mean()) if (truth == k).any() else None,
                     int((truth == k).sum())] for k, name in enumerate(names)}
    target = min(ACCURACY_TARGET, chance + ABOVE_CHANCE_TARGET)
    return {"metric": "accuracy", "value": metric, "chance": chance, "target": target, "passed": metric >= target,
            "penalty": best, "recall": recall}


def _report(features: np.ndarray, params: ShoeParams, train_idx: np.ndarray, test_idx: np.ndarray,
            cfg: ProbeConfig, derived: bool, columns: tuple[str, ...] | None = None) -> list[dict]:
    train_idx, test_idx = np.asarray(train_idx), np.asarray(test_idx)
    x = np.asarray(features, dtype=np.float64)
    mu, sd = x[train_idx].mean(0), x[train_idx].std(0) + 1e-8
    z = (x - mu) / sd
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(train_idx)
    n_val = max(1, int(len(perm) * cfg.val_fraction))
    fit_idx, val_idx = perm[n_val:], perm[:n_val]
    zt = torch.from_numpy(z)
    split = (fit_idx, val_idx, train_idx, test_idx)
    rows = []
    torch.manual_seed(cfg.seed)
    for column, kind in CAPTIONED_COLUMNS.items():
        if columns is not None and column not in columns:
            continue
        if kind == "cm":
            y = params[column].astype(np.float64)
            val_r2 = {}
            for alpha in cfg.ridge_grid:
                w, b = _fit_ridge(z[fit_idx], y[fit_idx], alpha)
                val_r2[alpha] = _r2(y[val_idx], z[val_idx] @ w + b)
            best = max(cfg.ridge_grid, key=lambda a: val_r2[a])
            w, b = _fit_ridge(z[train_idx], y[train_idx], best)
            metric = _r2(y[test_idx], z[test_idx] @ w + b)
            rows.append({"parameter": column, "metric": "r2", "value": metric, "chance": 0.0,
                         "target": R2_TARGET, "passed": metric >= R2_TARGET, "penalty": best, "derived": False})
            continue
        y, names = _labels(params, column)
        rows.append({"parameter": column, **_classify(zt, y, names, split, cfg), "derived": False})
    if derived:
        for style, is_style in subtypes(params).items():
            y = is_style.astype(np.int64)
            rows.append({"parameter": style, **_classify(zt, y, ["no", "yes"], split, cfg), "derived": True})
    return rows


def neighbour_agreement(features: np.ndarray, params: ShoeParams, idx: np.ndarray,
                        columns: tuple[str, ...] = ("category", "primary_colour", "pattern")) -> dict[str, float]:
    """Share of items in `idx` whose L2 nearest neighbour (within `idx`) has the same value of each column.

    The environment ranks by L2 distance in this space, so this is what feedback about these
    parameters can exploit without any learned mapping.
    """
    x = torch.from_numpy(np.asarray(features, dtype=np.float32)[idx])
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    nn = idx[d.argmin(1).numpy()]
    return {c: float((params[c][idx] == params[c][nn]).mean()) for c in columns}


def format_table(rows: list[dict]) -> str:
    """The report as a fixed-width text table; derived styles are marked and listed last."""
    lines = [f"{'parameter':<20} {'metric':<9} {'value':>6} {'chance':>7} {'target':>7}  result",
             "-" * 62]
    for r in rows:
        name = f"{r['parameter']} *" if r.get("derived") else r["parameter"]
        lines.append(f"{name:<20} {r['metric']:<9} {r['value']:>6.3f} {r['chance']:>7.3f} "
                     f"{r['target']:>7.3f}  {'pass' if r['passed'] else 'FAIL'}")
    passed = sum(r["passed"] for r in rows)
    lines.append(f"{passed}/{len(rows)} rows meet their target "
                 f"(categorical: accuracy >= {ACCURACY_TARGET:.2f} or chance + {ABOVE_CHANCE_TARGET:.2f}; "
                 f"continuous: R² >= {R2_TARGET:.2f})")
    if any(r.get("derived") for r in rows):
        lines.append("* derived style (params.subtypes), binary probe: is the item of this style?")
    return "\n".join(lines)


def format_recall(rows: list[dict]) -> str:
    """Test recall of every value (test count in brackets): what accuracy hides for rare values.
    Booleans and derived styles show their "yes" class only."""
    lines = []
    for r in rows:
        if "recall" not in r:
            continue
        recall = r["recall"]
        if list(recall) == ["no", "yes"]:
            recall = {"yes": recall["yes"]}
        cells = ", ".join(f"{name} {rec:.2f} ({n})" for name, (rec, n) in recall.items() if n)
        lines.append(f"{r['parameter']}: {cells}")
    return "\n".join(lines)


@dataclass
class VisibilityConfig:
    """The end-to-end check: sample, render, extract, PCA on train, probe."""

    n_train: int = 3000
    n_test: int = 1000
    size: int = 128
    seed: int = 0
    dim: int = 256
    backbone: str = "efficientnet-lite0"
    device: str = "cpu"
    batch_size: int = 64
    json: str = ""
    """Where to write the rows, timings and config as JSON (empty: do not write)."""


def run(cfg: VisibilityConfig, progress: bool = True) -> dict:
    """Sample a catalog, render it, extract and project features, and probe them."""
    from simulators.catalog.features import FeatureExtractor, PCAProjection
    from simulators.catalog.render import render_batch

    n = cfg.n_train + cfg.n_test
    params = sample_params(n, cfg.seed)
    t0 = time.perf_counter()
    images = render_batch(params, np.arange(n), cfg.size)
    t_render = time.perf_counter() - t0
    fx = FeatureExtractor(cfg.backbone, cfg.device)
    t0 = time.perf_counter()
    pooled, _ = fx.extract_all(images, batch_size=cfg.batch_size, progress=progress)
    t_cnn = time.perf_counter() - t0
    train_idx, test_idx = np.arange(cfg.n_train), np.arange(cfg.n_train, n)
    pca = PCAProjection.fit(pooled[train_idx], cfg.dim, device=cfg.device)
    feats = pca.transform(pooled)
    rows = visibility_report(feats, params, train_idx, test_idx)
    neighbours = neighbour_agreement(feats, params, test_idx)
    histograms = np.sqrt(colour_histogram(images, CAPTIONER_COLOUR_BINS, foreground=True))
    colour_rows = visibility_report(histograms, params, train_idx, test_idx, derived=False, columns=COLOUR_COLUMNS)
    timing = {"render_ms_per_image": 1000 * t_render / n, "cnn_ms_per_image": 1000 * t_cnn / n,
              "torch_threads": torch.get_num_threads()}
    return {"config": asdict(cfg), "timing": timing, "rows": rows, "nearest_neighbour_agreement": neighbours,
            "colour_histogram_rows": colour_rows}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(ap, VisibilityConfig)
    cfg = config_from_args(ap.parse_args(argv), VisibilityConfig())
    result = run(cfg)
    print(format_table(result["rows"]))
    print("\nrecall per value on test items:")
    print(format_recall(result["rows"]))
    agree = ", ".join(f"{k} {v:.2f}" for k, v in result["nearest_neighbour_agreement"].items())
    print(f"test items whose nearest neighbour shares the value: {agree}")
    print("\nthe colour columns off the colour histogram the captioner reads (not the agents' features):")
    print(format_table(result["colour_histogram_rows"]))
    t = result["timing"]
    print(f"render {t['render_ms_per_image']:.2f} ms/image (one core), CNN {t['cnn_ms_per_image']:.2f} ms/image "
          f"({t['torch_threads']} threads, {cfg.device})")
    if cfg.json:
        out = write_json(result, cfg.json)
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
