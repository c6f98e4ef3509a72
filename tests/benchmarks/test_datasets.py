"""The real-catalog path on the tiny SynthShoes exported as Shoes and Fashion IQ files: the same features as the
native build, then the captioner, the env, SL training, the protocol (its dialogs stored beside the catalog) and
the build command, as a user with the photographs would run them."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401 - registers ShoeRetrieval-v0
from agents.baselines import NearestNeighbourAgent
from agents.dialog_manager import DialogManagerAgent
from agents.triplet_sl import TripletSLArgs
from benchmarks import protocol
from benchmarks.export import export_catalog, item_names
from benchmarks.protocol import ProtocolConfig, evaluate, load_frozen_dialogs
from benchmarks.results import AgentInfo, make_result
from simulators import build, datasets, registry
from simulators.corpora import CorpusConfig, load_corpus
from simulators.datasets import FORMATS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The isolated data home of conftest's autouse fixture, set for this module's fixtures too (they are set up
    before any function-scoped fixture)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOE_RETRIEVAL_HOME", str(tmp_path_factory.getbasetemp() / "data-home"))
        yield


@pytest.fixture(scope="module")
def native(home):
    return registry.load_catalog("tiny", progress=False)


@pytest.fixture(scope="module")
def exported(native, tmp_path_factory):
    corpora = {split: load_corpus(native, CorpusConfig.tiny(split=split)) for split in ("train", "test")}
    return export_catalog(native, tmp_path_factory.mktemp("export"), corpora, progress=False), corpora


@pytest.fixture(scope="module")
def built(exported):
    """Each export built into the (isolated) data home and registered as export-<format>."""
    out = {}
    for fmt, config in exported[0].items():
        catalog, key = datasets.build_file_catalog(config, progress=False)
        datasets.register(f"export-{fmt}", config, key)
        out[fmt] = catalog
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_built_export_has_synthshoes_own_features_and_split(native, built, fmt):
    real = built[fmt]
    position = {n: i for i, n in enumerate(item_names(native, fmt))}
    order = np.array([position[n] for n in real.item_names])
    np.testing.assert_allclose(real.features, native.features[order], atol=1e-4, rtol=0)
    np.testing.assert_allclose(real.spatial.astype(np.float32), native.spatial[order].astype(np.float32), atol=1e-2)
    assert sorted(order[real.train_ids]) == list(native.train_ids)
    assert sorted(order[real.test_ids]) == list(native.test_ids)
    np.testing.assert_array_equal(real.render(real.test_ids[:3]), native.render(order[real.test_ids[:3]]))


def test_the_corpora_come_back_from_the_caption_files(native, exported, built):
    corpora = exported[1]
    shoes, fiq = built["shoes"], built["fashion-iq"]
    relative = int((corpora["train"].kind == 0).sum())
    distinct = {(split, t, r, c) for split, corpus in corpora.items()
                for t, r, k, c in zip(corpus.target_ids, corpus.reference_ids, corpus.kind, corpus.captions,
                                      strict=True) if k == 0}
    assert shoes.meta["captions"]["relative"] == len(distinct)  # the Shoes reader drops repeated records
    assert shoes.meta["captions"]["crossing"] == 0
    assert fiq.meta["corpus_rows"]["train"] == 2 * relative  # two captions per Fashion IQ pair
    names = item_names(native, "shoes")
    position = {n: i for i, n in enumerate(names)}
    back = datasets.file_corpus(shoes, "train")
    pairs = {(names[t], names[r], c) for t, r, k, c in zip(corpora["train"].target_ids, corpora["train"].reference_ids,
                                                           corpora["train"].kind, corpora["train"].captions,
                                                           strict=True) if k == 0}
    got = {(shoes.item_names[t], shoes.item_names[r], c) for t, r, k, c in zip(back.target_ids, back.reference_ids,
                                                                               back.kind, back.captions, strict=True)
           if k == 0}
    assert got == pairs and all(n in position for n in shoes.item_names)


def test_the_captioner_env_sl_and_protocol_run_on_the_export(built, tmp_path):
    catalog = registry.load_catalog("export-shoes")
    vocabulary = registry.load_vocabulary(catalog)
    captioner = registry.make_user("captioner", catalog, progress=False, vocabulary=vocabulary)
    said = captioner.describe(catalog.test_ids[:4], catalog.test_ids[4:8])
    assert all(isinstance(s, str) and s for s in said)

    env = gym.make("envs:ShoeRetrieval-v0", catalog="export-shoes", user="human-replay", action_type="query",
                   max_turns=3)
    obs, info = env.reset(seed=0)
    obs, reward, *_ , info = env.step(obs["candidate_features"])
    assert 0.0 <= reward <= 1.0 and info["feedback_text"]
    env.close()

    run_dir = tmp_path / "sl"
    TripletSLArgs(catalog="export-shoes", user="captioner", epochs=1, batch_size=16, eval_dialogs=0, max_batches=2,
                  run_dir=str(run_dir), progress=False, threads=1).train()
    agent = DialogManagerAgent.load(run_dir / "checkpoint", catalog, vocabulary)
    agent.use_split("test")
    config = ProtocolConfig(bootstrap=50)
    result = evaluate(agent, catalog, captioner, config, vocabulary=vocabulary, progress=False)
    assert result.episodes == len(catalog.test_ids) and result.protocol == protocol.PROTOCOL_VERSION
    dialogs = load_frozen_dialogs(catalog)
    assert dialogs.source == "catalog" and len(dialogs.first_candidates) == len(catalog.test_ids)
    again = evaluate(agent, catalog, captioner, config, vocabulary=vocabulary, progress=False)
    assert again.mean_rank_percentile == result.mean_rank_percentile  # the stored dialogs, read back
    info = AgentInfo(name="SL", feedback="natural language")
    record = make_result(result, catalog, info, captioner, "captioner", "cpu")
    assert record.seeds["dialogs"] == "catalog" and record.seeds["file_sha256"] == dialogs.sha256
    nn = evaluate(NearestNeighbourAgent(), catalog, captioner, config, vocabulary=vocabulary, progress=False)
    assert nn.mean_rank_percentile[0] == result.mean_rank_percentile[0]  # same first images for every agent


def test_the_build_command_registers_a_catalog(exported, capsys):
    config = exported[0]["fashion-iq"]
    build.main(["catalog", "--format", "fashion-iq", "--category", config.category, "--images", config.images,
                "--captions", config.captions, "--image-size", str(config.image_size), "--feature-dim",
                str(config.feature_dim), "--spatial-channels", str(config.spatial_channels), "--detail-channels",
                str(config.detail_channels), "--name", "fiq-cli"])
    assert "use --catalog fiq-cli" in capsys.readouterr().out
    assert registry.load_catalog("fiq-cli").meta["format"] == "fashion-iq"
    entry = json.loads(datasets.entry_path("fiq-cli").read_text())
    assert entry["config"]["category"] == config.category
    with pytest.raises(SystemExit, match="needs --images"):
        build.main(["catalog", "--format", "shoes", "--captions", config.captions])


def test_the_main_job_runs_on_a_catalog_built_from_files(built, tmp_path):
    from benchmarks import main as main_job

    results = main_job.main(["--catalog", "export-shoes", "--out", str(tmp_path / "out"), "--runs",
                             str(tmp_path / "runs"), "--methods", "triplet_sl", "--no-progress"])
    users = {r.user.name for r in results}
    agents = {r.agent.name for r in results}
    assert users == {"captioner", "human-replay", "relevance"}
    assert not any("WhittleSearch" in a for a in agents)  # no attribute file, no WhittleSearch row
    assert {r.seeds["dialogs"] for r in results} == {"catalog"}
    assert (tmp_path / "out" / "leaderboard.md").is_file()
