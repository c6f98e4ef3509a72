"""Frozen dialogs, the results-file schema, the leaderboard, and the main job's quick profile end to end."""

import hashlib
import json

import numpy as np
import pytest

from agents.baselines import NearestNeighbourAgent, RandomAgent
from benchmarks import leaderboard, main, protocol
from benchmarks.plots import plot_rank_curves
from benchmarks.protocol import FROZEN_SHA256, FrozenDialogsError, ProtocolConfig, evaluate, load_frozen_dialogs
from benchmarks.results import (
    HITS10_FIELDS,
    SCHEMA_VERSION,
    AgentInfo,
    ResultsFileError,
    as_eval_result,
    make_result,
    read_result,
    reusable_result,
    write_result,
)
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
                            (lambda d: d["metrics"]["hits"]["@10"].__setitem__(-1, 1.5), "fractions"),
                            (lambda d: d["metrics"]["hits"]["@10"].__setitem__(-1, -0.5), "never falls"),
                            (lambda d: d["metrics"]["hits10_ci95"].pop(), "one value per turn"),
                            (lambda d: d["metrics"].pop("hits10_auc"), "need hits10_auc"),
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
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")]
    assert columns[4] == "seeds"
    assert columns[5:13] == ["H@10 t=1", "H@10 t=2", "H@10 t=3", "H@10 t=5", "H@10 t=10", "H@10 AUC",
                             "H@10 95% CI t=5", "H@10 t=5 std (min-max)"]  # the top of the ranking leads
    assert columns[13:17] == ["pct t=1", "pct t=2", "pct t=5", "pct t=10"]  # the rank percentile follows
    by_name = {r.agent.name: r for r in results}
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    for row in rows:
        m = by_name[row[0]].metrics
        assert row[8] == f"{100 * m.hits['@10'][5]:.1f}" and row[10] == f"{100 * m.hits10_auc:.1f}"
        assert row[4] == "0" and row[12] == ""  # one seed: no spread
    assert [float(row[8]) for row in rows] == sorted((float(row[8]) for row in rows), reverse=True)


def _as_schema_1(path, folder):
    """A copy of a schema-2 results file as schema 1 wrote it: without the Hits@10 metrics."""
    data = json.loads(path.read_text())
    data["schema_version"] = 1
    for name in (*HITS10_FIELDS, "first_hit10_mean_turn"):
        del data["metrics"][name]
    data["agent"]["name"] = "old " + data["agent"]["name"]
    out = folder / f"schema-1-{path.name}"
    out.write_text(json.dumps(data))
    return out, data


def test_schema_1_files_are_read_and_shown_without_hits(two_results, tmp_path):
    old, data = _as_schema_1(two_results[0], tmp_path)
    result = read_result(old)
    assert result.schema_version == 1 and SCHEMA_VERSION == 2 and not result.metrics.has_hits10
    assert all(getattr(result.metrics, name) is None for name in (*HITS10_FIELDS, "first_hit10_mean_turn"))
    view = as_eval_result(result)
    assert view.hits is None and view.hits10_auc is None and view.mean_rank_percentile == data["metrics"][
        "mean_rank_percentile"]
    new = as_eval_result(read_result(two_results[0]))
    assert new.hits["@10"] == json.loads(two_results[0].read_text())["metrics"]["hits"]["@10"]
    results = [result, *(read_result(p) for p in two_results)]
    table = leaderboard.format_leaderboard(results)
    rows = [line for line in table.splitlines()[2:]]
    assert rows[-1].startswith(f"| {result.agent.name} |") and "| n/a | n/a |" in rows[-1]  # schema-1 rows last
    leaderboard.write_leaderboard(results, tmp_path / "board")
    assert (tmp_path / "board" / "rank_curves.png").stat().st_size > 10_000
    figure = plot_rank_curves([view, new], tmp_path / "curves.png", zoom=(90, 100), hits10=True)
    assert figure.stat().st_size > 10_000
    # An old file is read, but not reused: the caller evaluates again and gets the Hits@10 metrics.
    fingerprint, catalog_hash = result.user.fingerprint, result.catalog.content_hash
    assert reusable_result(old, result.agent, fingerprint, catalog_hash) is None
    fresh = read_result(two_results[0])
    assert reusable_result(two_results[0], fresh.agent, fingerprint, catalog_hash) == fresh


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(schema_version=99), "has results schema 99; .* reads schemas 1, 2"),
    (lambda d: d.pop("schema_version"), "has results schema None"),
    (lambda d: d["metrics"].update(hits10_auc=0.5), "schema-1 metrics have no hits10_auc"),
])
def test_unknown_schemas_and_mixed_files_are_refused(two_results, tmp_path, change, message):
    _, data = _as_schema_1(two_results[0], tmp_path)
    change(data)
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsFileError, match=message):
        read_result(path)


