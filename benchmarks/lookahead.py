"""How much can choosing among the top-K candidates help? The improved policy of policy improvement, run at test time.

    python -m benchmarks.lookahead --run runs/triplet_sl-grammar-s0/checkpoint --user grammar
    python -m benchmarks.lookahead --run runs/triplet_sl-captioner-s0/checkpoint --user captioner --top-k 8

Policy improvement trains the manager to imitate pi': at every turn, fork the dialog once per
top-K candidate, roll each branch out greedily with the manager to the last turn, and show the
best branch's candidate. This runs pi' itself on a fixed subset of the protocol's test dialogs
(the simulator as a lookahead oracle) beside the greedy manager pi on the same dialogs, and
prints the mean target rank percentile per turn of both: the headroom that imitating pi' can win.
Writes results/lookahead.json.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.policy_improvement import rollout_scores
from envs.evaluation import protocol_first_candidates, run_dialogs
from envs.ranking import rank_percentile
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import write_json
from simulators.seeding import make_rng


@torch.no_grad()
def lookahead_ranks(agent: DialogManagerAgent, env: ShoeRetrievalVectorEnv, targets: np.ndarray,
                    firsts: np.ndarray, seed: int, top_k: int) -> np.ndarray:
    """(dialogs, T + 1) target ranks under pi' (best of the top-K by greedy rollouts); found targets count 0."""
    model, device = agent.model.eval(), agent.device
    b, turns = env.num_envs, env.core.max_turns
    ranks = np.zeros((len(targets), turns + 1), dtype=np.int64)
    for start in range(0, len(targets), b):
        rows = np.arange(start, min(start + b, len(targets)))
        pad = b - len(rows)
        obs, info = env.reset(seed=seed + start, options={
            "target": np.concatenate([targets[rows], targets[rows[:1]].repeat(pad)]),
            "first_candidate": np.concatenate([firsts[rows], firsts[rows[:1]].repeat(pad)])})
        hidden = model.initial_hidden(b, device)
        shown = torch.as_tensor(obs["candidate"], device=device)[:, None]
        found = np.zeros(b, dtype=bool)
        turn_ranks = [info["rank"].copy()]
        for _ in range(turns):
            state, hidden = model.step(torch.as_tensor(obs["candidate_features"], device=device),
                                       torch.as_tensor(obs["feedback"], device=device), hidden)
            candidates = agent.topk_candidates(state, shown, k=top_k)
            live = np.flatnonzero(~found)
            best = candidates[:, 0].clone()
            if len(live):
                live_t = torch.as_tensor(live, device=device)
                scores = rollout_scores(env, model, hidden[live_t], candidates[live_t], state[live_t], live)
                best[live_t] = candidates[live_t].gather(1, scores.argmax(dim=1, keepdim=True))[:, 0]
            obs, _, terminated, _, info = env.step({"query": state.cpu().numpy(), "candidate": best.cpu().numpy()})
            step_rank = np.where(found, 0, info["rank"])
            found |= terminated
            turn_ranks.append(np.where(found, 0, step_rank))
            shown = torch.cat([shown, best[:, None]], dim=1)
        ranks[rows] = np.stack(turn_ranks, axis=1)[: len(rows)]
    return ranks


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a dialog-manager checkpoint folder")
    parser.add_argument("--user", default="captioner", choices=registry.USER_NAMES)
    parser.add_argument("--catalog", default="full", choices=registry.CATALOG_NAMES)
    parser.add_argument("--dialogs", type=int, default=512, help="protocol test dialogs (a fixed subset)")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="results/lookahead.json")
    args = parser.parse_args(argv)
    catalog = registry.load_catalog(args.catalog, device=args.device)
    vocabulary = registry.load_vocabulary(catalog)
    user = registry.make_user(args.user, catalog, device=args.device, vocabulary=vocabulary)
    agent = DialogManagerAgent.load(args.run, catalog, vocabulary, device=args.device)
    agent.use_split("test")
    n_test = len(catalog.test_ids)
    count = min(args.dialogs, n_test)
    targets = np.sort(make_rng(0, "protocol", "training-subset").choice(n_test, count, replace=False))
    firsts = protocol_first_candidates(n_test, 0)[targets]
    common = {"catalog": catalog, "split": "test", "user": user, "vocabulary": vocabulary, "device": args.device,
              "max_turns": args.turns, "num_envs": min(count, 256)}
    greedy = run_dialogs(agent, ShoeRetrievalVectorEnv(action_type="query", **common), targets, firsts, 0,
                         args.turns)
    improved = lookahead_ranks(agent, ShoeRetrievalVectorEnv(action_type="query_and_candidate", **common),
                               targets, firsts, 0, args.top_k)
    report = {"run": args.run, "user": args.user, "dialogs": count, "top_k": args.top_k}
    print(f"{count} test dialogs, {args.user} user, {args.run}: mean target rank percentile per turn")
    print(f"{'policy':<36}" + "".join(f"{'t=' + str(t):>8}" for t in range(args.turns + 1)))
    for name, ranks in (("greedy (pi)", greedy), (f"best of top-{args.top_k} by rollouts (pi')", improved)):
        means = rank_percentile(ranks, n_test).mean(axis=0)
        report[name] = [float(m) for m in means]
        print(f"{name:<36}" + "".join(f"{100 * m:>7.2f}%" for m in means))
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
