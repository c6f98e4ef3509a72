"""The leaderboard: results files in, a Markdown table and the paper's figure 4 (with Hits@10 beside it) out.

    python -m benchmarks.leaderboard results/runs/*.json            # writes results/leaderboard.md, rank_curves.png
    python -m benchmarks.leaderboard my-agent.json results/runs/*.json --out results

Every file is read through the schema of `benchmarks.results` (a file from another protocol version
is refused). The paper's mean rank percentile saturates near 97-99%, so the table leads with the top
of the ranking. One row per agent and evaluation user, the mean over its training seeds (one results
file per seed; `--seeds 0 1 2` in the main job): the seeds; cumulative Hits@10 (target in the top 10
at some turn so far) at turns 1, 2, 3, 5 and 10, its AUC over turns 1-10, each seed's 95% interval at
turn 5 and beside them the spread over seeds (sample standard deviation and min-max); then mean target
rank percentile at turns 1, 2, 5 and 10, Recall@10 at turn 5, success by turn 10, training minutes.
Rows are sorted by Hits@10 at turn 5 within each evaluation user; schema-1 files (no Hits@10) read
"n/a" and come last; rows of the quick profile are marked. The figure draws, for every agent with the
user it was trained with (agents that learned nothing: with the captioner), Hits@10 against turn
(left), then rank percentile as in the paper's figure 4 and its 85-100% zoom; natural-language
feedback as solid lines, relative attributes dashed, relevance dotted, feedback-blind baselines grey;
bands are the 95% intervals (for several seeds: the min-max over seeds around their mean); the legend
sits below the panels.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulators.extras import missing_extra

try:
    import matplotlib
except ImportError as err:
    raise missing_extra("matplotlib", "benchmarks", "the benchmarks' plots") from err

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.plots import save_figure  # noqa: E402
from benchmarks.results import RunResult, read_result  # noqa: E402
from simulators.cache import write_text  # noqa: E402

HITS_TURNS = (1, 2, 3, 5, 10)
"""Turns of the Hits@10 columns."""
TURNS = (1, 2, 5, 10)
"""Turns of the rank-percentile columns."""
SORT_TURN = 5
STYLES = {"natural language": "-", "relative attributes": "--", "relevance": ":", "none": "-"}


def load_results(paths: list[str | Path]) -> list[RunResult]:
    """Read every file; for one (agent, evaluation user, training seed) seen twice, the newest file wins."""
    by_key: dict[tuple[str, str, int], RunResult] = {}
    for path in paths:
        result = read_result(path)
        key = (result.agent.name, result.user.name, result.seed)
        if key not in by_key or result.created_utc >= by_key[key].created_utc:
            by_key[key] = result
    if not by_key:
        raise ValueError("no results files given")
    catalogs = {r.catalog.name for r in by_key.values()}
    if len(catalogs) > 1:
        raise ValueError(f"results come from different catalogs {sorted(catalogs)}: one leaderboard per catalog")
    return list(by_key.values())


@dataclass(frozen=True)
class Spread:
    """One figure over training seeds: the mean, the sample standard deviation (0 for one seed) and the range."""

    mean: float
    std: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        array = np.asarray(values, dtype=np.float64)
        std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
        return cls(float(array.mean()), std, float(array.min()), float(array.max()))


@dataclass(frozen=True)
class SeedGroup:
    """The results of one agent with one evaluation user, one per training seed (in seed order): a leaderboard row."""

    results: tuple[RunResult, ...]

    @property
    def first(self) -> RunResult:
        return self.results[0]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.results]

    @property
    def has_hits10(self) -> bool:
        """Whether every seed's file holds Hits@10 (a schema-1 file among them: the group shows none)."""
        return all(r.metrics.hits is not None for r in self.results)

    def curve(self, metric: str) -> list[Spread]:
        """Per turn, the spread over seeds of "pct" (mean rank percentile) or "hits10" (cumulative Hits@10)."""
        curves = [r.metrics.mean_rank_percentile if metric == "pct" else r.metrics.hits["@10"] for r in self.results]
        return [Spread.of(list(values)) for values in zip(*curves, strict=True)]

    def at(self, values_of: Callable[[RunResult], float]) -> Spread:
        """The spread over seeds of one figure of each seed's result."""
        return Spread.of([values_of(r) for r in self.results])


