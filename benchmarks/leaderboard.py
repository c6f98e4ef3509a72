"""The leaderboard: results files in, a Markdown table and the paper's figure 4 out.

    python -m benchmarks.leaderboard results/runs/*.json            # writes results/leaderboard.md, rank_curves.png
    python -m benchmarks.leaderboard my-agent.json results/runs/*.json --out results

Every file is read through the schema of `benchmarks.results` (a file from another protocol version
is refused). One row per agent and evaluation user: mean target rank percentile at turns 1, 2, 3,
5 and 10 (with the 95% interval at turn 5), Recall@10 at turn 5, success by turn 10, training
minutes; rows of the quick profile are marked. The figure, in the manner of the paper's figure 4,
draws rank percentile against turn for every agent with the user it was trained with (agents that
learned nothing: with the captioner), natural-language feedback as solid lines, relative
attributes dashed, relevance dotted, feedback-blind baselines grey; bands are the 95% intervals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.plots import save_figure  # noqa: E402
from benchmarks.results import RunResult, read_result  # noqa: E402
from simulators.cache import write_text  # noqa: E402

TURNS = (1, 2, 3, 5, 10)
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


def _cell(values: list[float], turn: int) -> str:
    return f"{100 * values[turn]:.1f}" if turn < len(values) else ""


def format_leaderboard(results: list[RunResult]) -> str:
    """The Markdown table, best at turn 5 first within each evaluation user."""
    head = ("| agent | feedback | trained with | eval user | " + " | ".join(f"t={t}" for t in TURNS)
            + " | 95% CI t=5 | R@10 t=5 | success t=10 | train min |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    users = sorted({r.user.name for r in results}, key=lambda u: (u != "captioner", u != "grammar", u))
    for user in users:
        rows = sorted((r for r in results if r.user.name == user),
                      key=lambda r: -r.metrics.mean_rank_percentile[min(5, r.max_turns)])
        for r in rows:
            m, a = r.metrics, r.agent
            name = a.name + (" *(quick)*" if a.profile == "quick" else "")
            t5 = min(5, r.max_turns)
            lo, hi = m.ci95[t5]
            minutes = f"{a.train_minutes:.1f}" if a.train_minutes is not None else ""
            lines.append(f"| {name} | {a.feedback} | {a.train_user or ''} | {user} | "
                         + " | ".join(_cell(m.mean_rank_percentile, t) for t in TURNS)
                         + f" | [{100 * lo:.1f}, {100 * hi:.1f}] | {_cell(m.recall['@10'], t5)} | "
                         f"{_cell(m.success, min(10, r.max_turns))} | {minutes} |")
    return "\n".join(lines)


def plot_leaderboard(results: list[RunResult], path: str | Path) -> Path:
    """Rank percentile against turn for each agent with its own user (figure 4 of the paper), plus a zoom."""
    own = [r for r in results if r.user.name == (r.agent.train_user or "captioner")]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), dpi=120)
    colours = plt.get_cmap("tab20")
    for i, r in enumerate(sorted(own, key=lambda r: (r.agent.feedback, r.agent.name))):
        m, feedback = r.metrics, r.agent.feedback
        colour = f"{0.3 + 0.15 * (i % 3):.2f}" if feedback == "none" else colours(i % 20)  # greys for the blind
        turns = range(len(m.mean_rank_percentile))
        for ax in axes:
            ax.plot(turns, [100 * v for v in m.mean_rank_percentile], STYLES[feedback], color=colour, marker="o",
                    markersize=2.5, label=f"{r.agent.name} / {r.user.name}" + (" (quick)" if r.agent.profile ==
                                                                             "quick" else ""))
            ax.fill_between(turns, [100 * lo for lo, _ in m.ci95], [100 * hi for _, hi in m.ci95], color=colour,
                            alpha=0.15)
    for ax in axes:
        ax.set_xlabel("dialog turn")
        ax.set_ylabel("mean target rank percentile (%)")
        ax.grid(alpha=0.3)
    axes[0].set_title("each agent with the user it was trained with\n"
                      "solid: natural language, dashed: attributes, dotted: relevance, grey: blind")
    axes[1].set_ylim(85, 100)
    axes[1].set_xlim(left=0.5)
    axes[1].set_title("the same, 85-100%")
    axes[0].legend(fontsize=6, loc="lower right")
    return save_figure(fig, path)


def write_leaderboard(results: list[RunResult], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    first = results[0]
    machines = sorted({f"{r.machine.cpu} ({r.machine.cores} cores, {r.machine.device})" for r in results})
    header = (f"# ShoeRetrieval-v0 leaderboard\n\nProtocol {first.protocol_version}, catalog {first.catalog.name}, "
              f"{first.split} split ({first.metrics.episodes} dialogs), mean target rank percentile (%) per turn. "
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
