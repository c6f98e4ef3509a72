"""The leaderboard: results files in, a Markdown table and the paper's figure 4 (with Hits@10 beside it) out.

    python -m benchmarks.leaderboard results/runs/*.json            # writes results/leaderboard.md, rank_curves.png
    python -m benchmarks.leaderboard my-agent.json results/runs/*.json --out results

Every file is read through the schema of `benchmarks.results` (a file from another protocol version
is refused). The paper's mean rank percentile saturates near 97-99%, so the table leads with the top
of the ranking. One row per agent and evaluation user: cumulative Hits@10 (target in the top 10 at
some turn so far) at turns 1, 2, 3, 5 and 10, its AUC over turns 1-10 and its 95% interval at turn
5; then mean target rank percentile at turns 1, 2, 5 and 10, Recall@10 at turn 5, success by turn
10, training minutes. Rows are sorted by Hits@10 at turn 5 within each evaluation user; schema-1
files (no Hits@10) read "n/a" and come last; rows of the quick profile are marked. The figure draws,
for every agent with the user it was trained with (agents that learned nothing: with the captioner),
Hits@10 against turn (left), then rank percentile as in the paper's figure 4 and its 85-100% zoom;
natural-language feedback as solid lines, relative attributes dashed, relevance dotted,
feedback-blind baselines grey; bands are the 95% intervals; the legend sits below the panels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

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
    """Read every file; for one (agent, evaluation user) seen twice, the newest file wins."""
    by_key: dict[tuple[str, str], RunResult] = {}
    for path in paths:
        result = read_result(path)
        key = (result.agent.name, result.user.name)
        if key not in by_key or result.created_utc >= by_key[key].created_utc:
            by_key[key] = result
    if not by_key:
        raise ValueError("no results files given")
    catalogs = {r.catalog.name for r in by_key.values()}
    if len(catalogs) > 1:
        raise ValueError(f"results come from different catalogs {sorted(catalogs)}: one leaderboard per catalog")
    return list(by_key.values())


def _cell(values: list[float] | None, turn: int) -> str:
    if values is None:
        return "n/a"
    return f"{100 * values[turn]:.1f}" if turn < len(values) else ""


def _sort_key(r: RunResult) -> tuple[bool, float, float]:
    """Hits@10 at turn 5 first (schema-1 files, without it, last), then the rank percentile at turn 5."""
    t5, m = min(SORT_TURN, r.max_turns), r.metrics
    return m.hits is None, -(m.hits["@10"][t5] if m.hits else 0.0), -m.mean_rank_percentile[t5]


def format_leaderboard(results: list[RunResult]) -> str:
    """The Markdown table, best Hits@10 at turn 5 first within each evaluation user."""
    head = ("| agent | feedback | trained with | eval user | " + " | ".join(f"H@10 t={t}" for t in HITS_TURNS)
            + f" | H@10 AUC | H@10 95% CI t={SORT_TURN} | " + " | ".join(f"pct t={t}" for t in TURNS)
            + f" | R@10 t={SORT_TURN} | success t=10 | train min |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    users = sorted({r.user.name for r in results}, key=lambda u: (u != "captioner", u != "grammar", u))
    for user in users:
        for r in sorted((r for r in results if r.user.name == user), key=_sort_key):
            m, a = r.metrics, r.agent
            name = a.name + (" *(quick)*" if a.profile == "quick" else "")
            t5 = min(SORT_TURN, r.max_turns)
            hits10 = m.hits["@10"] if m.hits else None
            auc = f"{100 * m.hits10_auc:.1f}" if m.hits10_auc is not None else "n/a"
            ci = (f"[{100 * m.hits10_ci95[t5][0]:.1f}, {100 * m.hits10_ci95[t5][1]:.1f}]" if m.hits10_ci95
                  else "n/a")
            minutes = f"{a.train_minutes:.1f}" if a.train_minutes is not None else ""
            lines.append(f"| {name} | {a.feedback} | {a.train_user or ''} | {user} | "
                         + " | ".join(_cell(hits10, t) for t in HITS_TURNS) + f" | {auc} | {ci} | "
                         + " | ".join(_cell(m.mean_rank_percentile, t) for t in TURNS)
                         + f" | {_cell(m.recall['@10'], t5)} | {_cell(m.success, min(10, r.max_turns))} | {minutes} |")
    return "\n".join(lines)


def plot_leaderboard(results: list[RunResult], path: str | Path) -> Path:
    """Hits@10, then rank percentile (figure 4 of the paper) and its zoom, against turn, for each agent with its
    own user; one legend below the three panels."""
    own = [r for r in results if r.user.name == (r.agent.train_user or "captioner")]
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8 + 0.1 * len(own)), dpi=120, layout="constrained")
    colours = plt.get_cmap("tab20")
    for i, r in enumerate(sorted(own, key=lambda r: (r.agent.feedback, r.agent.name))):
        m, feedback = r.metrics, r.agent.feedback
        colour = f"{0.3 + 0.15 * (i % 3):.2f}" if feedback == "none" else colours(i % 20)  # greys for the blind
        turns = range(len(m.mean_rank_percentile))
        label = f"{r.agent.name} / {r.user.name}" + (" (quick)" if r.agent.profile == "quick" else "")
        curves = [(axes[1], m.mean_rank_percentile, m.ci95), (axes[2], m.mean_rank_percentile, m.ci95)]
        if m.hits is not None:
            curves.insert(0, (axes[0], m.hits["@10"], m.hits10_ci95))
        else:
            label += " (no Hits@10: schema 1)"
        for ax, values, ci in curves:
            ax.plot(turns, [100 * v for v in values], STYLES[feedback], color=colour, marker="o", markersize=2.5,
                    label=label if ax is axes[1] else None)
            ax.fill_between(turns, [100 * lo for lo, _ in ci], [100 * hi for _, hi in ci], color=colour, alpha=0.15)
    for ax in axes:
        ax.set_xlabel("dialog turn")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cumulative Hits@10 (%)")
    axes[0].set_ylim(0, 100)
    axes[0].set_title("target in the top 10 by turn t\n(each agent with the user it was trained with)")
    axes[1].set_ylabel("mean target rank percentile (%)")
    axes[1].set_title("mean target rank percentile (the paper's figure 4)\n"
                      "solid: natural language, dashed: attributes, dotted: relevance, grey: blind")
    axes[2].set_ylabel("mean target rank percentile (%)")
    axes[2].set_ylim(85, 100)
    axes[2].set_xlim(left=0.5)
    axes[2].set_title("the same, 85-100%")
    if own:  # below the panels, where it hides no curve
        fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", fontsize=7, ncol=3, frameon=False)
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
