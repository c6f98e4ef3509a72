import numpy as np
import pytest
import torch

from agents.index import BACKENDS, NearestNeighbourIndex

N, D, B, NLIST = 400, 16, 12, 8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    items = rng.standard_normal((N, D)).astype(np.float32)
    queries = (items[rng.integers(0, N, B)] + rng.normal(0, 0.3, (B, D))).astype(np.float32)
    return items, queries


def brute_force(items, queries, k, exclude=None):
    """(squared distances, ids) of the k nearest non-excluded items, in float64 numpy."""
    d = ((queries[:, None, :].astype(np.float64) - items[None].astype(np.float64)) ** 2).sum(-1)  # (B, N)
    if exclude is not None:
        np.put_along_axis(d, exclude, np.inf, axis=1)
    ids = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, ids, axis=1), ids


def nearest_with_padding(items, queries, m):
    """(B, m) exclusions as a dialog has them: each row's 3 nearest items plus random ones, padded by repeats."""
    rng = np.random.default_rng(1)
    _, nearest = brute_force(items, queries, 3)
    ex = np.concatenate([nearest, rng.integers(0, N, (len(queries), m - 3))], axis=1)
    ex[::2, -1] = ex[::2, 0]  # every other row pads by repeating one of its own indices
    return torch.as_tensor(ex, dtype=torch.int64)


def make(backend, items, nprobe=NLIST):
    if backend == "faiss-ivf":
        return NearestNeighbourIndex(items, backend, nlist=NLIST, nprobe=nprobe)  # nprobe = nlist: exact
    return NearestNeighbourIndex(items, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 4])
def test_matches_brute_force_and_skips_excluded(data, backend, k):
    items, queries = data
    index = make(backend, items)
    exclude = nearest_with_padding(items, queries, 5)
    for q in (queries, torch.from_numpy(queries)):
        for ex in (None, exclude):
            dist, ids = index.search(q, k, exclude=ex)
            ref_dist, ref_ids = brute_force(items, queries, k, None if ex is None else ex.numpy())
            assert ids.dtype == torch.int64 and dist.dtype == torch.float32 and ids.shape == (B, k)
            np.testing.assert_array_equal(ids.numpy(), ref_ids)
            np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-4, atol=1e-4)
            if ex is not None:
                assert not (ids.numpy()[:, :, None] == ex.numpy()[:, None, :]).any()


def test_ivf_widens_the_search_when_the_scanned_cells_run_short(data):
    items, queries = data
    index = make("faiss-ivf", items, nprobe=1)
    # Exclude every item of the one cell each query scans, so the first search finds nothing to keep.
    _, item_cell = index.faiss_index.quantizer.search(items, 1)
    _, query_cell = index.faiss_index.quantizer.search(queries, 1)
    cells = [np.flatnonzero(item_cell[:, 0] == c) for c in query_cell[:, 0]]
    width = max(len(c) for c in cells)
    exclude = np.stack([np.concatenate([c, np.full(width - len(c), c[0])]) for c in cells])  # padded by repeats
    dist, ids = index.search(queries, 4, exclude=torch.from_numpy(exclude))
    assert (ids >= 0).all()
    assert not (ids.numpy()[:, :, None] == exclude[:, None, :]).any()
    true_dist = ((queries[:, None, :] - items[ids.numpy()]) ** 2).sum(-1)
    np.testing.assert_allclose(dist.numpy(), true_dist, rtol=1e-4, atol=1e-4)
    assert (np.diff(dist.numpy(), axis=1) >= 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_inputs_raise(data, backend):
    items, queries = data
    index = make(backend, items)
    nan_queries = queries.copy()
    nan_queries[3, 2] = np.nan
    two = torch.zeros((B, 2), dtype=torch.int64)
    bad_calls = [
        lambda: index.search(queries[:, :-1], 4),  # wrong D
        lambda: index.search(queries[0], 4),  # not (B, D)
        lambda: index.search(nan_queries, 4),
        lambda: index.search(queries.astype(np.int64), 4),
        lambda: index.search(queries, 0),
        lambda: index.search(queries, N - 1, exclude=two),  # k > N - M
        lambda: index.search(queries, 4, exclude=two[:-1]),  # rows differ from B
        lambda: index.search(queries, 4, exclude=two.float()),
        lambda: index.search(queries, 4, exclude=two.numpy()),
        lambda: index.search(queries, 4, exclude=two + N),  # out of range
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()


def test_bad_construction_raises(data):
    items, _ = data
    bad_items = items.copy()
    bad_items[0, 0] = np.nan
    with pytest.raises(ValueError, match="unknown backend"):
        NearestNeighbourIndex(items, "annoy")
    with pytest.raises(ValueError):
        NearestNeighbourIndex(bad_items)
    with pytest.raises(ValueError):
        NearestNeighbourIndex(items[0])
    with pytest.raises(ValueError):
        NearestNeighbourIndex(items, "faiss-ivf", nlist=N + 1)
    with pytest.raises(ValueError):
        NearestNeighbourIndex(items, "faiss-ivf", nlist=NLIST, nprobe=0)
    with pytest.raises(ValueError):
        NearestNeighbourIndex(items, "faiss-ivf", nlist=NLIST).nprobe = NLIST + 1
    assert NearestNeighbourIndex(items[:100], "faiss-ivf").nprobe <= 2  # default nprobe capped at a small nlist
    with pytest.raises(ValueError):
        NearestNeighbourIndex(items, "torch").nprobe = 4
