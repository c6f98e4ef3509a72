"""Robustness: every trained dialog manager against every user, not only the one it was trained with.

    python -m benchmarks.reports.robustness                       # every run in runs/, the natural-language users
    python -m benchmarks.reports.robustness --methods triplet_sl policy_improvement --train-users captioner grammar
    python -m benchmarks.reports.robustness --eval-users captioner grammar attributes-10-deep relevance
    python -m benchmarks.reports.robustness --ray               # every cell a task on local Ray (or --ray ADDRESS)

A benchmark whose agents only work with their training simulator measures the simulator. For each
method and each training user with a finished run in `runs/<method>-<user>-s<seed>/checkpoint` (every
such run by default, populations such as "captioner+grammar+human-replay" included), the agent is
evaluated on the protocol (frozen test dialogs, 10 turns) with every evaluation user. The default users
are the natural-language ones: the grammar, the captioner (greedy), the captioner sampling its words
(captioner-sampled), the human-taught captioner (captioner-human) and `human-replay-heldout`, people's
captions of the 20% of target images that no training user or captioner saw, the column that says how an
agent does with human wording it never saw. The last two read the human caption files (`--captions`);
without them they are left out, with a note. Any other user name (attributes, relevance) may be given:
all speak words of the one vocabulary.

Writes one results file per cell to `results/runs/robustness/` (a cell whose file still fits the
checkpoint and the user is not evaluated again, so the matrix can grow as runs finish), and for a replay
user the share of its protocol answers that fell back to the grammar beside it (`<cell>.user.json`). The
tables (rows: training user, columns: evaluation user; each cell the mean rank percentile, or the
cumulative Hits@10, at turns 1 / 2 / 5) go to `results/robustness.md` and `results/robustness.json`.

With `--ray [ADDRESS]` (the ray extra) the cells that need evaluating run first as Ray tasks
(`benchmarks.cells`, one per cell, `--threads` CPUs each, retried `--retries` times), on a local Ray instance
or the cluster at ADDRESS; the tables are then read from their results files. The replay users' fallback
shares are not recorded for cells evaluated on Ray (their counts stay in the tasks).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agents.dialog_manager import DialogManagerAgent
from benchmarks.cells import EvalCell, Grid, World
from benchmarks.cli import command_parser, setup
from benchmarks.protocol import ProtocolConfig, evaluate
from benchmarks.reports.paper_agents import LABELS, METHODS
from benchmarks.results import AgentInfo, RunResult, make_result, reusable_result, write_result
from simulators import registry
from simulators.cache import content_hash, write_json, write_text
from simulators.replay import HumanReplayUser

LANGUAGE_USERS = ("grammar", "captioner", "captioner-sampled", "captioner-human", "human-replay-heldout")
"""The default evaluation users: every natural-language user, the held-out human captions last."""
TURNS = (1, 2, 5)
FEEDBACK = {"relevance": "relevance"}


def feedback_of(train_user: str) -> str:
    """The feedback channel an agent trained with `train_user` reads (a population's: its first member's)."""
    first = registry.parse_user_mixture(train_user)[0][0]
    return FEEDBACK.get(first, "relative attributes" if first.startswith("attributes-") else "natural language")


def trained_users(runs: Path, method: str, seed: int) -> list[str]:
    """The training users of the finished runs of `method` and `seed` in `runs`, single users first."""
    prefix, suffix = f"{method}-", f"-s{seed}"
    found = [p.name[len(prefix) : -len(suffix)] for p in runs.glob(f"{prefix}*{suffix}")
             if (p / "checkpoint" / "manifest.json").exists()]
    return sorted(found, key=lambda u: ("+" in u, u))


def agent_info(method: str, train_user: str, checkpoint: Path) -> AgentInfo:
    """How a results file names the finished run at `checkpoint`."""
    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    return AgentInfo(name=f"{LABELS[method]} (trained: {train_user})", feedback=feedback_of(train_user),
                     checkpoint_sha256=content_hash(checkpoint), method=method, train_user=train_user,
                     train_minutes=round(state["train_seconds"] / 60, 2))


def cell_path(out: Path, method: str, train_user: str, eval_user: str) -> Path:
    return out / "runs" / "robustness" / f"{method}-{train_user}--{eval_user}.json"


def ray_cells(args: Any, method: str, users: dict[str, Any], out: Path, catalog_hash: str | None) -> list[EvalCell]:
    """The evaluation cells of `method`'s finished runs whose results file does not fit any more."""
    cells = []
    for train_user in args.train_users or trained_users(Path(args.runs), method, args.seed):
        checkpoint = Path(args.runs) / f"{method}-{train_user}-s{args.seed}" / "checkpoint"
        if not (checkpoint / "manifest.json").exists():
            continue
        info = agent_info(method, train_user, checkpoint)
        for eval_user, user in users.items():
            path = cell_path(out, method, train_user, eval_user)
            if reusable_result(path, info, registry.user_fingerprint(user), catalog_hash) is None:
                cells.append(EvalCell(info, "manager", eval_user, str(path), checkpoint=str(checkpoint.resolve())))
    return cells


def cell(result: RunResult, metric: str) -> list[float]:
    """The mean rank percentile ("pct") or cumulative Hits@10 ("hits10") of a result at TURNS."""
    curve = result.metrics.mean_rank_percentile if metric == "pct" else (result.metrics.hits or {}).get("@10", [])
    return [curve[min(t, len(curve) - 1)] for t in TURNS] if curve else []


