"""The one ranker: exact, batched L2 ranking of a catalog split against query vectors.

rank(q, target) = number of items strictly closer to q than the target (0 is best);
rank_percentile = 1 - rank / (N - 1). Every distance is needed for an exact rank, so one
batched matrix product per call is the natural path (timings against a per-query loop:
docs/results/throughput.md).
"""

from __future__ import annotations

import numpy as np
import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" picks CUDA when present; "cuda" without a GPU is a clear error, not a silent fallback."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return torch.device(device)


class Ranker:
    """Holds one split's retrieval vectors on a device and ranks batches of queries against them."""

    def __init__(self, features: np.ndarray, device: str | torch.device = "cpu"):
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"features must be (N >= 2, D), got shape {features.shape}")
        self.device = resolve_device(device)
        self.items = torch.as_tensor(np.ascontiguousarray(features), dtype=torch.float32, device=self.device)
        self.items_t = self.items.T.contiguous()  # (D, N): a contiguous right operand keeps small products fast
        self.sq_norms = (self.items * self.items).sum(dim=1)  # (N,)
        self.n, self.dim = self.items.shape

    def scores(self, queries: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(B, N) |x|^2 - 2 x.q: squared distances less the per-query |q|^2, which orders items identically.

        One fused matrix product (addmm); ranking and nearest-item search use it directly.
        """
        q = torch.as_tensor(queries, dtype=torch.float32, device=self.device)
        if q.ndim == 1:
            q = q[None]
        return torch.addmm(self.sq_norms, q, self.items_t, alpha=-2.0)

    def distances(self, queries: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(B, N) squared L2 distances from each query to every item."""
        q = torch.as_tensor(queries, dtype=torch.float32, device=self.device)
        if q.ndim == 1:
            q = q[None]
        return self.scores(q) + (q * q).sum(dim=1, keepdim=True)

    def ranks(self, queries: torch.Tensor | np.ndarray, targets: np.ndarray | torch.Tensor) -> np.ndarray:
        """(B,) int64 rank of targets[b] under queries[b]."""
        return self.ranks_from(self.scores(queries), targets)

    def ranks_from(self, distances: torch.Tensor, targets: np.ndarray | torch.Tensor) -> np.ndarray:
        """Ranks from an already computed (B, N) matrix of distances or scores."""
        t = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=self.device).reshape(-1, 1)
        target_d = distances.gather(1, t)  # (B, 1)
        return (distances < target_d).sum(dim=1).cpu().numpy().astype(np.int64)

    def rank_percentiles(self, queries: torch.Tensor | np.ndarray,
                         targets: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(ranks, rank percentiles in [0, 1]) for a batch."""
        ranks = self.ranks(queries, targets)
        return ranks, rank_percentile(ranks, self.n)

    def nearest(self, queries: torch.Tensor | np.ndarray, exclude: np.ndarray | torch.Tensor | None = None,
                k: int = 1) -> np.ndarray:
        """(B, k) indices of the k nearest items per query, skipping items where exclude[b, i] is True."""
        return self.nearest_from(self.scores(queries), exclude, k)

    def nearest_from(self, distances: torch.Tensor, exclude: np.ndarray | torch.Tensor | None = None,
                     k: int = 1) -> np.ndarray:
        """Nearest items from an already computed (B, N) matrix of distances or scores.

        `exclude` is a (B, N) bool mask, or a (B, K) index tensor of items to skip; the index form
        overwrites those entries of `distances` in place (cheap when K is small, as for shown images).
        """
        if exclude is not None:
            if isinstance(exclude, torch.Tensor) and exclude.dtype == torch.long:
                distances = distances.scatter_(1, exclude, float("inf"))
            else:
                mask = torch.as_tensor(exclude, dtype=torch.bool, device=self.device)
                distances = distances.masked_fill(mask, float("inf"))
        if k == 1:
            return distances.argmin(dim=1, keepdim=True).cpu().numpy()
        return torch.topk(distances, k, dim=1, largest=False).indices.cpu().numpy()


def rank_percentile(ranks: np.ndarray, n: int) -> np.ndarray:
    """1 - rank / (N - 1): 1.0 when the target is the closest item, 0.0 when it is the farthest."""
    return (1.0 - np.asarray(ranks, dtype=np.float64) / (n - 1)).astype(np.float32)


def cumulative_hits(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """(dialogs, T + 1) bool: the target has been in the top k at some turn up to t (ChatIR's Hits@k, SR@k).

    `ranks` is (dialogs, T + 1), turn 0 the first image. A dialog that reaches the top k at turn 3
    and leaves it at turn 4 counts from turn 3 on.
    """
    return np.logical_or.accumulate(np.asarray(ranks) < k, axis=1)


def first_hit_turn(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """(dialogs,) the first turn whose rank is below k, or -1 for a dialog that never reaches the top k."""
    hit = np.asarray(ranks) < k
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def ranks_per_query_loop(features: np.ndarray, queries: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Reference ranker, one query at a time in torch as in the original implementation (tests, benchmarks)."""
    items = torch.as_tensor(features, dtype=torch.float32)
    out = np.empty(len(queries), dtype=np.int64)
    for b in range(len(queries)):
        q = torch.as_tensor(queries[b], dtype=torch.float32)
        d = (items - q).pow(2).sum(dim=1)  # (N,)
        out[b] = int((d < d[int(targets[b])]).sum())
    return out