def test_quick_main_job_runs_end_to_end_and_repeats_itself(tmp_path):
    def run(name):
        # One training user keeps the test short; the README's command trains with the captioner and the grammar.
        return main.main(["--catalog", "tiny", "--out", str(tmp_path / name), "--runs", str(tmp_path / f"runs-{name}"),
                          "--users", "grammar", "--ppo-timesteps", "256", "--no-progress"])

    def metrics(results):
        return {(r.agent.name, r.user.name): r.metrics.model_dump() for r in results}

    first = run("a")
    names = {r.agent.name for r in first}
    assert {"nearest-neighbour", "SB3 RecurrentPPO, feedback extractor, PCA-32 query (trained: grammar)",
            "policy improvement (trained: grammar)",
            "WhittleSearch (hand-crafted attributes)", "Rocchio"} <= names
    assert all(r.agent.profile == "quick" for r in first if r.agent.method)
    assert (tmp_path / "a" / "leaderboard.md").exists() and (tmp_path / "a" / "rank_curves.png").exists()
    again = run("a")  # everything cached: the same files
    assert metrics(again) == metrics(first)
    fresh = run("b")  # trained and evaluated again from nothing: the same numbers
    assert metrics(fresh) == metrics(first)


def test_robustness_matrix_crosses_training_and_evaluation_users(tmp_path):
    import json

    from agents.triplet_sl import TripletSLArgs
    from benchmarks.reports import robustness

    for user in ("grammar", "grammar+attributes-3"):
        TripletSLArgs(catalog="tiny", user=user, epochs=1, eval_dialogs=0, max_batches=1, progress=False,
                      run_dir=str(tmp_path / "runs" / f"triplet_sl-{user}-s0")).train()
    captions = tmp_path / "captions" / "relative_captions_shoes.json"
    captions.parent.mkdir()
    texts = ["is darker", "has a higher heel", "is shinier", "are lighter", "has laces", "is a lot less pointy"]
    captions.write_text(json.dumps([{"ImageName": f"img_{i}.jpg", "ReferenceImageName": f"ref_{i}.jpg",
                                     "RelativeCaption": texts[i % len(texts)]} for i in range(120)]), encoding="utf-8")
    common = ["--catalog", "tiny", "--runs", str(tmp_path / "runs"), "--methods", "triplet_sl",
              "--out", str(tmp_path / "out"), "--no-progress", "--captions", str(captions.parent)]
    users = ["grammar", "attributes-3", "relevance", "human-replay-heldout"]
    report = robustness.main([*common, "--train-users", "grammar", "captioner", "--eval-users", *users])
    assert set(report["methods"]["triplet_sl"]) == {"grammar"}  # no captioner run: skipped
    row = report["methods"]["triplet_sl"]["grammar"]
    assert set(row) == set(users)
    assert all(len(row[u]["pct"]) == len(robustness.TURNS) == len(row[u]["hits10"]) for u in users)
    assert 0.0 <= row["human-replay-heldout"]["fallback_rate"] <= 1.0  # measured in the protocol's dialogs
    assert "**" in (tmp_path / "out" / "robustness.md").read_text()  # the diagonal is marked
    cells = sorted((tmp_path / "out" / "runs" / "robustness").glob("*.json"))
    assert len(cells) == 5  # four results files and the replay user's fallback count
    stamps = [p.stat().st_mtime_ns for p in cells]
    again = robustness.main([*common, "--train-users", "grammar", "--eval-users", *users])
    assert again["methods"] == report["methods"]
    assert [p.stat().st_mtime_ns for p in cells] == stamps  # every cell reused, none evaluated again
    everything = robustness.main([*common, "--eval-users", "grammar"])  # every finished run, mixtures included
    assert list(everything["methods"]["triplet_sl"]) == ["grammar", "grammar+attributes-3"]
