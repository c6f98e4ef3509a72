import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.ranking import Ranker, rank_percentile, ranks_per_query_loop, resolve_device


@given(seed=st.integers(0, 10_000), n=st.integers(2, 60), d=st.integers(1, 8), b=st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_batched_ranks_equal_per_query_loop(seed, n, d, b):
    rng = np.random.default_rng(seed)
    feats = rng.integers(-20, 20, size=(n, d)).astype(np.float32) / 4  # exact in float32: ties are real ties
    queries = rng.integers(-20, 20, size=(b, d)).astype(np.float32) / 4
    targets = rng.integers(0, n, size=b)
    ranker = Ranker(feats)
    np.testing.assert_array_equal(ranker.ranks(queries, targets), ranks_per_query_loop(feats, queries, targets))


def test_query_at_target_ranks_first():
    feats = np.random.default_rng(0).normal(size=(100, 16)).astype(np.float32)
    ranks, pct = Ranker(feats).rank_percentiles(feats[[3, 50]], np.array([3, 50]))
    assert ranks.tolist() == [0, 0]
    assert pct.tolist() == [1.0, 1.0]


def test_rank_percentile_bounds():
    assert rank_percentile(np.array([0, 9]), 10).tolist() == [1.0, 0.0]


def test_nearest_skips_excluded():
    feats = np.arange(10, dtype=np.float32)[:, None]
    ranker = Ranker(feats)
    exclude = np.zeros((1, 10), dtype=bool)
    exclude[0, [4, 5]] = True
    assert ranker.nearest(np.array([[4.2]]), exclude)[0, 0] == 3
    assert ranker.nearest(np.array([[4.2]]), None, k=3)[0].tolist() == [4, 5, 3]


def test_bad_inputs():
    with pytest.raises(ValueError, match="features"):
        Ranker(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="CUDA|unknown device"):
        resolve_device("tpu")
