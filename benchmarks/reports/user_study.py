"""The paper's user study (Sec. 5.3) with simulated users: WhittleSearch against the dialog manager, five turns.

    python -m benchmarks.reports.user_study                     # full catalog; needs runs/policy_improvement-*-s0
    python -m benchmarks.reports.user_study --catalog tiny      # smoke run (WhittleSearch rows only, unless runs exist)

In the paper, people searched for a target with WhittleSearch (relative-attribute feedback on
estimated attribute values) and with the dialog manager (free text), 50 five-turn dialogs each:
70.3% against 89.9% mean rank percentile after five turns. Here every test item of the protocol is
the target once (seeded first image, five turns): WhittleSearch runs against the
`attributes-10-handcrafted` user and reads its constraints on the same hand-crafted estimates
(WhittleSearch's original attribute values came from hand-crafted features); the dialog manager
(policy improvement) runs against the captioner and the grammar user it was trained with. The
oracle and deep-estimate WhittleSearch rows show what better attribute values would buy, and the
one- and three-attribute users a person's terser answers. Writes
results/user_study.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.dialog_manager import CheckpointMismatchError, DialogManagerAgent
from agents.whittlesearch import WhittleSearchAgent
from benchmarks.cli import command_parser, setup
from benchmarks.protocol import EvalResult, ProtocolConfig, evaluate
from simulators import registry
from simulators.cache import write_json
from simulators.catalog.estimators import load_attribute_estimates

PAPER = {"WhittleSearch": 0.703, "dialog manager": 0.899}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--out", default="results/user_study.json")
    args = parser.parse_args(argv)
    run = setup(args)
    catalog, device, progress = run.catalog, run.device, run.progress
    vocabulary = registry.load_vocabulary(catalog)
    protocol = ProtocolConfig(max_turns=args.turns)
    split_ids = catalog.split_ids(protocol.split)
    features = catalog.features[split_ids]
    common = {"config": protocol, "device": device, "vocabulary": vocabulary, "progress": progress}

    results: list[EvalResult] = []
    for values, user in (("handcrafted", "attributes-10-handcrafted"), ("deep", "attributes-10-deep"),
                         ("oracle", "attributes-10"), ("handcrafted", "attributes-3-handcrafted"),
                         ("handcrafted", "attributes-1-handcrafted")):
        attributes = catalog.attributes if values == "oracle" else load_attribute_estimates(catalog, values)
        agent = WhittleSearchAgent(attributes[split_ids], vocabulary, features=features)
        results.append(evaluate(agent, catalog, registry.make_user(user, catalog), agent_name=f"WhittleSearch "
                                f"({values} values)", user_name=user, **common))
    for user in ("captioner", "grammar"):
        path = Path(args.runs) / f"policy_improvement-{user}-s0" / "checkpoint"
        if not (path / "manifest.json").exists():
            print(f"(no run at {path}; skipped)")
            continue
        try:
            agent = DialogManagerAgent.load(path, catalog, vocabulary, device=device)
        except CheckpointMismatchError as err:
            print(f"(skipped: {err})")
            continue
        agent.use_split(protocol.split)
        results.append(evaluate(agent, catalog, registry.make_user(user, catalog, device=device,
                                                                  vocabulary=vocabulary),
                                agent_name=f"dialog manager (policy improvement, trained: {user})", user_name=user,
                                **common))
    print(f"\n{results[0].episodes} test dialogs, {args.turns} turns: mean target rank percentile [95% interval]")
    print(f"{'system':<58}{'user':<28}{'t=1':>7}{'t=3':>7}{'t=' + str(args.turns):>7}   interval at t={args.turns}")
    for r in results:
        lo, hi = r.ci95[-1]
        print(f"{r.agent:<58}{r.user:<28}{100 * r.mean_rank_percentile[1]:>6.1f}%"
              f"{100 * r.mean_rank_percentile[min(3, args.turns)]:>6.1f}%{100 * r.mean_rank_percentile[-1]:>6.1f}%"
              f"   [{100 * lo:.1f}, {100 * hi:.1f}]")
    print(f"paper (people, 50 dialogs each): WhittleSearch {100 * PAPER['WhittleSearch']:.1f}%, dialog manager "
          f"{100 * PAPER['dialog manager']:.1f}% after five turns")
    report = {"catalog": catalog.name, "turns": args.turns, "paper": PAPER, "results": [r.to_json() for r in results]}
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
