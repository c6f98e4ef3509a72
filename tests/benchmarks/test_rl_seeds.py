"""RL against its matched control, seed by seed (benchmarks.reports.rl_seeds) on the tiny catalog."""

import json

import pytest

from benchmarks.reports import rl_seeds
from tests.benchmarks.test_seeds import hand_made


def test_paired_differences_are_taken_seed_by_seed():
    hits = {("sl", 0): 0.30, ("control", 0): 0.32, ("scst", 0): 0.33, ("pi", 0): 0.31,
            ("sl", 1): 0.40, ("control", 1): 0.41, ("scst", 1): 0.40, ("pi", 1): 0.45}
    results = {key: hand_made(rl_seeds.NAMES[key[0]], key[1], h) for key, h in hits.items()}
    report = rl_seeds.paired(results, [0, 1])
    assert report["arms"]["sl"]["per_seed"] == [30.0, 40.0]
    assert report["arms"]["sl"]["mean"] == 35.0
    assert report["differences"]["scst - control"]["per_seed"] == [1.0, -1.0]
    assert report["differences"]["scst - control"]["above_zero"] == 1
    assert report["differences"]["pi - sl"]["per_seed"] == [1.0, 5.0]
    assert report["differences"]["pi - sl"]["above_zero"] == 2
    table = rl_seeds.format_report(report, [0, 1])
    assert "| RL-SCST - SL trained on at 1e-4 (control) | +1.0 / -1.0 | +0.0 | 1.4 | 1 of 2 |" in table


def test_every_arm_starts_from_its_seeds_sl_run_and_finished_runs_are_reused(tmp_path):
    argv = ["--catalog", "tiny", "--user", "grammar", "--seeds", "0", "1", "--sl-epochs", "1", "--rl-epochs", "1",
            "--eval-dialogs", "0", "--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results"),
            "--out", str(tmp_path / "out" / "report.json"), "--no-progress"]
    report = rl_seeds.main(argv)
    assert report["seeds"] == [0, 1]
    assert set(report["arms"]) == {"sl", "control", "scst", "pi"}
    for seed in (0, 1):
        sl = str(tmp_path / "runs" / f"sl-grammar-s{seed}" / "checkpoint")
        for arm in ("control", "scst", "pi"):
            args = json.loads((tmp_path / "runs" / f"{arm}-grammar-s{seed}" / "checkpoint" / "state.json")
                              .read_text())["args"]
            assert args["init"] == sl and args["seed"] == seed
    control = json.loads((tmp_path / "runs" / "control-grammar-s0" / "checkpoint" / "state.json").read_text())
    assert control["args"]["lr"] == rl_seeds.CONTROL_LR
    assert len(list((tmp_path / "results").glob("*-s[01]--grammar.json"))) == 8
    assert (tmp_path / "out" / "leaderboard.md").exists() and (tmp_path / "out" / "rank_curves.png").exists()
    assert (tmp_path / "out" / "seed_pairs.png").stat().st_size > 0
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*/checkpoint/state.json")}
    assert rl_seeds.main(argv) == report  # trained and evaluated runs are reused as they are
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


@pytest.mark.parametrize("flags", [["--seeds", "0", "0"], ["--rl-epochs", "0"], ["--jobs", "0"]])
def test_bad_options_are_refused(flags, capsys):
    with pytest.raises(SystemExit):
        rl_seeds.main(["--catalog", "tiny", *flags])
    assert "--" in capsys.readouterr().err
