"""The dialog manager and its three training methods on the tiny catalog: they learn, save, load and resume."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from agents.dialog_manager import CheckpointMismatchError, DialogManagerAgent
from agents.policy_improvement import PolicyImprovementArgs
from agents.scst import SCSTArgs
from agents.training import parse_args
from agents.triplet_sl import TripletSLArgs
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import CorruptArtifactError
from simulators.catalog.catalog import CatalogConfig

COMMON = {"catalog": "tiny", "user": "grammar", "batch_size": 16, "eval_dialogs": 16, "progress": False,
          "threads": 1}


@pytest.fixture(scope="module")
def catalog():
    return registry.load_catalog("tiny", progress=False)


@pytest.fixture(scope="module")
def vocabulary(catalog):
    return registry.load_vocabulary(catalog)


@pytest.fixture(scope="module")
def sl_run(tmp_path_factory):
    """A short triplet-SL run (the start of SCST and policy improvement)."""
    run_dir = tmp_path_factory.mktemp("runs") / "triplet_sl-grammar-s0"
    args = TripletSLArgs(**COMMON, epochs=6, run_dir=str(run_dir))
    agent = args.train()
    return args, agent, run_dir


def history(run_dir):
    return json.loads((run_dir / "checkpoint" / "state.json").read_text())["history"]


def test_triplet_sl_lowers_its_loss(sl_run):
    _, agent, run_dir = sl_run
    h = history(run_dir)
    assert len(h) == 6
    assert h[-1]["triplet"] < h[0]["triplet"]
    assert {"eval/turn_1", "eval/turn_5", "time/iteration_s", "time/user_s"} <= set(h[-1])
    assert (run_dir / "tb").is_dir() and any((run_dir / "tb").iterdir())


def test_scst_and_policy_improvement_train_from_sl(sl_run, tmp_path):
    _, _, sl_dir = sl_run
    init = str(sl_dir / "checkpoint")
    scst = SCSTArgs(**COMMON, epochs=2, init=init, run_dir=str(tmp_path / "scst")).train()
    assert scst.meta["method"] == "scst"
    PolicyImprovementArgs(**COMMON, epochs=2, init=init, run_dir=str(tmp_path / "pi")).train()
    h = history(tmp_path / "pi")
    assert all(np.isfinite(e["cross_entropy"] + e["anchor"]) for e in h)
    assert h[-1]["time/rollout_env_s"] > 0 and h[-1]["time/rollout_network_s"] > 0
    # The paper's literal loss (random negatives, squared distance to the target) falls as it trains.
    PolicyImprovementArgs(**COMMON, epochs=4, lr=1e-3, init=init, anchor="squared", contrast_candidates=False,
                          run_dir=str(tmp_path / "pi-paper")).train()
    h = history(tmp_path / "pi-paper")
    loss = [e["cross_entropy"] + e["anchor"] for e in h]
    assert loss[-1] < loss[0]


def test_resume_gives_the_same_weights(sl_run, tmp_path):
    args, _, _ = sl_run
    whole = replace(args, epochs=2, run_dir=str(tmp_path / "whole")).train()
    replace(args, epochs=1, run_dir=str(tmp_path / "cut")).train()
    resumed = replace(args, epochs=2, run_dir=str(tmp_path / "cut"), resume=True).train()
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_save_load_round_trip_and_deterministic_greedy_evaluation(sl_run, catalog, vocabulary, tmp_path):
    _, agent, _ = sl_run
    path = agent.save(tmp_path / "agent")
    loaded = DialogManagerAgent.load(path, catalog, vocabulary)
    for a, b in zip(agent.model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)

    def evaluate(model):
        env = ShoeRetrievalVectorEnv(num_envs=4, catalog=catalog, split="test", user="grammar",
                                     vocabulary=vocabulary, action_type="query", max_turns=4, device="cpu")
        obs, _ = env.reset(seed=3)
        start, shown = np.ones(4, dtype=bool), [obs["candidate"]]
        for _ in range(4):
            action, _ = model.predict(obs, episode_start=start)
            start[:] = False
            obs, *_ = env.step(action)
            shown.append(obs["candidate"])
        return np.stack(shown)

    np.testing.assert_array_equal(evaluate(agent), evaluate(loaded))
    np.testing.assert_array_equal(evaluate(loaded), evaluate(loaded))


def test_episode_start_mid_batch_resets_only_that_row(sl_run):
    _, agent, _ = sl_run
    rng = np.random.default_rng(0)
    obs = {"candidate": np.arange(3), "candidate_features": rng.normal(size=(3, agent.config.feature_dim))
           .astype(np.float32) * 5, "feedback": rng.integers(4, agent.config.vocab_size, size=(3, 16)),
           "turn": np.zeros(3, dtype=np.int64)}
    agent.reset_state()
    agent.predict(obs, episode_start=np.ones(3, dtype=bool))
    second, _ = agent.predict(obs, episode_start=np.array([False, True, False]))
    agent.reset_state()
    fresh, _ = agent.predict(obs, episode_start=np.ones(3, dtype=bool))
    np.testing.assert_allclose(second[1], fresh[1], rtol=1e-5, atol=1e-5)
    assert not np.allclose(second[0], fresh[0])


def test_checkpoint_from_another_catalog_or_damaged_is_refused(sl_run, vocabulary, tmp_path):
    _, agent, _ = sl_run
    path = agent.save(tmp_path / "agent")
    other = registry.load_catalog(CatalogConfig.tiny(seed=1), progress=False)
    with pytest.raises(CheckpointMismatchError, match="catalog"):
        DialogManagerAgent.load(path, other, vocabulary)
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    weights = broken / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifactError):
        DialogManagerAgent.load(broken, agent.catalog, vocabulary)


def test_command_line_lists_every_argument(capsys):
    with pytest.raises(SystemExit):
        parse_args(PolicyImprovementArgs, ["--help"], "help")
    text = capsys.readouterr().out
    for flag in ("--user", "--top-k", "--negatives", "--temperature", "--resume", "--init", "--epochs"):
        assert flag in text
    args = parse_args(SCSTArgs, ["--user", "grammar", "--lr", "0.01", "--resume", "--no-progress"], "")
    assert (args.user, args.lr, args.resume, args.progress) == ("grammar", 0.01, True, False)
