"""Plots of protocol results per turn, one line per (agent, user): mean target rank percentile, cumulative Hits@10."""

from __future__ import annotations

from pathlib import Path

from simulators.extras import missing_extra

try:
    import matplotlib
except ImportError as err:
    raise missing_extra("matplotlib", "benchmarks", "the benchmarks' plots") from err

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.protocol import EvalResult  # noqa: E402


def plot_rank_curves(results: list[EvalResult], path: str | Path, title: str = "ShoeRetrieval-v0, test split",
                     zoom: tuple[float, float] | None = None, hits10: bool = False) -> Path:
    """Mean rank percentile (with 95% bootstrap band) against dialog turn, as in the paper's Fig. 4.

    `zoom` (a y range in percent, e.g. (90, 100)) adds a panel on that range, where curves that crowd
    the top of the full plot come apart. `hits10` adds a first panel of cumulative Hits@10 (results
    without it are left out of that panel); the legend then sits below the panels.
    """
    kinds = ["hits10"] * hits10 + ["percentile"] + ["zoom"] * bool(zoom)
    fig, axes = plt.subplots(1, len(kinds), figsize=(6.4 * len(kinds), 4.2 + 0.2 * len(results) * hits10), dpi=120,
                             squeeze=False, layout="constrained" if hits10 else None)  # room for a legend below
    panels = dict(zip(kinds, axes[0], strict=True))
    for kind, ax in panels.items():
        for i, r in enumerate(results):
            values, ci = r.mean_rank_percentile, r.ci95
            if kind == "hits10":
                if r.hits is None:
                    continue
                values, ci = r.hits["@10"], r.hits10_ci95
            turns = range(len(values))
            colour = f"C{i % 10}"  # one colour per result in every panel
            ax.plot(turns, [100 * m for m in values], marker="o", markersize=3, color=colour,
                    label=f"{r.agent} / {r.user}")
            ax.fill_between(turns, [100 * lo for lo, _ in ci], [100 * hi for _, hi in ci], color=colour, alpha=0.2)
        ax.set_xlabel("dialog turn")
        ax.set_ylabel("cumulative Hits@10 (%)" if kind == "hits10" else "mean target rank percentile (%)")
        ax.grid(alpha=0.3)
    first = axes[0][0]
    first.set_title(title if not hits10 else f"{title}\ntarget in the top 10 by turn t")
    if hits10:
        panels["hits10"].set_ylim(0, 100)
        panels["percentile"].set_title("mean target rank percentile")
        fig.legend(*panels["percentile"].get_legend_handles_labels(), loc="outside lower center", fontsize=7,
                   ncol=len(kinds), frameon=False)
    else:
        first.legend(fontsize=7, loc="lower right")
    if zoom:
        panels["zoom"].set_ylim(*zoom)
        panels["zoom"].set_xlim(left=0.5)
        panels["zoom"].set_title(f"the same, {zoom[0]:g}-{zoom[1]:g}%")
    return save_figure(fig, path)


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Lay out (tight, unless the figure has its own layout engine), write atomically (staged beside `path`, then
    renamed) and close a figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_seed_pairs(arms: dict[str, list[float]], differences: dict[str, list[float]], seeds: list[int],
                    path: str | Path, metric: str) -> Path:
    """Two panels of one metric over training seeds: each arm's value per seed (one dot per seed, a bar at the
    mean), and the paired differences between arms of the same seed, against a zero line. `arms` and
    `differences` map a label to one value per seed, in `seeds`' order."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.9 + 0.45 * max(len(arms), len(differences))), dpi=120,
                             layout="constrained")
    for ax, rows, title in ((axes[0], arms, metric), (axes[1], differences, f"paired difference (points), {metric}")):
        for y, values in enumerate(reversed(list(rows.values()))):
            for i, v in enumerate(values):
                ax.plot(v, y, "o", color=f"C{i % 10}", markersize=6, label=f"seed {seeds[i]}" if y == 0 else None)
            mean = sum(values) / len(values)
            ax.plot([mean, mean], [y - 0.3, y + 0.3], color="black", linewidth=2)
        ax.set_yticks(range(len(rows)), list(reversed(list(rows))), fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[1].axvline(0, color="grey", linewidth=1)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(seeds), fontsize=8,
               frameon=False, title="dots: one training seed each; bars: their mean", title_fontsize=8)
    return save_figure(fig, path)
