"""Frozen dialogs, the results-file schema, the leaderboard, and the main job's quick profile end to end."""

import hashlib
import json

import numpy as np
import pytest

from agents.baselines import NearestNeighbourAgent, RandomAgent
from benchmarks import leaderboard, main, protocol
from benchmarks.protocol import FROZEN_SHA256, FrozenDialogsError, ProtocolConfig, evaluate, load_frozen_dialogs
from benchmarks.results import AgentInfo, ResultsFileError, make_result, read_result, write_result
from envs.evaluation import protocol_first_candidates
from simulators.registry import load_vocabulary, make_user


def test_every_shipped_frozen_file_matches_its_checksum():
    for name, sha in FROZEN_SHA256.items():
        path = protocol.FROZEN_DIR / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, name


def test_tiny_catalog_frozen_dialogs_are_read_and_used(tiny_catalog, session_cache):
    frozen = load_frozen_dialogs(tiny_catalog)
    n = len(tiny_catalog.test_ids)
    assert frozen is not None and frozen.first_candidates.shape == (n,)
    assert (frozen.first_candidates != np.arange(n)).all()
    # The frozen protocol's dialogs are the ones it had when it was still drawn from its seed.
    np.testing.assert_array_equal(frozen.first_candidates, protocol_first_candidates(n, 0))
    result = evaluate(NearestNeighbourAgent(), tiny_catalog, "grammar", ProtocolConfig(bootstrap=10),
                      vocabulary=load_vocabulary(tiny_catalog, session_cache), progress=False, device="cpu")
    assert result.protocol == protocol.PROTOCOL_VERSION


def test_a_changed_frozen_file_is_refused(tiny_catalog, tmp_path, monkeypatch, session_cache):
    name = protocol.frozen_dialogs_path(tiny_catalog.name).name
    data = json.loads((protocol.FROZEN_DIR / name).read_text())
    data["user_seeds"][0] += 1
    (tmp_path / name).write_text(json.dumps(data))
    monkeypatch.setattr(protocol, "FROZEN_DIR", tmp_path)
    with pytest.raises(FrozenDialogsError, match="has been changed"):
        load_frozen_dialogs(tiny_catalog)
    with pytest.raises(FrozenDialogsError):
        evaluate(NearestNeighbourAgent(), tiny_catalog, "grammar", ProtocolConfig(bootstrap=10),
                 vocabulary=load_vocabulary(tiny_catalog, session_cache), progress=False, device="cpu")
    # A catalog without a frozen file falls back to seeded dialogs, and says so.
    (tmp_path / name).unlink()
    result = evaluate(NearestNeighbourAgent(), tiny_catalog, "grammar", ProtocolConfig(bootstrap=10),
                      vocabulary=load_vocabulary(tiny_catalog, session_cache), progress=False, device="cpu")
    assert result.protocol == f"{protocol.PROTOCOL_VERSION}-generated"


@pytest.fixture(scope="module")
def two_results(tiny_catalog, session_cache, tmp_path_factory):
    vocabulary = load_vocabulary(tiny_catalog, session_cache)
    user = make_user("grammar", tiny_catalog)
    folder = tmp_path_factory.mktemp("results")
    paths = []
    for name, agent in (("nearest-neighbour", NearestNeighbourAgent()),
                        ("random", RandomAgent(len(tiny_catalog.test_ids)))):
        evaluation = evaluate(agent, tiny_catalog, user, ProtocolConfig(bootstrap=20), agent_name=name,
                              user_name="grammar", vocabulary=vocabulary, progress=False, device="cpu")
        result = make_result(evaluation, tiny_catalog, AgentInfo(name=name, feedback="none"), user, "grammar", "cpu")
        paths.append(write_result(result, folder / f"{name}.json"))
    return paths


