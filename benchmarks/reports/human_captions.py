"""How many of the published human relative captions of Shoes the matcher can use on SynthShoes, and why not the rest.

    python -m benchmarks.reports.human_captions                 # $SHOE_RETRIEVAL_HUMAN_CAPTIONS or the shared folder
    python -m benchmarks.reports.human_captions --captions PATH # a caption file, or the folder holding the files
    python -m benchmarks.reports.human_captions --pairs 0       # counts only: no catalog loaded

Reads the relative captions (Guo et al. 2018, from the `XiaoxiaoGuo/fashion-retrieval` repository, MIT licence;
`simulators.human_captions`), and the single-image captions where the same folder holds them, and matches each
caption with `simulators.language.matching.match_caption`. It prints the records and duplicates, how many captions
are usable, the refused ones by their first cause (and how many have each cause at all), the words most often
behind the refusals (words and word pairs only: no caption is printed or written), and, on `--pairs` random
(target, shown) pairs of the catalog's train split, how many usable captions are a true answer for at least one
pair (and informative: one of its claims a difference the shown shoe lacks), and how many pairs have an
informative one (the replay user's raw material). Matching speed is the median of `--repeats` passes over the
file. Writes `--out` (results/human_captions.json).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description, median_seconds
from simulators.cache import write_json
from simulators.human_captions import find_caption_file, read_image_captions, read_relative_captions
from simulators.language.matching import CaptionMatch, Cause, caption_truth, match_caption, match_captions
from simulators.seeding import make_rng

TOP_WORDS = 25
"""Words listed per cause."""
LISTED_CAUSES = (Cause.UNKNOWN_WORD, Cause.UNMODELLED_ATTRIBUTE, Cause.AMBIGUOUS_COLOUR, Cause.AMBIGUOUS_WORD,
                 Cause.UNPARSED_NEGATION, Cause.UNPARSED_COMPARATIVE, Cause.UNPARSED_STRUCTURE)
"""Causes whose words are listed: the rest name claims ("higher and lower") or nothing."""


def summarise(matches: list[CaptionMatch]) -> dict[str, Any]:
    """Counts of one file's matches: usable, first causes, any causes, claims, and the words behind each cause
    (a problem's word or word pair; longer snippets of a caption are never kept)."""
    first = Counter(m.cause.value for m in matches if not m.usable)
    anywhere = Counter(c.value for m in matches for c in {c for c, _ in m.problems})
    words = {cause.value: Counter(w for m in matches for c, w in m.problems if c is cause and 0 < len(w.split()) <= 2)
             for cause in LISTED_CAUSES}
    usable = [m for m in matches if m.usable]
    return {
        "captions": len(matches), "usable": len(usable), "usable_share": len(usable) / max(len(matches), 1),
        "first_cause": {c.value: first.get(c.value, 0) for c in Cause},
        "any_cause": {c.value: anywhere.get(c.value, 0) for c in Cause},
        "top_words": {cause: counts.most_common(TOP_WORDS) for cause, counts in words.items()},
        "claims_per_usable": Counter(len(m.claims) for m in usable),
        "claim_kinds": Counter(c.kind for m in usable for c in m.claims).most_common(),
        "with_reference_claims": sum(bool(m.reference_claims) for m in usable),
        "with_strong_claims": sum(bool(m.strong) for m in usable),
    }


def truth_on_pairs(matches: list[CaptionMatch], params: Any, split_ids: np.ndarray, n_pairs: int,
                   seed: int) -> dict[str, Any]:
    """On `n_pairs` random (target, shown) pairs of `split_ids` (target never shown): how many distinct usable
    captions are true of some pair, the share of pairs each is true of, and the share of pairs with a true one."""
    rng = make_rng(seed, "human_captions", "pairs")
    targets = rng.choice(split_ids, n_pairs)
    references = rng.choice(split_ids, n_pairs)
    same = targets == references
    references[same] = split_ids[(np.searchsorted(split_ids, references[same]) + 1) % len(split_ids)]
    distinct = list({m.text: m for m in matches if m.usable}.values())
    holds, informative = caption_truth(distinct, params, targets, references)  # (M, B) each
    return {"pairs": n_pairs, "seed": seed, "distinct_usable": len(distinct),
            "true_of_some_pair": int(holds.any(axis=1).sum()),
            "informative_for_some_pair": int(informative.any(axis=1).sum()),
            "median_share_of_pairs_true": float(np.median(holds.mean(axis=1))) if distinct else 0.0,
            "pairs_with_an_informative_caption": float(informative.any(axis=0).mean()),
            "median_informative_captions_per_pair": float(np.median(informative.sum(axis=0)))}

def format_summary(name: str, s: dict[str, Any]) -> str:
    lines = [f"{name}: {s['usable']:,} of {s['captions']:,} usable ({100 * s['usable_share']:.1f}%)",
             f"   {'cause':<24}{'first cause':>12}{'share':>8}{'has it':>9}"]
    for cause in Cause:
        n = s["first_cause"][cause.value]
        lines.append(f"   {cause.value:<24}{n:>12,}{100 * n / max(s['captions'], 1):>7.1f}%"
                     f"{s['any_cause'][cause.value]:>9,}")
    lines.append("   claims per usable caption: "
                 + ", ".join(f"{k}: {v:,}" for k, v in sorted(s["claims_per_usable"].items())))
    lines.append("   claim kinds: " + ", ".join(f"{k} {v:,}" for k, v in s["claim_kinds"][:12]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, device=False, progress=False)
    parser.add_argument("--captions", default=None,
                        help="the relative caption file or its folder (default: $SHOE_RETRIEVAL_HUMAN_CAPTIONS, "
                             "else the shared folder beside the checkout)")
    parser.add_argument("--pairs", type=int, default=2000,
                        help="random train-split pairs the usable captions are checked on (0: none, no catalog)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of the matcher over the file")
    parser.add_argument("--out", default="results/human_captions.json")
    args = parser.parse_args(argv)

    relative_path = find_caption_file("relative", args.captions)
    files = {"relative": relative_path}
    try:
        files["single"] = find_caption_file("single", relative_path.parent)  # beside it, where the folder has it
    except FileNotFoundError:
        pass
    report: dict[str, Any] = {"machine": machine_description(), "files": {}, "licence": "MIT",
                              "source": "XiaoxiaoGuo/fashion-retrieval (Guo et al. 2018)"}
    texts: dict[str, list[str]] = {}
    matched: dict[str, list[CaptionMatch]] = {}
    for kind, path in files.items():
        captions = read_relative_captions(path) if kind == "relative" else read_image_captions(path)
        texts[kind] = [r.text for r in captions.records]
        matched[kind] = match_captions(texts[kind])
        report["files"][kind] = {"path": str(path), "records": len(captions), "duplicates": len(captions.duplicates),
                                 **summarise(matched[kind])}
        print(f"{path}: {len(captions):,} {kind} captions, {len(captions.duplicates):,} duplicate records")

    relative_texts = texts["relative"]
    seconds = median_seconds(lambda: [match_caption(t) for t in relative_texts], repeats=args.repeats, warmup=0)
    report["matching"] = {"seconds": seconds, "captions_per_second": len(relative_texts) / seconds}
    print()
    for kind, summary in report["files"].items():
        print(format_summary(f"{kind} captions", summary))
        print()
    relative = report["files"]["relative"]
    for cause, words in relative["top_words"].items():
        if words:
            print(f"   {cause}: " + ", ".join(f"{w} ({n})" for w, n in words[:15]))
    print(f"\nmatcher: {len(relative_texts):,} captions in {seconds:.2f} s ({len(relative_texts) / seconds:,.0f}/s); "
          f"{report['machine']}")

    if args.pairs > 0:
        t = time.perf_counter()
        catalog = setup(args).catalog
        split_ids = catalog.split_ids("train")
        report["catalog"] = catalog.name
        report["truth"] = {kind: truth_on_pairs(m, catalog.params, split_ids, args.pairs, args.seed)
                           for kind, m in matched.items()}
        for kind, truth in report["truth"].items():
            print(f"{kind}: on {truth['pairs']:,} random train pairs of {catalog.name}, of "
                  f"{truth['distinct_usable']:,} distinct usable captions {truth['true_of_some_pair']:,} are true of "
                  f"some pair and {truth['informative_for_some_pair']:,} true and informative (a difference the shown "
                  f"shoe lacks); a caption is true of a median {100 * truth['median_share_of_pairs_true']:.2f}% of "
                  f"pairs; {100 * truth['pairs_with_an_informative_caption']:.1f}% of pairs have an informative one "
                  f"(median {truth['median_informative_captions_per_pair']:.0f} per pair)")
        print(f"(catalog and truth: {time.perf_counter() - t:.1f} s)")
    print(f"wrote {write_json(report, args.out)}")
    return report


if __name__ == "__main__":
    main()
