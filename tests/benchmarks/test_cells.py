"""The grid's cells: in this process and as Ray tasks; a training task killed mid-run is retried and resumes."""

import json

import pytest
import torch
from safetensors.torch import load_file

from benchmarks.cells import KILL_ENV, Context, EvalCell, Grid, TrainCell, World, train
from benchmarks.results import AgentInfo
from simulators.cache import content_hash, data_home


@pytest.fixture
def one_thread():
    """Training and evaluation are deterministic for a given thread count: every cell here runs with one."""
    before = torch.get_num_threads()
    yield 1
    torch.set_num_threads(before)


def sl_cells(root, epochs=3):
    train_cell = TrainCell("triplet_sl", "grammar", 0, str(root / "runs" / "triplet_sl-grammar-s0"), epochs)
    info = AgentInfo(name="SL (triplet) (trained: grammar)", feedback="natural language", method="triplet_sl",
                     train_user="grammar", seed=0)
    evaluation = EvalCell(info, "manager", "grammar", str(root / "results" / "sl-s0--grammar.json"), train_cell.name)
    return train_cell, evaluation


def test_sequential_grid_checks_its_dependencies(tmp_path):
    train_cell, evaluation = sl_cells(tmp_path)
    world = World(catalog="tiny", catalog_name="tiny", seed=0)
    with pytest.raises(ValueError, match="not in the grid"):
        Grid(world, [], [evaluation])
    improvement = TrainCell("policy_improvement", "grammar", 0, str(tmp_path / "pi"), 1)
    with pytest.raises(ValueError, match="starts from triplet_sl-grammar-s0"):
        Grid(world, [improvement], [])
    with pytest.raises(ValueError, match="comes before"):
        Grid(world, [improvement, train_cell], [])
    with pytest.raises(ValueError, match="train that cell first"):
        train(improvement, world)


def test_a_killed_training_task_is_retried_and_resumes_to_the_uninterrupted_result(tmp_path, one_thread):
    ray = pytest.importorskip("ray")
    world = World(catalog="tiny", catalog_name="tiny", seed=0, threads=one_thread,
                  data_home=str(data_home().resolve()))
    # Uninterrupted, in this process.
    train_a, eval_a = sl_cells(tmp_path / "a")
    context = Context.load(world)
    uninterrupted = Grid(world, [train_a], [eval_a]).run(context, progress=False)
    assert uninterrupted.cells[0]["resumed_after"] is None
    # As Ray tasks, the training task killing its own worker after its first checkpoint.
    train_b, eval_b = sl_cells(tmp_path / "b")
    marker = tmp_path / "killed.json"
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {KILL_ENV: str(marker)}})
    try:
        retried = Grid(world, [train_b], [eval_b]).run_on_ray(max_retries=2)
    finally:
        ray.shutdown()
    killed = json.loads(marker.read_text())
    assert 0 <= killed["killed_after_epoch"] < 2  # the first attempt died mid-run
    cell = next(c for c in retried.cells if c["kind"] == "train")
    assert cell["resumed_after"] == killed["killed_after_epoch"]  # the retry resumed from that checkpoint
    states = [json.loads((tmp_path / run / "runs" / "triplet_sl-grammar-s0" / "checkpoint" / "state.json").read_text())
              for run in ("a", "b")]
    assert states[0]["epoch"] == states[1]["epoch"] == 2
    weights = [load_file(tmp_path / run / "runs" / "triplet_sl-grammar-s0" / "checkpoint" / "model.safetensors")
               for run in ("a", "b")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    [a], [b] = uninterrupted.results, retried.results
    assert a.metrics == b.metrics and b.agent.seed == 0
    assert b.agent.checkpoint_sha256 == content_hash(tmp_path / "b" / "runs" / "triplet_sl-grammar-s0" / "checkpoint")


def test_the_main_jobs_grid_on_ray_writes_the_sequential_runs_results_files(tmp_path, one_thread):
    ray = pytest.importorskip("ray")
    from benchmarks import main

    def run(name, *extra):
        return main.main(["--catalog", "tiny", "--users", "grammar", "--methods", "triplet_sl", "policy_improvement",
                          "--baselines", "nearest-neighbour", "--seeds", "0", "1", "--threads", str(one_thread),
                          "--out", str(tmp_path / name), "--runs", str(tmp_path / f"runs-{name}"), "--no-progress",
                          *extra])

    def files(name):
        folder = tmp_path / name / "runs" / "quick"
        return {p.name: json.loads(p.read_text())["metrics"] for p in sorted(folder.glob("*.json"))}

    sequential = run("sequential")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        on_ray = run("ray", "--ray")
    finally:
        ray.shutdown()
    assert len(sequential) == len(on_ray) == 5  # nearest-neighbour, and SL and policy improvement for two seeds
    assert files("ray") == files("sequential") and "sl-triplet-trained-grammar-s1--grammar.json" in files("ray")
    assert {(r.agent.name, r.seed) for r in on_ray} == {(r.agent.name, r.seed) for r in sequential}
    grid = json.loads((tmp_path / "ray" / "grid-quick.json").read_text())
    assert grid["mode"] == "ray" and len(grid["cells"]) == 4 + 5
    order = [c["name"] for c in grid["cells"]]
    for seed in (0, 1):  # policy improvement waited for its SL run
        assert order.index(f"triplet_sl-grammar-s{seed}") < order.index(f"policy_improvement-grammar-s{seed}")
    table = (tmp_path / "ray" / "leaderboard.md").read_text()
    assert "| 0, 1 |" in table  # one row per agent, its two seeds grouped


def test_the_robustness_grid_on_ray_writes_the_sequential_runs_results_files(tmp_path, one_thread):
    ray = pytest.importorskip("ray")
    from agents.triplet_sl import TripletSLArgs
    from benchmarks.reports import robustness

    TripletSLArgs(catalog="tiny", user="grammar", epochs=1, eval_dialogs=0, max_batches=1, progress=False,
                  threads=one_thread, run_dir=str(tmp_path / "runs" / "triplet_sl-grammar-s0")).train()

    def run(name, *extra):
        return robustness.main(["--catalog", "tiny", "--runs", str(tmp_path / "runs"), "--methods", "triplet_sl",
                                "--eval-users", "grammar", "relevance", "--threads", str(one_thread), "--out",
                                str(tmp_path / name), "--no-progress", *extra])

    def files(name):
        folder = tmp_path / name / "runs" / "robustness"
        return {p.name: json.loads(p.read_text())["metrics"] for p in sorted(folder.glob("*.json"))}

    sequential = run("sequential")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        on_ray = run("ray", "--ray")
    finally:
        ray.shutdown()
    assert len(files("ray")) == 2 and files("ray") == files("sequential")
    assert on_ray["methods"] == sequential["methods"]
