"""benchmarks.reports.sb3 on the tiny catalog: the throughput table and a route trained, evaluated and plotted."""

import json

from benchmarks.reports import sb3


def test_sb3_report_runs(tmp_path):
    common = ["--catalog", "tiny", "--users", "grammar", "--out", str(tmp_path), "--no-progress"]
    sb3.main(["throughput", "--num-envs", "4", "--repeats", "1", "--rollouts", "1", *common])
    report = sb3.main(["train", "--routes", "ppo-basis", "--timesteps", "300", "--runs", str(tmp_path / "runs"),
                       "--baseline", *common])
    assert [t["user"] for t in report["throughput"]] == ["grammar"] and report["throughput"][0]["ratio"] > 0
    routes = [r["route"] for r in report["routes"]]
    assert routes == ["nearest-neighbour (no training)", "ppo-basis"]
    table = (tmp_path / "sb3.md").read_text()
    assert "| ppo-basis | grammar |" in table and "SB3VecEnv steps/s" in table
    assert (tmp_path / "sb3_curves.png").exists()
    assert json.loads((tmp_path / "sb3.json").read_text())["routes"][1]["curve"]
    assert list((tmp_path / "runs" / "sb3").glob("*--grammar.json"))