def group_by_seed(results: list[RunResult]) -> list[SeedGroup]:
    """One SeedGroup per (agent name, evaluation user), its results in seed order; seeds of one group must share
    the protocol's dialogs (episodes and turns), else ValueError."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.agent.name, r.user.name), []).append(r)
    out = []
    for (name, user), members in groups.items():
        members.sort(key=lambda r: r.seed)
        seeds = [r.seed for r in members]
        if len(set(seeds)) < len(seeds):
            raise ValueError(f"{name} with {user}: seed {seeds} given twice (load_results keeps one file per seed)")
        shapes = {(r.metrics.episodes, r.max_turns) for r in members}
        if len(shapes) > 1:
            raise ValueError(f"{name} with {user}: its seeds' results come from different dialogs "
                             f"(episodes, turns) {sorted(shapes)}; evaluate every seed on the same protocol")
        out.append(SeedGroup(tuple(members)))
    return out


def _cell(spreads: list[Spread] | None, turn: int) -> str:
    if spreads is None:
        return "n/a"
    return f"{100 * spreads[turn].mean:.1f}" if turn < len(spreads) else ""


def _sort_key(g: SeedGroup) -> tuple[bool, float, float]:
    """Hits@10 at turn 5 first (schema-1 files, without it, last), then the rank percentile at turn 5; means over
    seeds."""
    t5 = min(SORT_TURN, g.first.max_turns)
    hits = g.curve("hits10")[t5].mean if g.has_hits10 else 0.0
    return not g.has_hits10, -hits, -g.curve("pct")[t5].mean


def format_leaderboard(results: list[RunResult]) -> str:
    """The Markdown table, one row per agent and evaluation user (the mean over its training seeds), best Hits@10
    at turn 5 first within each evaluation user. Beside each seed's 95% interval at turn 5, the spread over
    seeds: the sample standard deviation and the min-max of Hits@10 at turn 5 (empty for one seed)."""
    head = ("| agent | feedback | trained with | eval user | seeds | "
            + " | ".join(f"H@10 t={t}" for t in HITS_TURNS)
            + f" | H@10 AUC | H@10 95% CI t={SORT_TURN} | H@10 t={SORT_TURN} std (min-max) | "
            + " | ".join(f"pct t={t}" for t in TURNS)
            + f" | R@10 t={SORT_TURN} | success t=10 | train min |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    groups = group_by_seed(results)
    users = sorted({g.first.user.name for g in groups}, key=lambda u: (u != "captioner", u != "grammar", u))
    for user in users:
        for g in sorted((g for g in groups if g.first.user.name == user), key=_sort_key):
            a, t5 = g.first.agent, min(SORT_TURN, g.first.max_turns)
            name = a.name + (" *(quick)*" if a.profile == "quick" else "")
            hits10 = g.curve("hits10") if g.has_hits10 else None
            auc = f"{100 * g.at(lambda r: r.metrics.hits10_auc).mean:.1f}" if g.has_hits10 else "n/a"
            ci = (" ".join(f"[{100 * r.metrics.hits10_ci95[t5][0]:.1f}, {100 * r.metrics.hits10_ci95[t5][1]:.1f}]"
                           for r in g.results) if g.has_hits10 else "n/a")
            spread = ""
            if hits10 is not None and len(g.results) > 1:
                s = hits10[t5]
                spread = f"{100 * s.std:.1f} ({100 * s.low:.1f}-{100 * s.high:.1f})"
            minutes = [r.agent.train_minutes for r in g.results if r.agent.train_minutes is not None]
            pct = g.curve("pct")
            lines.append(f"| {name} | {a.feedback} | {a.train_user or ''} | {user} | "
                         + ", ".join(map(str, g.seeds)) + " | "
                         + " | ".join(_cell(hits10, t) for t in HITS_TURNS) + f" | {auc} | {ci} | {spread} | "
                         + " | ".join(_cell(pct, t) for t in TURNS)
                         + f" | {_cell([g.at(lambda r, t5=t5: r.metrics.recall['@10'][t5])], 0)}"
                         + f" | {_cell([g.at(lambda r: r.metrics.success[min(10, r.max_turns)])], 0)}"
                         + f" | {f'{np.mean(minutes):.1f}' if minutes else ''} |")
    return "\n".join(lines)


def plot_leaderboard(results: list[RunResult], path: str | Path) -> Path:
    """Hits@10, then rank percentile (figure 4 of the paper) and its zoom, against turn, for each agent with its
    own user (the mean over its training seeds); the band is the 95% interval of a single seed, the min-max over
    seeds for several. One legend below the three panels."""
    own = [g for g in group_by_seed(results) if g.first.user.name == (g.first.agent.train_user or "captioner")]
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8 + 0.1 * len(own)), dpi=120, layout="constrained")
    colours = plt.get_cmap("tab20")
    for i, g in enumerate(sorted(own, key=lambda g: (g.first.agent.feedback, g.first.agent.name))):
        r, feedback = g.first, g.first.agent.feedback
        colour = f"{0.3 + 0.15 * (i % 3):.2f}" if feedback == "none" else colours(i % 20)  # greys for the blind
        label = f"{r.agent.name} / {r.user.name}" + (" (quick)" if r.agent.profile == "quick" else "")
        if len(g.results) > 1:
            label += f" ({len(g.results)} seeds)"
        curves = [(axes[1], "pct"), (axes[2], "pct")]
        if g.has_hits10:
            curves.insert(0, (axes[0], "hits10"))
        else:
            label += " (no Hits@10: schema 1)"
        for ax, metric in curves:
            spreads = g.curve(metric)
            turns = range(len(spreads))
            if len(g.results) > 1:
                band = [(s.low, s.high) for s in spreads]
            else:
                band = r.metrics.ci95 if metric == "pct" else r.metrics.hits10_ci95
            ax.plot(turns, [100 * s.mean for s in spreads], STYLES[feedback], color=colour, marker="o",
                    markersize=2.5, label=label if ax is axes[1] else None)
            ax.fill_between(turns, [100 * lo for lo, _ in band], [100 * hi for _, hi in band], color=colour,
                            alpha=0.15)
    for ax in axes:
        ax.set_xlabel("dialog turn")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cumulative Hits@10 (%)")
    axes[0].set_ylim(0, 100)
    axes[0].set_title("target in the top 10 by turn t\n(each agent with the user it was trained with)")
    axes[1].set_ylabel("mean target rank percentile (%)")
    axes[1].set_title("mean target rank percentile\n(the paper's figure 4)")
    axes[2].set_ylabel("mean target rank percentile (%)")
    axes[2].set_ylim(85, 100)
    axes[2].set_xlim(left=0.5)
    axes[2].set_title("the same, 85-100%")
    if own:  # below the panels, where it hides no curve
        fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", fontsize=7, ncol=3, frameon=False,
                   title="solid: natural language, dashed: attributes, dotted: relevance, grey: blind; "
                         "bands: 95% CI of one seed, or min-max over seeds", title_fontsize=8)
    return save_figure(fig, path)


def write_leaderboard(results: list[RunResult], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    first = results[0]
    machines = sorted({f"{r.machine.cpu} ({r.machine.cores} cores, {r.machine.device})" for r in results})
    header = (f"# ShoeRetrieval-v0 leaderboard\n\nProtocol {first.protocol_version}, catalog {first.catalog.name}, "
              f"{first.split} split ({first.metrics.episodes} dialogs). H@10: cumulative Hits@10 (%), the share of "
              "dialogs whose target has been in the top 10 at some turn up to t; "
              f"AUC: its mean over turns 1-{first.max_turns}; "
              "pct: mean target rank percentile (%); n/a: a schema-1 results file, without Hits@10. "
              "A row with several training seeds shows their mean, each seed's 95% CI at turn 5 and the "
              "seeds' sample standard deviation and min-max of H@10 at turn 5. "
              f"Machines: {', '.join(machines)}.\n\n")
    table = write_text(header + format_leaderboard(results) + "\n", out / "leaderboard.md")
    return table, plot_leaderboard(results, out / "rank_curves.png")


def main(argv: list[str] | None = None) -> list[RunResult]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="results files (benchmarks.results schema)")
    parser.add_argument("--out", default="results", help="folder for leaderboard.md and rank_curves.png")
    args = parser.parse_args(argv)
    results = load_results(args.files)
    table, figure = write_leaderboard(results, args.out)
    print(format_leaderboard(results))
    print(f"\nwrote {table} and {figure}")
    return results


if __name__ == "__main__":
    main()
