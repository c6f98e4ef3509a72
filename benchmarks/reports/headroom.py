"""Where the ranking has headroom: the dialog managers on the protocol, led by Hits@10, with the paper's claims checked.

    python -m benchmarks.reports.headroom --user grammar runs/triplet_sl-grammar-s0 runs/policy_improvement-grammar-s0
    python -m benchmarks.reports.headroom --user captioner runs/*-captioner-s0 --out results/headroom-captioner.json

Each run folder (a training run of `agents.triplet_sl`, `agents.scst` or `agents.policy_improvement`)
is evaluated on the full protocol (every test item the target once, frozen dialogs, 10 turns,
greedy) with `--user`, one results file per run in `results/runs/headroom/` (reused while the
checkpoint, user and catalog are unchanged; `python -m benchmarks.leaderboard` reads them). Each
row says what the run changed from the paper's method, read from the arguments the run saved, and
how long it trained. The table gives cumulative Hits@10 per turn with 95% intervals, its AUC,
Recall@10 at turn 5 and the mean rank percentile; then the issue's checks: the best RL run against
the best SL run on Hits@10 at turn 5 (intervals apart?) and on the rank percentile at every turn
(at most 0.3 point below?), and the paper's ordering (policy improvement > RL-SCST > SL) on Hits@10
at turns 2-10.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.dialog_manager import DialogManagerAgent
from benchmarks.cli import command_parser, setup
from benchmarks.protocol import EvalResult, ProtocolConfig, evaluate
from benchmarks.results import AgentInfo, as_eval_result, make_result, result_path, reusable_result, write_result
from simulators import registry
from simulators.cache import content_hash, write_json

PAPER = {
    "triplet_sl": {"hard_negatives": 0, "margin": 0.1, "lr": 1e-3, "top_k": 4},
    "scst": {"hard_negatives": 0, "anchor": "none", "selection_head": False, "candidate_scorer": 0,
             "return_name": "percentile",
             "lr": 1e-4, "top_k": 4, "temperature": 0.2},
    "policy_improvement": {"hard_negatives": 0, "anchor": "squared", "selection_head": False, "candidate_scorer": 0,
                           "contrast_candidates": False, "return_name": "percentile", "lr": 1e-4, "top_k": 4,
                           "negatives": 5, "temperature": 0.2},
}
"""The paper's settings of each method (section 3.2 and the published implementation), to say what a run changed."""
LABELS = {"triplet_sl": "SL (triplet)", "scst": "RL-SCST", "policy_improvement": "policy improvement"}
RL = ("scst", "policy_improvement")
TURNS = (1, 2, 3, 5, 10)


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Method, epochs, training minutes, the arguments that differ from the paper's, and where it started."""
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    method, args = state["method"], state["args"]
    changed = {k: args[k] for k, v in PAPER[method].items() if k in args and args[k] != v}
    return {"method": method, "epochs": state["epoch"] + 1, "train_minutes": state["train_seconds"] / 60,
            "changed": changed, "init": args.get("init") or None, "user": args["user"]}


