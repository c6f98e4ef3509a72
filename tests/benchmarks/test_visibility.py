"""The visibility report's probes, on synthetic features where the answer is known."""

from __future__ import annotations

import numpy as np

from benchmarks.reports.visibility import (
    ProbeConfig,
    format_recall,
    format_table,
    neighbour_agreement,
    visibility_report,
)
from simulators.catalog.params import CAPTIONED_COLUMNS, PATTERNS, SUBTYPES, sample_params


def _one_hot_features(params, noise: float, seed: int = 0) -> np.ndarray:
    """Features that encode every captioned column (one-hot or value) plus noise."""
    blocks = []
    for column, kind in CAPTIONED_COLUMNS.items():
        v = params[column]
        if kind == "cm":
            blocks.append(v[:, None].astype(np.float64))
        else:
            k = len(kind) if isinstance(kind, tuple) else 4
            blocks.append(np.eye(k)[v.astype(int)])
    x = np.concatenate(blocks, axis=1)
    return x + noise * np.random.default_rng(seed).normal(size=x.shape)


def test_report_has_one_row_per_captioned_column_and_derived_style_and_passes_on_informative_features():
    params = sample_params(400, seed=2)  # enough items that the rarest values (fringe, chain) appear in train
    feats = _one_hot_features(params, noise=0.01)
    rows = visibility_report(feats, params, np.arange(300), np.arange(300, 400), ProbeConfig(max_iter=100))
    assert [r["parameter"] for r in rows] == list(CAPTIONED_COLUMNS) + list(SUBTYPES)
    assert [r["derived"] for r in rows] == [False] * len(CAPTIONED_COLUMNS) + [True] * len(SUBTYPES)
    assert all(r["passed"] for r in rows), format_table(rows)
    for r in rows:
        column_kind = CAPTIONED_COLUMNS.get(r["parameter"], "bool")
        assert r["metric"] == ("r2" if column_kind == "cm" else "accuracy")
        assert 0.0 <= r["chance"] <= 1.0
    table = format_table(rows)
    assert "mary janes *" in table and "derived style" in table


def test_recall_is_reported_per_value():
    params = sample_params(160, seed=2)
    feats = _one_hot_features(params, noise=0.01)
    rows = visibility_report(feats, params, np.arange(120), np.arange(120, 160), ProbeConfig(max_iter=100),
                             derived=False)
    assert [r["parameter"] for r in rows] == list(CAPTIONED_COLUMNS)
    pattern = next(r for r in rows if r["parameter"] == "pattern")
    assert list(pattern["recall"]) == list(PATTERNS)
    test_counts = np.bincount(params["pattern"][120:], minlength=len(PATTERNS))
    assert [n for _, n in pattern["recall"].values()] == test_counts.tolist()
    solid, n_solid = pattern["recall"]["solid"]
    assert n_solid > 0 and solid > 0.9
    lines = format_recall(rows).splitlines()
    assert any(line.startswith("pattern: solid") for line in lines)
    assert any(line.startswith("laces: yes") for line in lines)  # booleans show their "yes" class


def test_columns_selects_the_probed_columns():
    params = sample_params(160, seed=2)
    feats = _one_hot_features(params, noise=0.01)
    rows = visibility_report(feats, params, np.arange(120), np.arange(120, 160), ProbeConfig(max_iter=50),
                             derived=False, columns=("accent_colour", "primary_colour"))
    assert [r["parameter"] for r in rows] == ["primary_colour", "accent_colour"]  # in the catalog's column order


def test_report_fails_on_noise():
    params = sample_params(160, seed=2)
    feats = np.random.default_rng(1).normal(size=(160, 16))
    rows = visibility_report(feats, params, np.arange(120), np.arange(120, 160), ProbeConfig(max_iter=50))
    by_name = {r["parameter"]: r for r in rows}
    assert not by_name["heel_height"]["passed"] and not by_name["primary_colour"]["passed"]
    assert "FAIL" in format_table(rows)


def test_neighbour_agreement_is_one_for_duplicated_items():
    params = sample_params(40, seed=2)
    twice = {k: np.concatenate([v, v]) for k, v in params.items()}
    feats = np.concatenate([np.arange(40.0)[:, None]] * 2) * 10.0
    agree = neighbour_agreement(feats, twice, np.arange(80))
    assert agree == {"category": 1.0, "primary_colour": 1.0, "pattern": 1.0}
