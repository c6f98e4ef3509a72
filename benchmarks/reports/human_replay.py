"""The human-replay user audited: its answers checked by a second code path, its fallback rate and unknown words.

    python -m benchmarks.reports.human_replay --catalog full          # the shared caption file, 1,000 pairs each
    python -m benchmarks.reports.human_replay --captions PATH --part heldout

Builds `simulators.replay.HumanReplayUser` from the relative-caption file (`--captions`, else
`$SHOE_RETRIEVAL_HUMAN_CAPTIONS`, else the shared folder; see `simulators.human_captions`) and asks it about
`--pairs` random (target, shown) pairs of the whole catalog and `--pairs` nearest-neighbour pairs (a random
target and its nearest other item in the retrieval space, the hardest pairs to tell apart). Every replayed
answer is checked again with the scalar `claims.claim_holds`, claim by claim (a strong comparative with twice
the gap), not with the truth tables the user chose it by: the report counts the false ones (the target is
zero) and those that state no difference. It prints the fallback rate (rows the grammar answered) on each pair
set, and the share of the replayed answers' tokens, and of the replayable captions' tokens, that the catalog's
one vocabulary (`registry.load_vocabulary`) reads as `<unk>`. No caption is printed or written: counts and
unknown words only. Writes `--out` (results/human_replay.json).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from simulators import registry
from simulators.cache import write_json
from simulators.human_captions import find_caption_file, read_relative_captions
from simulators.language.vocab import UNK_ID, Vocabulary, tokenize
from simulators.replay import PARTS, HumanReplayUser, replay_captions, scalar_truth
from simulators.seeding import make_rng


def nearest_pairs(features: np.ndarray, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n_pairs` random targets, each with its nearest other item by L2 distance in `features`."""
    targets = rng.integers(len(features), size=n_pairs)
    shown = np.empty_like(targets)
    squared = (features ** 2).sum(axis=1)
    for start in range(0, n_pairs, 256):
        rows = targets[start:start + 256]
        d = squared[rows, None] - 2 * features[rows] @ features.T + squared[None, :]  # (b, N)
        d[np.arange(len(rows)), rows] = np.inf
        shown[start:start + 256] = d.argmin(axis=1)
    return targets, shown


def unknown_share(texts: list[str], vocabulary: Vocabulary) -> tuple[float, int, Counter]:
    """The share of the tokens of `texts` the vocabulary maps to <unk>, the token count, and the unknown words."""
    tokens = [w for t in texts for w in tokenize(t)]
    unknown = Counter(w for w in tokens if vocabulary.index.get(w, UNK_ID) == UNK_ID)
    return sum(unknown.values()) / max(len(tokens), 1), len(tokens), unknown