def format_matrix(cells: dict[str, dict[str, dict[str, list[float]]]], users: list[str], metric: str) -> str:
    what = "Mean target rank percentile" if metric == "pct" else "Cumulative Hits@10"
    head = "| trained with \\ evaluated with | " + " | ".join(users) + " |"
    lines = [f"{what} (%) at turns {' / '.join(map(str, TURNS))}; bold: the training user.", "", head,
             "|" + "---|" * (len(users) + 1)]
    for train_user, row in cells.items():
        texts = []
        for u in users:
            values = row.get(u, {}).get(metric, [])
            text = " / ".join(f"{100 * v:.1f}" for v in values)
            texts.append(f"**{text}**" if text and u == train_user else text)
        lines.append(f"| {train_user} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, threads=True)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--train-users", nargs="+", default=None,
                        help="training users of the runs to evaluate (default: every finished run of each method)")
    parser.add_argument("--eval-users", nargs="+", default=list(LANGUAGE_USERS),
                        help="evaluation users (names of simulators.registry; default %(default)s)")
    parser.add_argument("--captions", default=None,
                        help="the human caption files' folder (default: $SHOE_RETRIEVAL_HUMAN_CAPTIONS, else the "
                             "shared folder)")
    parser.add_argument("--out", default="results")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="evaluate the cells as Ray tasks: on a local Ray instance, or the cluster at ADDRESS")
    parser.add_argument("--retries", type=int, default=3, help="with --ray, retries of a task whose worker died")
    args = parser.parse_args(argv)
    for name in [*args.eval_users, *(args.train_users or [])]:
        registry.parse_user_mixture(name)  # a malformed name fails before anything is built
    t0 = time.perf_counter()
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    users: dict[str, Any] = {}
    for name in args.eval_users:
        try:
            users[name] = registry.make_user(name, catalog, seed=args.seed, device=device, progress=progress,
                                             vocabulary=vocabulary, captions=args.captions)
        except FileNotFoundError as err:
            print(f"(left out the {name} user: {err})")
    eval_users = list(users)
    protocol = ProtocolConfig(seed=args.seed)
    out = Path(args.out)
    catalog_hash = content_hash(catalog.path) if catalog.path else None
    report: dict[str, Any] = {"catalog": catalog.name, "turns": list(TURNS), "eval_users": eval_users,
                              "methods": {}}
    if args.ray is not None:
        world = World(catalog=args.catalog, catalog_name=args.catalog, seed=args.seed, device=device,
                      captions=args.captions, threads=getattr(args, "threads", None) or 0, catalog_hash=catalog_hash)
        cells = [cell for method in args.methods for cell in ray_cells(args, method, users, out, catalog_hash)]
        print(f"{len(cells)} cells to evaluate on Ray")
        if cells:
            Grid(world, [], cells).run_on_ray(args.ray or None, max_retries=args.retries)
    for method in args.methods:
        cells: dict[str, dict[str, dict[str, Any]]] = {}
        train_users = args.train_users or trained_users(Path(args.runs), method, args.seed)
        for train_user in train_users:
            checkpoint = Path(args.runs) / f"{method}-{train_user}-s{args.seed}" / "checkpoint"
            if not (checkpoint / "manifest.json").exists():
                print(f"(no run at {checkpoint}; skipped)")
                continue
            agent = DialogManagerAgent.load(checkpoint, catalog, vocabulary, device=device)
            agent.use_split("test")
            info = agent_info(method, train_user, checkpoint)
            cells[train_user] = {}
            for eval_user, user in users.items():
                path = cell_path(out, method, train_user, eval_user)
                side = path.with_suffix(".user.json")
                result = reusable_result(path, info, registry.user_fingerprint(user), catalog_hash)
                if result is None or (isinstance(user, HumanReplayUser) and not side.exists() and args.ray is None):
                    before = (getattr(user, "answers", 0), getattr(user, "fallbacks", 0))
                    evaluation = evaluate(agent, catalog, user, protocol, agent_name=info.name, user_name=eval_user,
                                          device=device, vocabulary=vocabulary, progress=progress)
                    result = make_result(evaluation, catalog, info, user, eval_user, device)
                    write_result(result, path)
                    if isinstance(user, HumanReplayUser):
                        answers, fallbacks = user.answers - before[0], user.fallbacks - before[1]
                        write_json({"answers": answers, "fallbacks": fallbacks,
                                    "fallback_rate": fallbacks / max(answers, 1)}, side)
                entry: dict[str, Any] = {"pct": cell(result, "pct"), "hits10": cell(result, "hits10")}
                if side.exists():
                    entry["fallback_rate"] = json.loads(side.read_text(encoding="utf-8"))["fallback_rate"]
                cells[train_user][eval_user] = entry
                rate = entry.get("fallback_rate")
                fallback = "" if rate is None else f"  (grammar fallback {100 * rate:.1f}%)"
                print(f"{info.name:<62} with {eval_user:<22} pct t=1/2/5 "
                      + " / ".join(f"{100 * v:.2f}" for v in entry["pct"]) + "   Hits@10 "
                      + " / ".join(f"{100 * v:.1f}" for v in entry["hits10"]) + fallback, flush=True)
        report["methods"][method] = cells
    sections = []
    for method, cells in report["methods"].items():
        if cells:
            sections.append(f"### {LABELS[method]}\n\n{format_matrix(cells, eval_users, 'pct')}\n\n"
                            f"{format_matrix(cells, eval_users, 'hits10')}")
    rates = [f"{m} {t} with {u}: {100 * e['fallback_rate']:.1f}%" for m, cells in report["methods"].items()
             for t, row in cells.items() for u, e in row.items() if "fallback_rate" in e]
    if rates:
        sections.append("Replay answers that fell back to the grammar in the protocol's dialogs: " + "; ".join(rates))
    text = "\n\n".join(sections)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(report, out / "robustness.json")
    md = write_text(text + "\n", out / "robustness.md")
    print("\n" + text + f"\n\nwrote {md} and {out / 'robustness.json'} ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
