"""benchmarks.reports.headroom: what a run changed from the paper, and the issue's checks on hand-made ranks."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.protocol import EvalResult, ProtocolConfig, metrics_from_ranks
from benchmarks.reports.headroom import checks, describe, run_summary


def result(ranks: np.ndarray, name: str) -> EvalResult:
    return EvalResult(agent=name, user="grammar", episodes=len(ranks), seconds=0.0,
                      **metrics_from_ranks(ranks, 1000, ProtocolConfig(bootstrap=200)))


def row(method: str, ranks: np.ndarray) -> dict:
    return {"name": method, "summary": {"method": method}, "result": result(ranks, method)}


def test_run_summary_names_what_changed_from_the_paper(tmp_path):
    run = tmp_path / "policy_improvement-grammar-s0"
    (run / "checkpoint").mkdir(parents=True)
    args = {"user": "grammar", "hard_negatives": 16, "anchor": "triplet", "selection_head": True,
            "contrast_candidates": False, "return_name": "top-10", "lr": 1e-4, "top_k": 4, "negatives": 5,
            "temperature": 0.2, "init": "runs/triplet_sl-grammar-s0/checkpoint"}
    (run / "checkpoint" / "state.json").write_text(json.dumps(
        {"method": "policy_improvement", "args": args, "epoch": 2, "train_seconds": 120.0}))
    summary = run_summary(run)
    assert summary["changed"] == {"hard_negatives": 16, "anchor": "triplet", "selection_head": True,
                                  "return_name": "top-10"}
    assert summary["epochs"] == 3 and summary["train_minutes"] == 2.0
    text = describe(summary)
    assert "return=top-10" in text and "from triplet_sl-grammar-s0" in text and "lr" not in text


def test_checks_compare_the_best_rl_with_the_best_sl():
    rng = np.random.default_rng(0)
    n, turns = 400, 11
    far = rng.integers(20, 500, size=(n, turns))
    sl = far.copy()
    sl[: n // 4, 5:] = 3  # a quarter of the dialogs in the top 10 from turn 5
    pi = far.copy()
    pi[: n // 2, 3:] = 0  # half of them found from turn 3
    scst = far.copy()
    scst[: n // 3, 4:] = 5
    found = checks([row("triplet_sl", sl), row("scst", scst), row("policy_improvement", pi)])
    assert found["best_sl"] == "triplet_sl" and found["best_rl"] == "policy_improvement"
    assert abs(found["hits10_t5_gain_points"] - 25.0) < 1e-9
    assert found["hits10_t5_intervals_apart"]
    assert found["paper_order_turns_2_to_10"][5] and not found["paper_order_turns_2_to_10"][2]  # all tie at 2
    assert found["best_recall10_t5"]["run"] == "policy_improvement"
