"""Training objectives on the tiny catalog: returns from ranks, hard-negative SL, anchored SCST, rollout values."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.policy_improvement import PolicyImprovementArgs, rollout_scores
from agents.returns import RETURNS, dialog_value, turn_value
from agents.scst import SCSTArgs
from agents.training import parse_args
from agents.triplet_sl import TripletSLArgs
from envs.evaluation import run_dialogs
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry

COMMON = {"catalog": "tiny", "user": "grammar", "batch_size": 16, "eval_dialogs": 16, "progress": False,
          "threads": 1}


def history(run_dir):
    return json.loads((run_dir / "checkpoint" / "state.json").read_text())["history"]


def test_each_return_on_known_ranks():
    ranks, n = np.array([0, 9, 10, 99, 999]), 1000
    np.testing.assert_allclose(turn_value("percentile", ranks, n), [1.0, 1 - 9 / 999, 1 - 10 / 999, 1 - 99 / 999, 0.0])
    np.testing.assert_allclose(turn_value("log-rank", ranks, n),
                               [1.0, 1 - np.log(10) / np.log(1000), 1 - np.log(11) / np.log(1000),
                                1 - np.log(100) / np.log(1000), 1 - np.log(1000) / np.log(1000)])
    np.testing.assert_array_equal(turn_value("top-10", ranks, n), [1, 1, 0, 0, 0])
    # A dialog that has shown its target counts rank 0, whatever its last query's rank.
    found = np.array([False, False, True, True, False])
    for name in RETURNS:
        value = dialog_value(name, ranks, found, n)
        assert value[2] == value[3] == 1.0 and value[4] == turn_value(name, ranks[4:], n)[0]
    # Top-heavy: log-rank spends more of its range on the first hundred ranks than the percentile does.
    assert turn_value("log-rank", np.array([3]), n) - turn_value("log-rank", np.array([300]), n) > 0.5
    assert turn_value("percentile", np.array([3]), n) - turn_value("percentile", np.array([300]), n) < 0.3
    with pytest.raises(ValueError, match="unknown return"):
        turn_value("hits", ranks, n)


def test_return_is_a_flag_and_is_checked():
    assert parse_args(SCSTArgs, ["--return", "percentile"], "").return_name == "percentile"
    assert parse_args(PolicyImprovementArgs, ["--return", "log-rank"], "").return_name == "log-rank"
    with pytest.raises(ValueError, match="unknown return"):
        SCSTArgs(return_name="rank")
    with pytest.raises(ValueError, match="anchor"):
        SCSTArgs(anchor="squared")


@pytest.fixture(scope="module")
def sl_run(tmp_path_factory):
    """Triplet SL with hard negatives: the start of the fine-tuning tests."""
    run_dir = tmp_path_factory.mktemp("runs") / "triplet_sl-grammar-s0"
    agent = TripletSLArgs(**COMMON, epochs=6, hard_negatives=5, run_dir=str(run_dir)).train()
    return agent, run_dir


def test_hard_negative_sl_lowers_its_loss(sl_run):
    _, run_dir = sl_run
    h = history(run_dir)
    assert h[-1]["triplet"] < h[0]["triplet"]
    assert {"eval/hits10_turn_5", "eval/recall10_turn_5", "eval/turn_5"} <= set(h[-1])


def test_anchored_scst_does_not_fall_from_its_start(sl_run, tmp_path):
    """From a trained start, on a fixed seed, the subset figure stays at its start (the paper's SCST drifted)."""
    _, sl_dir = sl_run
    run = tmp_path / "scst"
    SCSTArgs(**COMMON, epochs=3, init=str(sl_dir / "checkpoint"), run_dir=str(run)).train()
    start = history(sl_dir)[-1]
    def mean_figure(entry):  # the subset's rank percentile over turns 1, 2, 3, 5 (16 dialogs of 20 items: noisy)
        return np.mean([entry[f"eval/turn_{t}"] for t in (1, 2, 3, 5)])

    for entry in history(run):
        assert mean_figure(entry) >= mean_figure(start) - 0.03, (entry, start)
        assert np.isfinite(entry["anchor"]) and entry["anchor"] > 0


def test_rollout_value_of_showing_the_target_is_every_turn_left(sl_run):
    """Top-10 return: the branch that shows the target earns 1 for its turn and each turn left; none earns more."""
    agent, _ = sl_run
    catalog = registry.load_catalog("tiny", progress=False)
    vocabulary = registry.load_vocabulary(catalog)
    env = ShoeRetrievalVectorEnv(num_envs=4, catalog=catalog, split="train", user="grammar", vocabulary=vocabulary,
                                 action_type="query_and_candidate", max_turns=5, privileged=True)
    targets = np.array([0, 5, 10, 15])
    obs, info = env.reset(seed=3, options={"target": targets, "first_candidate": targets + 1})
    model = agent.model.eval()
    with torch.no_grad():
        hidden = model.initial_hidden(4)
        state, hidden = model.step(torch.as_tensor(obs["candidate_features"]), torch.as_tensor(obs["feedback"]),
                                   hidden)
    others = agent.topk_candidates(state, torch.as_tensor(np.stack([targets, targets + 1], 1)), k=3)
    candidates = torch.cat([torch.as_tensor(targets)[:, None], others], dim=1)  # (4, 4): the target first
    with torch.no_grad():
        scores = rollout_scores(env, model, hidden, candidates, state, np.arange(4), return_name="top-10")
    np.testing.assert_array_equal(scores[:, 0].numpy(), [5.0] * 4)  # turn 1 (shown) and turns 2..5
    assert (scores[:, 1:] <= 5.0).all() and (scores >= 0).all()


def test_selection_head_starts_as_the_manager_and_round_trips(sl_run, tmp_path):
    agent, _ = sl_run
    catalog, vocabulary = agent.catalog, agent.vocabulary
    headed = agent.with_selection_head()
    assert headed.action_type == "query_and_candidate" and agent.action_type == "query"
    env_args = {"num_envs": 8, "catalog": catalog, "split": "test", "user": "grammar", "vocabulary": vocabulary,
                "max_turns": 4}
    n = len(catalog.test_ids)
    targets = np.arange(8) % n
    firsts = (targets + 1) % n
    ranks = {}
    for name, manager in (("sl", agent), ("headed", headed)):
        manager.use_split("test")
        manager.reset_state()
        env = ShoeRetrievalVectorEnv(action_type=manager.action_type, **env_args)
        ranks[name] = run_dialogs(manager, env, targets, firsts, 0, 4)
    np.testing.assert_array_equal(ranks["sl"], ranks["headed"])  # the head starts as the query head
    path = headed.save(tmp_path / "headed")
    loaded = DialogManagerAgent.load(path, catalog, vocabulary)
    assert loaded.config.selection_head and loaded.action_type == "query_and_candidate"
    for a, b in zip(loaded.model.state_dict().values(), headed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_policy_gradient_cannot_move_the_query_through_the_selection_head(sl_run, tmp_path):
    """Without an anchor, SCST with a selection head trains that head only: every other weight stays put."""
    _, sl_dir = sl_run
    init = str(sl_dir / "checkpoint")
    trained = SCSTArgs(**{**COMMON, "eval_dialogs": 0}, epochs=1, lr=1e-2, anchor="none", init=init,
                       run_dir=str(tmp_path / "scst")).train()
    start = DialogManagerAgent.load(init, trained.catalog, trained.vocabulary).model.state_dict()
    after = trained.model.state_dict()
    moved = {k for k in after if k not in start or not torch.equal(after[k], start[k])}
    assert moved == {"selection.weight", "selection.bias"}
    # The paper's manager (no selection head): the same loss moves the query's own weights.
    paper = SCSTArgs(**{**COMMON, "eval_dialogs": 0}, epochs=1, lr=1e-2, anchor="none", selection_head=False,
                     init=init, run_dir=str(tmp_path / "scst-paper")).train()
    assert not torch.equal(paper.model.state_dict()["tracker.head.weight"], start["tracker.head.weight"])


def test_candidate_scorer_weights_come_from_its_seed_not_torchs_global_generator(sl_run):
    agent, _ = sl_run

    def scorer_weights(global_seed: int, seed: int) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)
        return [p.detach().clone() for p in agent.with_selection_head(8, seed=seed).model.scorer.parameters()]

    first, again, other = scorer_weights(1, 0), scorer_weights(2, 0), scorer_weights(1, 1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
