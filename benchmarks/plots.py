"""Plots of protocol results: mean target rank percentile per turn, one line per (agent, user)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.protocol import EvalResult  # noqa: E402


def plot_rank_curves(results: list[EvalResult], path: str | Path, title: str = "ShoeRetrieval-v0, test split",
                     zoom: tuple[float, float] | None = None) -> Path:
    """Mean rank percentile (with 95% bootstrap band) against dialog turn, as in the paper's Fig. 4.

    `zoom` (a y range in percent, e.g. (90, 100)) adds a second panel on that range, where curves that
    crowd the top of the full plot come apart.
    """
    panels = 2 if zoom else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 4.2), dpi=120, squeeze=False)
    for ax in axes[0]:
        for r in results:
            turns = range(len(r.mean_rank_percentile))
            means = [100 * m for m in r.mean_rank_percentile]
            ax.plot(turns, means, marker="o", markersize=3, label=f"{r.agent} / {r.user}")
            ax.fill_between(turns, [100 * lo for lo, _ in r.ci95], [100 * hi for _, hi in r.ci95], alpha=0.2)
        ax.set_xlabel("dialog turn")
        ax.set_ylabel("mean target rank percentile (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_title(title)
    axes[0][0].legend(fontsize=7, loc="lower right")
    if zoom:
        axes[0][1].set_ylim(*zoom)
        axes[0][1].set_xlim(left=0.5)
        axes[0][1].set_title(f"the same, {zoom[0]:g}-{zoom[1]:g}%")
    return save_figure(fig, path)


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Lay out, write atomically (staged beside `path`, then renamed) and close a figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path