def test_results_file_round_trips_and_refuses_other_protocols(two_results, tmp_path):
    result = read_result(two_results[0])
    assert result.agent.name == "nearest-neighbour" and result.user.fingerprint.startswith("grammar:")
    assert result.seeds["dialogs"] == "frozen" and result.machine.cores >= 1
    assert write_result(result, tmp_path / "again.json") and read_result(tmp_path / "again.json") == result
    data = json.loads(two_results[0].read_text())
    for change, message in ((lambda d: d.update(protocol_version="0"), "protocol '0'"),
                            (lambda d: d["metrics"]["mean_rank_percentile"].__setitem__(1, 1.5), "fractions"),
                            (lambda d: d.pop("catalog"), "catalog"),
                            (lambda d: d.update(surprise=1), "surprise")):
        broken = json.loads(json.dumps(data))
        change(broken)
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(ResultsFileError, match=message):
            read_result(path)
    (tmp_path / "garbled.json").write_text("{not json")
    with pytest.raises(ResultsFileError, match="cannot read"):
        read_result(tmp_path / "garbled.json")


def test_leaderboard_from_two_results_files(two_results, tmp_path):
    results = leaderboard.main([str(p) for p in two_results] + ["--out", str(tmp_path)])
    table = (tmp_path / "leaderboard.md").read_text()
    assert len(results) == 2 and "| nearest-neighbour |" in table and "| random |" in table
    assert (tmp_path / "rank_curves.png").stat().st_size > 10_000


def test_quick_main_job_runs_end_to_end_and_repeats_itself(tmp_path):
    def run(name):
        # One training user keeps the test short; the README's command trains with the captioner and the grammar.
        return main.main(["--catalog", "tiny", "--out", str(tmp_path / name), "--runs", str(tmp_path / f"runs-{name}"),
                          "--users", "grammar", "--ppo-timesteps", "256", "--no-progress"])

    def metrics(results):
        return {(r.agent.name, r.user.name): r.metrics.model_dump() for r in results}

    first = run("a")
    names = {r.agent.name for r in first}
    assert {"nearest-neighbour", "SB3 PPO (trained: grammar)", "policy improvement (trained: grammar)",
            "WhittleSearch (hand-crafted attributes)", "Rocchio"} <= names
    assert all(r.agent.profile == "quick" for r in first if r.agent.method)
    assert (tmp_path / "a" / "leaderboard.md").exists() and (tmp_path / "a" / "rank_curves.png").exists()
    again = run("a")  # everything cached: the same files
    assert metrics(again) == metrics(first)
    fresh = run("b")  # trained and evaluated again from nothing: the same numbers
    assert metrics(fresh) == metrics(first)


def test_robustness_matrix_crosses_training_and_evaluation_users(tmp_path):
    from agents.triplet_sl import TripletSLArgs
    from benchmarks import robustness

    TripletSLArgs(catalog="tiny", user="grammar", epochs=1, eval_dialogs=0, max_batches=1, progress=False,
                  run_dir=str(tmp_path / "runs" / "triplet_sl-grammar-s0")).train()
    report = robustness.main(["--catalog", "tiny", "--runs", str(tmp_path / "runs"), "--methods", "triplet_sl",
                              "--train-users", "grammar", "captioner", "--eval-users", "grammar", "attributes-3",
                              "relevance", "--out", str(tmp_path / "out"), "--no-progress"])
    assert set(report["matrices"]["triplet_sl"]) == {"grammar"}  # no captioner run: skipped
    assert set(report["matrices"]["triplet_sl"]["grammar"]) == {"grammar", "attributes-3", "relevance"}
    assert "**" in (tmp_path / "out" / "robustness.md").read_text()  # the diagonal is marked
    cells = sorted((tmp_path / "out" / "runs" / "robustness").glob("*.json"))
    assert len(cells) == 3
    stamps = [p.stat().st_mtime_ns for p in cells]
    again = robustness.main(["--catalog", "tiny", "--runs", str(tmp_path / "runs"), "--methods", "triplet_sl",
                             "--train-users", "grammar", "--eval-users", "grammar", "attributes-3", "relevance",
                             "--out", str(tmp_path / "out"), "--no-progress"])
    assert again["matrices"] == report["matrices"]
    assert [p.stat().st_mtime_ns for p in cells] == stamps  # every cell reused, none evaluated again
