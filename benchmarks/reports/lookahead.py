"""How much can choosing among the top-K candidates help? The improved policy of policy improvement, run at test time.

    python -m benchmarks.reports.lookahead --run runs/triplet_sl-grammar-s0/checkpoint --user grammar
    python -m benchmarks.reports.lookahead --run runs/triplet_sl-captioner-s0/checkpoint --user captioner --top-k 8
    python -m benchmarks.reports.lookahead --run runs/triplet_sl-grammar-s0/checkpoint --user grammar --return top-10 \
        --compare runs/policy_improvement-grammar-s0/checkpoint     # how much of pi's gain it distilled

Policy improvement trains the manager to imitate pi': at every turn, fork the dialog once per
top-K candidate, roll each branch out greedily with the manager to the last turn, and show the
best branch's candidate. This runs pi' itself on a fixed subset of the protocol's test dialogs
(the simulator as a lookahead oracle) beside the greedy manager pi on the same dialogs, and
prints the mean target rank percentile, cumulative Hits@10 and Recall@10 per turn of both: the
headroom that imitating pi' can win. Runs given with `--compare` (trained to imitate pi') are run
greedily on the same dialogs, with the share of pi's Hits@10 gain each captured. pi' knows the
target (its rollouts are scored by the target's rank), so part of its gain is beyond any policy.
Writes results/lookahead.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.dialog_manager import DialogManagerAgent
from agents.policy_improvement import rollout_scores
from agents.returns import RETURNS
from benchmarks.cli import command_parser, setup
from envs.evaluation import protocol_first_candidates, run_dialogs
from envs.ranking import cumulative_hits, rank_percentile
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import write_json
from simulators.seeding import make_rng


@torch.no_grad()
def lookahead_ranks(agent: DialogManagerAgent, env: ShoeRetrievalVectorEnv, targets: np.ndarray,
                    firsts: np.ndarray, seed: int, top_k: int, return_name: str = "percentile",
                    informative_only: bool = False) -> np.ndarray:
    """(dialogs, T + 1) target ranks under pi' (best of the top-K by greedy rollouts); found targets count 0.

    `informative_only`: pi' may show the target only where greedy pi would (as its nearest candidate), so
    what it gains over pi is the choice of more informative images, not the oracle's shortcut of showing a
    target it knows is among the candidates."""
    model, device = agent.model.eval(), agent.device
    b, turns = env.num_envs, env.max_turns
    ranks = np.zeros((len(targets), turns + 1), dtype=np.int64)
    for start in range(0, len(targets), b):
        rows = np.arange(start, min(start + b, len(targets)))
        pad = b - len(rows)
        batch_targets = np.concatenate([targets[rows], targets[rows[:1]].repeat(pad)])
        target_t = torch.as_tensor(batch_targets, device=device)
        obs, info = env.reset(seed=seed + start, options={
            "target": batch_targets,
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
                scores = rollout_scores(env, model, hidden[live_t], candidates[live_t], state[live_t], live,
                                        return_name=return_name, chooser=agent, top_k=top_k)
                if informative_only:  # the target counts only as the nearest candidate
                    hidden_target = candidates[live_t] == target_t[live_t, None]
                    hidden_target[:, 0] = False
                    scores = scores.masked_fill(hidden_target, float("-inf"))
                best[live_t] = candidates[live_t].gather(1, scores.argmax(dim=1, keepdim=True))[:, 0]
            obs, _, terminated, _, info = env.step({"query": state.cpu().numpy(), "candidate": best.cpu().numpy()})
            step_rank = np.where(found, 0, info["rank"])
            found |= terminated
            turn_ranks.append(np.where(found, 0, step_rank))
            shown = torch.cat([shown, best[:, None]], dim=1)
        ranks[rows] = np.stack(turn_ranks, axis=1)[: len(rows)]
    return ranks


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, progress=False)
    parser.add_argument("--run", required=True, help="a dialog-manager checkpoint folder (pi: the SL manager)")
    parser.add_argument("--compare", nargs="*", default=[],
                        help="checkpoints trained to imitate pi' (policy improvement, SCST), run greedily on the same "
                             "dialogs: the share of pi's gain over pi each distilled")
    parser.add_argument("--user", default="captioner", choices=registry.USER_NAMES)
    parser.add_argument("--dialogs", type=int, default=512, help="protocol test dialogs (a fixed subset)")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=4)
    parser.add_argument("--return", dest="return_name", default="percentile", choices=RETURNS,
                        help="what pi's rollouts are scored by (agents.returns)")
    parser.add_argument("--informative-only", action="store_true",
                        help="pi' may show the target only where pi would: the gain of more informative choices alone")
    parser.add_argument("--out", default="results/lookahead.json")
    args = parser.parse_args(argv)
    run = setup(args)
    catalog, device = run.catalog, run.device
    vocabulary = registry.load_vocabulary(catalog)
    user = registry.make_user(args.user, catalog, device=device, vocabulary=vocabulary)
    agent = DialogManagerAgent.load(args.run, catalog, vocabulary, device=device)
    agent.use_split("test")
    n_test = len(catalog.test_ids)
    count = min(args.dialogs, n_test)
    targets = np.sort(make_rng(0, "protocol", "training-subset").choice(n_test, count, replace=False))
    firsts = protocol_first_candidates(n_test, 0)[targets]
    common = {"catalog": catalog, "split": "test", "user": user, "vocabulary": vocabulary, "device": device,
              "max_turns": args.turns, "num_envs": min(count, 256)}

    def greedy_ranks(manager: DialogManagerAgent) -> np.ndarray:
        env = ShoeRetrievalVectorEnv(action_type=manager.action_type, **common)
        return run_dialogs(manager, env, targets, firsts, 0, args.turns)

    policies = {"greedy (pi)": greedy_ranks(agent),
                f"best of top-{args.top_k} by rollouts (pi')": lookahead_ranks(
                    agent, ShoeRetrievalVectorEnv(action_type="query_and_candidate", **common), targets, firsts, 0,
                    args.top_k, args.return_name, args.informative_only)}
    for path in args.compare:
        other = DialogManagerAgent.load(path, catalog, vocabulary, device=device)
        other.use_split("test")
        policies[f"{other.meta.get('method', 'run')}: {path}"] = greedy_ranks(other)
    report: dict[str, Any] = {"run": args.run, "user": args.user, "dialogs": count, "top_k": args.top_k,
                              "return": args.return_name, "informative_only": args.informative_only,
                              "policies": {}}
    print(f"{count} test dialogs, {args.user} user, {args.run}; pi' scores its rollouts by {args.return_name}")
    t = args.turns
    for metric in ("mean rank percentile", "cumulative Hits@10", "Recall@10"):
        print(f"\n{metric} per turn")
        print(f"{'policy':<56}" + "".join(f"{'t=' + str(i):>8}" for i in range(t + 1)))
        for name, ranks in policies.items():
            values = {"mean rank percentile": rank_percentile(ranks, n_test), "cumulative Hits@10":
                      cumulative_hits(ranks, 10), "Recall@10": ranks < 10}[metric].mean(axis=0)
            report["policies"].setdefault(name, {})[metric] = [float(v) for v in values]
            print(f"{name[:55]:<56}" + "".join(f"{100 * v:>7.2f}%" for v in values))
    names = list(policies)
    pi, improved = (report["policies"][n]["cumulative Hits@10"][t] for n in names[:2])
    if args.compare and improved > pi:
        print(f"\nshare of pi's Hits@10 gain at turn {t} ({100 * pi:.1f}% -> {100 * improved:.1f}%) distilled:")
        for name in names[2:]:
            share = (report["policies"][name]["cumulative Hits@10"][t] - pi) / (improved - pi)
            report["policies"][name]["distilled_share_hits10"] = share
            print(f"  {name}: {100 * share:.0f}%")
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
