"""Robustness: every trained dialog manager against every user, not only the one it was trained with.

    python -m benchmarks.reports.robustness                                  # policy improvement, every run in runs/
    python -m benchmarks.reports.robustness --methods triplet_sl policy_improvement --turn 5

A benchmark whose agents only work with their training simulator measures the simulator. For each
method and each training user with a finished run in `runs/<method>-<user>-s<seed>/checkpoint`,
the agent is evaluated on the protocol (frozen test dialogs, 10 turns) with every evaluation user:
the captioner, the grammar, the six estimated-attribute users and the relevance user (all speak
words of the one vocabulary, so every pairing is possible). Writes one results file per cell to
`results/runs/robustness/` (a cell whose file still fits the checkpoint and the user is not evaluated
again, so the matrix can grow as runs finish), the matrix (mean rank percentile at the chosen turn, rows: training
user, columns: evaluation user) to `results/robustness.md` and `results/robustness.json`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agents.dialog_manager import DialogManagerAgent
from benchmarks.cli import command_parser, setup
from benchmarks.protocol import ProtocolConfig, evaluate
from benchmarks.reports.paper_agents import LABELS, METHODS
from benchmarks.results import AgentInfo, make_result, reusable_result, write_result
from simulators import registry
from simulators.cache import content_hash, write_json, write_text

DEFAULT_USERS = ("captioner", "grammar", "attributes-10-deep", "attributes-10-handcrafted", "attributes-3-deep",
                 "attributes-3-handcrafted", "attributes-1-deep", "attributes-1-handcrafted", "relevance")
FEEDBACK = {"captioner": "natural language", "grammar": "natural language", "relevance": "relevance"}


def format_matrix(matrix: dict[str, dict[str, float]], users: list[str], turn: int) -> str:
    head = "| trained with \\ evaluated with | " + " | ".join(users) + " |"
    lines = [f"Mean target rank percentile (%) at turn {turn}; the diagonal is the training user.", "", head,
             "|" + "---|" * (len(users) + 1)]
    for train_user, row in matrix.items():
        cells = [(f"**{100 * row[u]:.1f}**" if u == train_user else f"{100 * row[u]:.1f}") if u in row else ""
                 for u in users]
        lines.append(f"| {train_user} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["policy_improvement"], choices=METHODS)
    parser.add_argument("--train-users", nargs="+", default=list(DEFAULT_USERS), choices=registry.USER_NAMES)
    parser.add_argument("--eval-users", nargs="+", default=list(DEFAULT_USERS), choices=registry.USER_NAMES)
    parser.add_argument("--turn", type=int, default=5, help="turn whose rank percentile fills the matrix")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    users = {name: registry.make_user(name, catalog, seed=args.seed, device=device, progress=progress,
                                      vocabulary=vocabulary) for name in args.eval_users}
    protocol = ProtocolConfig(seed=args.seed)
    out = Path(args.out)
    catalog_hash = content_hash(catalog.path) if catalog.path else None
    report: dict[str, Any] = {"catalog": catalog.name, "turn": args.turn, "matrices": {}}
    for method in args.methods:
        matrix: dict[str, dict[str, float]] = {}
        for train_user in args.train_users:
            checkpoint = Path(args.runs) / f"{method}-{train_user}-s{args.seed}" / "checkpoint"
            if not (checkpoint / "manifest.json").exists():
                print(f"(no run at {checkpoint}; skipped)")
                continue
            agent = DialogManagerAgent.load(checkpoint, catalog, vocabulary, device=device)
            agent.use_split("test")
            state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
            info = AgentInfo(name=f"{LABELS[method]} (trained: {train_user})",
                             feedback=FEEDBACK.get(train_user, "relative attributes"),
                             checkpoint_sha256=content_hash(checkpoint), method=method, train_user=train_user,
                             train_minutes=round(state["train_seconds"] / 60, 2))
            matrix[train_user] = {}
            for eval_user, user in users.items():
                path = out / "runs" / "robustness" / f"{method}-{train_user}--{eval_user}.json"
                result = reusable_result(path, info, registry.user_fingerprint(user), catalog_hash)
                if result is None:
                    evaluation = evaluate(agent, catalog, user, protocol, agent_name=info.name, user_name=eval_user,
                                          device=device, vocabulary=vocabulary, progress=progress)
                    result = make_result(evaluation, catalog, info, user, eval_user, device)
                    write_result(result, path)
                curve = result.metrics.mean_rank_percentile
                matrix[train_user][eval_user] = curve[min(args.turn, len(curve) - 1)]
                print(f"{info.name:<55} with {eval_user:<26} turn {args.turn}: "
                      f"{100 * matrix[train_user][eval_user]:.1f}", flush=True)
        report["matrices"][method] = matrix
    text = "\n\n".join(f"### {LABELS[m]}\n\n{format_matrix(mx, args.eval_users, args.turn)}"
                       for m, mx in report["matrices"].items())
    report["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(report, out / "robustness.json")
    md = write_text(text + "\n", out / "robustness.md")
    print("\n" + text + f"\n\nwrote {md} and {out / 'robustness.json'} ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