def audit(user: HumanReplayUser, params: Any, targets: np.ndarray, shown: np.ndarray, seed: int,
          label: str) -> dict[str, Any]:
    """The user's answers on the pairs (one generator per row), every replayed one checked by `scalar_truth`."""
    before_answers, before_fallbacks = user.answers, user.fallbacks
    rngs = [make_rng(seed, "human_replay", label, b) for b in range(len(targets))]
    said = user.describe(targets, shown, rngs=rngs)
    answers, fallbacks = user.answers - before_answers, user.fallbacks - before_fallbacks
    replayable = set(user.texts)
    replayed = [(text, t, s) for text, t, s in zip(said, targets.tolist(), shown.tolist(), strict=True)
                if t != s and text in replayable]
    checks = [scalar_truth(text, params, t, s) for text, t, s in replayed]
    return {"pairs": len(targets), "answers": answers, "fallbacks": fallbacks,
            "fallback_rate": fallbacks / max(answers, 1), "replayed": len(replayed),
            "distinct_replayed": len({text for text, _, _ in replayed}),
            "false": sum(not holds for holds, _ in checks), "no_difference": sum(not differs for _, differs in checks),
            "texts": [text for text, _, _ in replayed]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, device=False, progress=False)
    parser.add_argument("--captions", default=None,
                        help="the relative caption file or its folder (default: $SHOE_RETRIEVAL_HUMAN_CAPTIONS, "
                             "else the shared folder beside the checkout)")
    parser.add_argument("--part", choices=PARTS, default="train",
                        help="the captions replayed: train (80%% of target image names) or heldout (20%%)")
    parser.add_argument("--pairs", type=int, default=1000, help="random pairs, and nearest-neighbour pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/human_replay.json")
    args = parser.parse_args(argv)

    catalog = setup(args).catalog
    t = time.perf_counter()
    records = read_relative_captions(find_caption_file("relative", args.captions)).unique()
    parts = {part: replay_captions(records, part) for part in PARTS}
    user = HumanReplayUser(catalog.params, parts[args.part], args.seed, catalog.attributes,
                           "human-replay" if args.part == "train" else f"human-replay-{args.part}")
    build_seconds = time.perf_counter() - t
    other = {m.text for part, matches in parts.items() if part != args.part for m in matches}
    shared = sum(text in other for text in user.texts)
    print(f"{user.name} on {catalog.name} ({len(catalog):,} items): {len(user.texts):,} distinct usable captions "
          f"of the {args.part} part, {shared:,} of them also said of a target of the other part "
          f"({build_seconds:.1f} s to read and match)")
    rng = make_rng(args.seed, "human_replay", "pairs")
    targets = rng.integers(len(catalog), size=args.pairs)
    shown = rng.integers(len(catalog), size=args.pairs)
    shown[shown == targets] = (shown[shown == targets] + 1) % len(catalog)
    pair_sets = {"random": (targets, shown), "nearest": nearest_pairs(catalog.features, args.pairs, rng)}
    vocabulary = registry.load_vocabulary(catalog)
    report: dict[str, Any] = {"machine": machine_description(), "catalog": catalog.name, "part": args.part,
                              "seed": args.seed, "captions": len(user.texts), "shared_with_other_part": shared,
                              "fingerprint": registry.user_fingerprint(user), "pairs": {}}
    print(f"   {'pairs':<9}{'answers':>9}{'fallback':>10}{'replayed':>10}{'distinct':>10}{'false':>7}"
          f"{'no difference':>15}{'<unk> tokens':>14}   seconds")
    replayed_texts: list[str] = []
    for label, (t_ids, s_ids) in pair_sets.items():
        t = time.perf_counter()
        result = audit(user, catalog.params, t_ids, s_ids, args.seed, label)
        texts = result.pop("texts")
        replayed_texts += texts
        share, tokens, _ = unknown_share(texts, vocabulary)
        result.update(unk_share=share, tokens=tokens, seconds=time.perf_counter() - t)
        report["pairs"][label] = result
        print(f"   {label:<9}{result['answers']:>9,}{100 * result['fallback_rate']:>9.1f}%{result['replayed']:>10,}"
              f"{result['distinct_replayed']:>10,}{result['false']:>7}{result['no_difference']:>15}"
              f"{100 * share:>13.2f}%   {result['seconds']:.1f}")
    share, tokens, unknown = unknown_share(replayed_texts, vocabulary)
    caption_share, caption_tokens, caption_unknown = unknown_share(user.texts, vocabulary)
    report["unk"] = {"replayed_share": share, "replayed_tokens": tokens, "captions_share": caption_share,
                     "captions_tokens": caption_tokens, "vocabulary_words": len(vocabulary),
                     "unknown_words": caption_unknown.most_common()}
    print(f"<unk>: {100 * share:.2f}% of the {tokens:,} tokens of the replayed answers, {100 * caption_share:.2f}% of "
          f"the {caption_tokens:,} tokens of the {len(user.texts):,} replayable captions (vocabulary of "
          f"{len(vocabulary):,} words); unknown words: "
          + ", ".join(f"{w} ({n})" for w, n in caption_unknown.most_common(20)))
    print(f"{report['machine']}")
    print(f"wrote {write_json(report, args.out)}")
    return report


if __name__ == "__main__":
    main()
