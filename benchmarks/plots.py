"""Plots of protocol results: mean target rank percentile per turn, one line per (agent, user)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.protocol import EvalResult  # noqa: E402


def plot_rank_curves(results: list[EvalResult], path: str | Path, title: str = "ShoeRetrieval-v0, test split") -> Path:
    """Mean rank percentile (with 95% bootstrap band) against dialog turn, as in the paper's Fig. 4."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for r in results:
        turns = range(len(r.mean_rank_percentile))
        means = [100 * m for m in r.mean_rank_percentile]
        ax.plot(turns, means, marker="o", markersize=3, label=f"{r.agent} / {r.user}")
        ax.fill_between(turns, [100 * lo for lo, _ in r.ci95], [100 * hi for _, hi in r.ci95], alpha=0.2)
    ax.set_xlabel("dialog turn")
    ax.set_ylabel("mean target rank percentile (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path
