"""The agents report: the best epoch by the subset's Hits@10 when the run logged it, and the Hits@10 table."""

import numpy as np

from benchmarks.protocol import EvalResult, ProtocolConfig, metrics_from_ranks
from benchmarks.reports.paper_agents import eval_result_from_json, format_hits, training_summary


def _state(*epochs: dict[str, float]) -> dict:
    history = [{"epoch": i, "train_seconds": 60.0 * (i + 1), "time/iteration_s": 1.0, **e}
               for i, e in enumerate(epochs)]
    return {"history": history, "train_seconds": 60.0 * len(epochs)}


def test_best_epoch_by_hits10_at_turn_5_else_rank_percentile_at_turn_2():
    logged = _state({"eval/turn_2": 0.95, "eval/hits10_turn_5": 0.20},
                    {"eval/turn_2": 0.97, "eval/hits10_turn_5": 0.10},
                    {"eval/turn_2": 0.96, "eval/hits10_turn_5": 0.30})
    summary = training_summary(logged)
    assert summary["best_by"] == "eval/hits10_turn_5" and summary["best_epoch"] == 3
    assert summary["best_hits10_turn_5"] == 0.30 and summary["best_turn_2"] == 0.96
    older = training_summary(_state({"eval/turn_2": 0.95}, {"eval/turn_2": 0.97}, {"eval/turn_2": 0.96}))
    assert older["best_by"] == "eval/turn_2" and older["best_epoch"] == 2 and older["best_hits10_turn_5"] is None
    assert training_summary({"history": [], "train_seconds": 0.0}) == {}


def test_hits_table_and_earlier_reports_without_hits():
    ranks = np.array([[50, 40, 20, 5, 15, 15, 15, 15, 15, 15, 15], [30] * 11])
    result = EvalResult(agent="hand-made", user="grammar", episodes=2, seconds=0.0,
                        **metrics_from_ranks(ranks, 100, ProtocolConfig(bootstrap=20)))
    again = eval_result_from_json(result.to_json())
    assert again == result and isinstance(again.hits10_auc_ci95, tuple)
    old = {k: v for k, v in result.to_json().items() if not k.startswith(("hits", "first_hit", "never_hit"))}
    old = eval_result_from_json(old | {"agent": "older report"})
    assert old.hits is None and old.hits10_auc is None
    table = format_hits([result, old]).splitlines()
    assert table[0].split()[-1] == "AUC"
    assert " 50.0 [" in table[2] and table[2].count(" 0.0 [ 0.0,  0.0]") == 3  # turns 0-2; hit from turn 3 on
    assert table[2].rstrip().endswith(f"{100 * result.hits10_auc:.1f} [{100 * result.hits10_auc_ci95[0]:4.1f},"
                                      f"{100 * result.hits10_auc_ci95[1]:5.1f}]")
    assert table[3].split()[-1] == "n/a"
