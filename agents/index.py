"""The one nearest-neighbour index that every agent's candidate generator searches.

Each turn the paper's dialog manager takes the K nearest images not yet shown to its state
vector s_t and samples one from a softmax over their negative distances (Guo et al., 2018).
`NearestNeighbourIndex.search` returns those K per dialog, skipping each dialog's shown images.

Backends:
- "torch" (default): exact, through the project's one ranker (`envs.ranking.Ranker`): one addmm
  over every item, then top-k with the excluded items set to inf. Runs on any torch device.
- "faiss-flat": exact, `faiss.IndexFlatL2` on CPU.
- "faiss-ivf": approximate, `faiss.IndexIVFFlat`: k-means cells over the items, each query
  scans only the `nprobe` cells nearest to it. nprobe = nlist is exact.

faiss cannot skip different items per query, so it searches k + M neighbours (M excluded per
row), drops the excluded ones and keeps the first k; rows left short search again, wider.
Timings and IVF recall on 2 CPU cores: `python -m benchmarks.reports.knn`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from envs.ranking import Ranker, resolve_device

try:  # an optional extra: the measured default is "torch" (docs/results/knn.md)
    import faiss
except ImportError:  # pragma: no cover - depends on the installation
    faiss = None

BACKENDS = ("torch", "faiss-flat", "faiss-ivf")
# k-means trains on at most this many sampled items per cell (faiss accepts 39 to 256, default 256).
# At 1M items and nlist = 4000, even 39 per cell took 165 s to train on 2 shared cores.
IVF_TRAIN_POINTS_PER_LIST = 64
IVF_MIN_POINTS_PER_LIST = 39  # faiss warns below this many training points per cell


def default_nlist(n: int) -> int:
    """About 4 sqrt(N) cells (faiss's rule of thumb), fewer when N is too small to train that many."""
    return max(1, min(round(4 * math.sqrt(n)), n // IVF_MIN_POINTS_PER_LIST))


class NearestNeighbourIndex:
    """Squared-L2 k-nearest-neighbour search over fixed item vectors, with per-query exclusion.

    Args:
        features: (N, D) float32 item vectors (a catalog split's retrieval features).
        backend: "torch", "faiss-flat" or "faiss-ivf" (see the module docstring).
        device: where results (and, for "torch", the items) live; faiss itself runs on CPU.
        nlist: faiss-ivf cells; default about 4 sqrt(N) (`default_nlist`).
        nprobe: faiss-ivf cells scanned per query, capped at nlist here (so the default suits any N);
            settable after construction, where it must lie in [1, nlist].

    >>> index = NearestNeighbourIndex(np.array([[0.0], [1.0], [3.0], [6.0]], dtype=np.float32))
    >>> dist, ids = index.search(np.array([[1.0]], dtype=np.float32), k=2, exclude=torch.tensor([[1]]))
    >>> ids.tolist(), dist.tolist()
    ([[0, 2]], [[1.0, 4.0]])
    """

    def __init__(self, features: np.ndarray, backend: str = "torch", device: str | torch.device = "cpu",
                 nlist: int | None = None, nprobe: int = 8):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
        if backend != "torch" and faiss is None:
            raise ValueError(f"backend {backend!r} needs faiss, an optional dependency: pip install -e '.[faiss]'")
        features = np.asarray(features)
        if features.ndim != 2 or len(features) < 2 or features.shape[1] < 1:
            raise ValueError(f"features must be (N >= 2, D >= 1), got shape {features.shape}")
        if not np.isfinite(features).all():
            raise ValueError("features contain NaN or inf")
        features = np.ascontiguousarray(features, dtype=np.float32)
        self.backend = backend
        self.device = resolve_device(device)
        self.n, self.dim = features.shape
        self.nlist = 0
        if backend == "torch":
            self.ranker = Ranker(features, self.device)
        elif backend == "faiss-flat":
            self.faiss_index = faiss.IndexFlatL2(self.dim)
            self.faiss_index.add(features)
        else:
            self.nlist = default_nlist(self.n) if nlist is None else int(nlist)
            if not 1 <= self.nlist <= self.n:
                raise ValueError(f"nlist must be in [1, N={self.n}], got {nlist}")
            self._quantizer = faiss.IndexFlatL2(self.dim)  # the IVF index only borrows it: keep it alive
            self.faiss_index = faiss.IndexIVFFlat(self._quantizer, self.dim, self.nlist)
            self.faiss_index.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
            self.faiss_index.train(features)
            self.faiss_index.add(features)
            self.nprobe = min(nprobe, self.nlist)

    @property
    def nprobe(self) -> int:
        """faiss-ivf cells scanned per query (0 for the exact backends)."""
        return self.faiss_index.nprobe if self.backend == "faiss-ivf" else 0

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.backend != "faiss-ivf":
            raise ValueError(f"nprobe only applies to backend 'faiss-ivf', not {self.backend!r}")
        if not 1 <= value <= self.nlist:
            raise ValueError(f"nprobe must be in [1, nlist={self.nlist}], got {value}")
        self.faiss_index.nprobe = int(value)

    def search(self, queries: torch.Tensor | np.ndarray, k: int,
               exclude: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(squared L2 distances (B, k) float32, item indices (B, k) int64) on `device`, nearest first.

        `exclude` is a (B, M) int64 tensor of items to skip per row; a row may repeat its own
        indices as padding. k may be at most N - M.
        """
        q = self._check_queries(queries)  # (B, D)
        exclude = self._check_exclude(exclude, len(q))  # (B, M) or None
        m = 0 if exclude is None else exclude.shape[1]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n - m:
            raise ValueError(f"k must be an integer in [1, N - M = {self.n - m}], got {k!r}")
        if self.backend == "torch":
            return self._search_torch(q, int(k), exclude)
        dist, ids = self._search_faiss(q.cpu().numpy(), int(k), None if exclude is None else exclude.cpu().numpy())
        return torch.from_numpy(dist).to(self.device), torch.from_numpy(ids).to(self.device)

    def _search_torch(self, q: torch.Tensor, k: int,
                      exclude: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        q = q.to(self.device)
        scores = self.ranker.scores(q)  # (B, N) |x|^2 - 2 x.q
        ids = torch.as_tensor(self.ranker.nearest_from(scores, exclude, k), device=self.device)  # (B, k)
        # Adding |q|^2 back gives true squared distances; rounding can leave an identical item at -1e-6.
        dist = (scores.gather(1, ids) + (q * q).sum(dim=1, keepdim=True)).clamp_min_(0.0)  # (B, k)
        return dist, ids

    def _search_faiss(self, q: np.ndarray, k: int, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        b = len(q)
        out_dist = np.empty((b, k), dtype=np.float32)
        out_ids = np.empty((b, k), dtype=np.int64)
        rows = np.arange(b)
        width = min(k + (0 if exclude is None else exclude.shape[1]), self.n)
        nprobe = self.nprobe
        while len(rows):
            params = faiss.SearchParametersIVF(nprobe=nprobe) if self.backend == "faiss-ivf" else None
            dist, ids = self.faiss_index.search(q[rows], width, params=params)  # (R, width) each
            keep = ids >= 0  # IVF pads with -1 when the scanned cells hold fewer than `width` items
            if exclude is not None:
                keep &= ~(ids[:, :, None] == exclude[rows, None, :]).any(axis=2)
            first = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # (R, k): kept columns, in distance order
            done = keep.sum(axis=1) >= k
            out_dist[rows[done]] = np.take_along_axis(dist[done], first[done], axis=1)
            out_ids[rows[done]] = np.take_along_axis(ids[done], first[done], axis=1)
            rows = rows[~done]
            if len(rows) and width == self.n and nprobe == self.nlist:
                raise RuntimeError("exhaustive faiss search found fewer than k items outside the excluded ones")
            width, nprobe = min(2 * width, self.n), min(2 * nprobe, self.nlist)
        return out_dist, out_ids

    def _check_queries(self, queries: torch.Tensor | np.ndarray) -> torch.Tensor:
        q = torch.as_tensor(queries)
        if q.ndim != 2 or q.shape[0] < 1 or q.shape[1] != self.dim:
            raise ValueError(f"queries must be (B >= 1, D={self.dim}), got shape {tuple(q.shape)}")
        if not q.is_floating_point():
            raise ValueError(f"queries must be floating point, got {q.dtype}")
        q = q.detach().to(torch.float32).contiguous()
        if not torch.isfinite(q).all():
            raise ValueError("queries contain NaN or inf")
        return q

    def _check_exclude(self, exclude: torch.Tensor | None, b: int) -> torch.Tensor | None:
        if exclude is None:
            return None
        if not isinstance(exclude, torch.Tensor) or exclude.dtype != torch.int64:
            raise ValueError(f"exclude must be an int64 torch tensor, got {type(exclude).__name__}"
                             f"{'' if not isinstance(exclude, torch.Tensor) else f' of {exclude.dtype}'}")
        if exclude.ndim != 2 or exclude.shape[0] != b:
            raise ValueError(f"exclude must be (B={b}, M), got shape {tuple(exclude.shape)}")
        if exclude.numel() and (int(exclude.min()) < 0 or int(exclude.max()) >= self.n):
            raise ValueError(f"exclude holds indices outside [0, N={self.n})")
        return exclude.to(self.device)