def describe(summary: dict[str, Any]) -> str:
    changed = ", ".join(f"{k.replace('return_name', 'return')}={v}" for k, v in summary["changed"].items())
    start = f"; from {Path(summary['init']).parent.name}" if summary["init"] else ""
    return f"{summary['epochs']} epochs; " + (f"changed: {changed}" if changed else "the paper's settings") + start


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def format_rows(rows: list[dict[str, Any]]) -> str:
    head = ("| run | what it changed from the paper | train min | " + " | ".join(f"H@10 t={t}" for t in TURNS)
            + " | H@10 AUC | R@10 t=5 | " + " | ".join(f"pct t={t}" for t in TURNS) + " |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        r: EvalResult = row["result"]
        hits, ci = r.hits["@10"], r.hits10_ci95
        lines.append(f"| {row['name']} | {describe(row['summary'])} | {row['summary']['train_minutes']:.1f} | "
                     + " | ".join(f"{_pct(hits[t])} [{_pct(ci[t][0])}, {_pct(ci[t][1])}]" for t in TURNS)
                     + f" | {_pct(r.hits10_auc)} | {_pct(r.recall['@10'][5])} | "
                     + " | ".join(f"{100 * r.mean_rank_percentile[t]:.2f}" for t in TURNS) + " |")
    return "\n".join(lines)


def checks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, measured: best RL against best SL, and the paper's ordering."""
    def best(methods: tuple[str, ...]) -> dict[str, Any] | None:
        chosen = [r for r in rows if r["summary"]["method"] in methods]
        return max(chosen, key=lambda r: r["result"].hits["@10"][5]) if chosen else None

    sl, rl = best(("triplet_sl",)), best(RL)
    out: dict[str, Any] = {}
    if sl and rl:
        a, b = rl["result"], sl["result"]
        out["best_sl"], out["best_rl"] = sl["name"], rl["name"]
        out["hits10_t5_gain_points"] = 100 * (a.hits["@10"][5] - b.hits["@10"][5])
        out["hits10_t5_intervals_apart"] = a.hits10_ci95[5][0] > b.hits10_ci95[5][1]
        out["worst_rank_percentile_gap_points"] = min(100 * (x - y) for x, y in
                                                      zip(a.mean_rank_percentile[1:], b.mean_rank_percentile[1:],
                                                          strict=True))
    order = [best((m,)) for m in ("policy_improvement", "scst", "triplet_sl")]
    if all(order):
        h = [o["result"].hits["@10"] for o in order]
        out["paper_order_turns_2_to_10"] = {t: bool(h[0][t] > h[1][t] > h[2][t]) for t in range(2, len(h[0]))}
    best_any = max(rows, key=lambda r: r["result"].recall["@10"][5])
    out["best_recall10_t5"] = {"run": best_any["name"], "value": best_any["result"].recall["@10"][5]}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("runs", nargs="+", help="training run folders (each with checkpoint/)")
    parser.add_argument("--user", required=True, choices=registry.USER_NAMES, help="the evaluation user")
    parser.add_argument("--results", default="results/runs/headroom", help="folder of the results files")
    parser.add_argument("--out", default=None, help="report JSON (default results/headroom-<user>.json)")
    args = parser.parse_args(argv)
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    user = registry.make_user(args.user, catalog, device=device, vocabulary=vocabulary, progress=progress)
    fingerprint, catalog_hash = registry.user_fingerprint(user), content_hash(catalog.path) if catalog.path else None
    rows: list[dict[str, Any]] = []
    for run in args.runs:
        run_dir = Path(run)
        if not (run_dir / "checkpoint" / "manifest.json").exists():
            parser.error(f"{run_dir} holds no checkpoint/ (a training run folder of agents.<method>)")
        summary = run_summary(run_dir)
        name = f"{LABELS[summary['method']]} [{run_dir.name}]"
        info = AgentInfo(name=name, feedback="natural language", checkpoint_sha256=content_hash(run_dir / "checkpoint"),
                         method=summary["method"], train_user=summary["user"],
                         train_minutes=round(summary["train_minutes"], 2))
        path = result_path(args.results, run_dir.name, args.user)
        result = reusable_result(path, info, fingerprint, catalog_hash)
        if result is None:
            agent = DialogManagerAgent.load(run_dir / "checkpoint", catalog, vocabulary, device=device)
            agent.use_split("test")
            evaluation = evaluate(agent, catalog, user, ProtocolConfig(), agent_name=name, user_name=args.user,
                                  device=device, vocabulary=vocabulary, progress=progress)
            result = make_result(evaluation, catalog, info, user, args.user, device)
            write_result(result, path)
        rows.append({"name": name, "summary": summary, "result": as_eval_result(result), "file": str(path)})
    print(f"\n== Protocol, {args.user} user: cumulative Hits@10 [95% interval], its AUC over turns 1-10, Recall@10 "
          "at turn 5, mean rank percentile\n")
    print(format_rows(rows))
    found = checks(rows)
    print("\n== Checks\n" + json.dumps(found, indent=1))
    report = {"catalog": catalog.name, "user": args.user, "checks": found,
              "rows": [{"name": r["name"], **r["summary"], "file": r["file"], "result": r["result"].to_json()}
                       for r in rows]}
    write_json(report, args.out or f"results/headroom-{args.user}.json")
    return report


if __name__ == "__main__":
    main()
