"""Training returns computed from the target's rank (`info["rank"]`), for the methods that roll dialogs out.

The env's reward is the paper's rank percentile, and it stays so; a learner may train on any return
of the ranks instead. The percentile is saturated on SynthShoes (97-99% for every learner after turn
1), so a rank of 3 and a rank of 300 earn almost the same; the top-heavy returns pay for the part of
the ranking a shopper sees. Every turn value is in [0, 1] and 1 at rank 0, so a dialog that has
shown its target (rank 0 from then on, as the protocol counts it) earns 1 for each turn left.

    from agents.returns import turn_value
    value = turn_value("top-10", ranks, n_items)     # (B,) 1.0 where the target is in the top 10
"""

from __future__ import annotations

import numpy as np

RETURNS = ("percentile", "log-rank", "top-10")
"""percentile: 1 - rank / (N - 1), the env's reward (the paper's return, summed over turns);
log-rank: 1 - log(1 + rank) / log(N), which spends most of its range on the first hundred ranks;
top-10: 1 when the target is in the top 10 (the per-turn Recall@10; summed over turns, Hits@10's area)."""


def check_return(name: str) -> str:
    if name not in RETURNS:
        raise ValueError(f"unknown return {name!r}; choose one of {RETURNS}")
    return name


def turn_value(name: str, ranks: np.ndarray, n_items: int) -> np.ndarray:
    """(B,) float64 value of one turn whose target ranks are `ranks` in a split of `n_items` images."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if name == "percentile":
        return 1.0 - ranks / (n_items - 1)
    if name == "log-rank":
        return 1.0 - np.log1p(ranks) / np.log(n_items)
    if name == "top-10":
        return (ranks < 10).astype(np.float64)
    raise ValueError(f"unknown return {name!r}; choose one of {RETURNS}")


def dialog_value(name: str, ranks: np.ndarray, found: np.ndarray, n_items: int) -> np.ndarray:
    """(B,) value of one turn of B dialogs, where `found` marks dialogs that have shown their target (rank 0)."""
    return np.where(found, 1.0, turn_value(name, ranks, n_items))
