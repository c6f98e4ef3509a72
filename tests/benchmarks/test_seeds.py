"""Seeds on the leaderboard: results files per training seed, grouped into one row with their spread."""

import json

import pytest

from benchmarks import leaderboard
from benchmarks.results import (
    AgentInfo,
    CatalogInfo,
    Machine,
    Metrics,
    RunResult,
    UserInfo,
    read_result,
    result_path,
    reusable_result,
    write_result,
)

TURNS = 11


def hand_made(name: str, seed: int | None, hits5: float, *, bootstrap_seed: int = 0, user: str = "grammar",
              created: str = "2026-01-01T00:00:00Z", turns: int = TURNS, checkpoint: str = "abc") -> RunResult:
    """A results file of a learned agent whose cumulative Hits@10 rises linearly to `hits5` at turn 5."""
    hits = [min(1.0, hits5 * t / 5) for t in range(turns)]
    pct = [0.5 + 0.4 * t / (turns - 1) for t in range(turns)]
    band = [(max(0.0, v - 0.02), min(1.0, v + 0.02)) for v in hits]
    metrics = Metrics(episodes=16, mean_rank_percentile=pct, ci95=[(p - 0.01, p + 0.01) for p in pct],
                      recall={"@1": hits, "@10": hits, "@50": hits}, success=[0.0] * turns,
                      hits={"@1": hits, "@10": hits, "@50": hits}, hits10_ci95=band,
                      hits10_auc=sum(hits[1:]) / (turns - 1), hits10_auc_ci95=(0.0, 1.0), first_hit10_mean_turn=2.0,
                      never_hit10=1.0 - hits[-1])
    return RunResult(protocol_version="1", catalog=CatalogInfo(name="tiny", content_hash="c"),
                     agent=AgentInfo(name=name, feedback="natural language", checkpoint_sha256=checkpoint,
                                     method="triplet_sl", train_user=user, profile="quick", train_minutes=1.0 + hits5,
                                     seed=seed),
                     user=UserInfo(name=user, fingerprint=f"{user}:v1"), split="test", max_turns=turns - 1,
                     seeds={"dialogs": "frozen", "file_sha256": "f", "bootstrap_seed": bootstrap_seed},
                     metrics=metrics, eval_seconds=1.0,
                     machine=Machine(packages={}, python="3.11", device="cpu", cpu="test", cores=2),
                     created_utc=created)


def rows(table: str) -> list[list[str]]:
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


def test_results_files_are_one_per_seed_and_old_files_count_as_their_jobs_seed(tmp_path):
    assert result_path(tmp_path, "SL (triplet) (trained: grammar)", "grammar", seed=2).name == \
        "sl-triplet-trained-grammar-s2--grammar.json"
    assert result_path(tmp_path, "random", "grammar").name == "random--grammar.json"  # no training seed: as before
    old = hand_made("SL", None, 0.3, bootstrap_seed=2)
    path = write_result(old, tmp_path / "old.json")
    data = json.loads(path.read_text())
    assert "seed" not in data["agent"] or data["agent"]["seed"] is None
    del data["agent"]["seed"]  # a file from before seeds were recorded
    path.write_text(json.dumps(data))
    assert read_result(path).seed == 2 and read_result(path).agent.seed is None
    assert hand_made("SL", 1, 0.3, bootstrap_seed=2).seed == 1  # the agent's own seed wins
    # A file is reused only for the same training seed.
    new = write_result(hand_made("SL", 1, 0.3), tmp_path / "new.json")
    same = hand_made("SL", 1, 0.3).agent
    assert reusable_result(new, same, "grammar:v1", "c") is not None
    assert reusable_result(new, same.model_copy(update={"seed": 0}), "grammar:v1", "c") is None


def test_leaderboard_groups_seeds_into_one_row_with_their_spread(tmp_path):
    files = [write_result(hand_made("SL", s, h), tmp_path / f"sl-s{s}.json") for s, h in ((0, 0.3), (1, 0.4), (2, 0.5))]
    files.append(write_result(hand_made("PI", 0, 0.45), tmp_path / "pi-s0.json"))
    # An older file of SL's seed 0, without a seed: the same (agent, user, seed), so the newer file wins.
    stale = hand_made("SL", None, 0.9, created="2025-01-01T00:00:00Z")
    files.append(write_result(stale, tmp_path / "sl-old.json"))
    results = leaderboard.load_results(files)
    assert len(results) == 4
    table = leaderboard.format_leaderboard(results)
    head, *body = rows(table)
    assert head[4] == "seeds" and head[8] == "H@10 t=5" and head[12] == "H@10 t=5 std (min-max)"
    assert head[13:17] == ["pct t=1", "pct t=2", "pct t=5", "pct t=10"]
    by_name = {row[0].split(" *")[0]: row for row in body}
    sl, pi = by_name["SL"], by_name["PI"]
    assert sl[4] == "0, 1, 2" and sl[8] == "40.0" and sl[12] == "10.0 (30.0-50.0)"  # mean, sample std, range
    assert sl[11] == "[28.0, 32.0] [38.0, 42.0] [48.0, 52.0]"  # each seed's interval at turn 5, in seed order
    assert sl[-1] == "1.4"  # training minutes: the mean over seeds
    assert pi[4] == "0" and pi[8] == "45.0" and pi[12] == "" and pi[11] == "[43.0, 47.0]"
    assert [row[0].split(" *")[0] for row in body] == ["PI", "SL"]  # sorted by the mean Hits@10 at turn 5


def test_figure_draws_the_seeds_mean_and_their_min_max_band(tmp_path, monkeypatch):
    results = [hand_made("SL", s, h) for s, h in ((0, 0.3), (1, 0.4), (2, 0.5))] + [hand_made("PI", 0, 0.45)]
    figures = []
    monkeypatch.setattr(leaderboard, "save_figure", lambda fig, path: figures.append(fig) or path)
    leaderboard.plot_leaderboard(results, tmp_path / "curves.png")
    hits_axis = figures[0].axes[0]
    lines = {line.get_label(): line for line in figures[0].axes[1].get_lines()}
    assert any("(3 seeds)" in label for label in lines)
    curves = {round(float(line.get_ydata()[5]), 6): i for i, line in enumerate(hits_axis.get_lines())}
    assert set(curves) == {40.0, 45.0}  # the mean over SL's seeds, and PI's one seed
    bands = [collection.get_paths()[0].vertices for collection in hits_axis.collections]
    at_turn_5 = [sorted({round(float(y), 6) for x, y in band if x == 5}) for band in bands]
    assert [30.0, 50.0] in at_turn_5  # SL: the min-max over its seeds
    assert [43.0, 47.0] in at_turn_5  # PI: its one seed's 95% interval


def test_seeds_of_different_protocols_are_refused():
    results = [hand_made("SL", 0, 0.3), hand_made("SL", 1, 0.4, turns=6)]
    with pytest.raises(ValueError, match="different dialogs"):
        leaderboard.format_leaderboard(results)
