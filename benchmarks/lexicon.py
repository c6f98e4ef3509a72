"""The caption corpus against the human one: docs/design.md section 4 and the breadth of the vocabulary.

    python -m benchmarks.lexicon                        # the full catalog's train-split corpus
    python -m benchmarks.lexicon --catalog tiny
    python -m benchmarks.lexicon --human-counts PATH --json results/lexicon.json

Prints the section-6 statistics (length, first word, topics, comparatives, negations, joins)
beside the human figures, and the vocabulary's breadth: word types, types said at least 5 and
20 times, the share of tokens the 300 most frequent words cover, and, from the published human
word counts (words said at least twice, a tab-separated `word count` file that is not in this
repository: `--human-counts PATH`; used for measurement only), the share of the human corpus's
tokens whose word the corpus says and whose word the grammar can say. Those shares count every
human token in the denominator, the 686 words said once included, so they never flatter the
grammar. Only the relative rows
are measured (10,751 captions, the size of the human corpus).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulators import registry
from simulators.cache import write_json
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.claims import GRAMMAR_VERSION, GRAMMAR_WORDS
from simulators.language.stats import (
    HUMAN_LEXICON,
    HUMAN_STATISTICS,
    corpus_statistics,
    largest_gaps,
    lexicon_statistics,
    read_word_counts,
)

DEFAULT_HUMAN_COUNTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "human_shoes_word_counts.tsv"
"""Where the word counts lie on the project's own machines (a `shared/data/` folder beside the checkout)."""
TARGETS = {"types_at_least_5": (">=", 450), "top300_token_share": ("<=", 0.97), "human_tokens_sayable": (">=", 0.95),
           "largest_gap": ("<=", 0.02)}
"""World v2's targets: breadth, a long tail, the grammar's reach into the human words, section 6 within 2 points."""


def format_corpus_comparison(stats: dict) -> str:
    """Synthetic corpus against the human figures of docs/design.md section 4, in percent."""
    lines = [f"   {'statistic':<30}{'synthetic':>10}{'human':>8}"]
    lines.append(f"   {'mean words':<30}{stats['mean_words']:>10.2f}{HUMAN_STATISTICS['mean_words']:>8.2f}")
    for key, ref in HUMAN_STATISTICS.items():
        if isinstance(ref, dict):
            for item, value in ref.items():
                lines.append(f"   {key.removesuffix('_shares') + ': ' + str(item):<30}"
                             f"{100 * stats[key][item]:>9.1f}%{100 * value:>7.1f}%")
        elif key.endswith("_share"):
            lines.append(f"   {key.removesuffix('_share'):<30}{100 * stats[key]:>9.1f}%{100 * ref:>7.1f}%")
    return "\n".join(lines)


def format_lexicon(lexicon: dict) -> str:
    """The vocabulary's breadth beside the human corpus's."""
    rows = [("word types", "types", "{:.0f}"), ("types said at least 5 times", "types_at_least_5", "{:.0f}"),
            ("types said at least 20 times", "types_at_least_20", "{:.0f}"),
            ("tokens covered by the top 300", "top300_token_share", "{:.1%}"),
            ("human tokens whose word it says", "human_tokens_said", "{:.1%}"),
            ("human tokens the grammar can say", "human_tokens_sayable", "{:.1%}")]
    human = {**HUMAN_LEXICON, "human_tokens_said": 1.0, "human_tokens_sayable": 1.0}
    lines = [f"   {'vocabulary':<34}{'synthetic':>10}{'human':>8}"]
    for label, key, fmt in rows:
        if key in lexicon:
            lines.append(f"   {label:<34}{fmt.format(lexicon[key]):>10}{fmt.format(human[key]):>8}")
    return "\n".join(lines)


def measure(captions: list[str], human_counts: dict[str, int] | None) -> dict:
    """Section-6 statistics, their largest gap, the lexicon and the targets met, for `captions`."""
    stats = corpus_statistics(captions)
    gaps = largest_gaps(stats)
    worst = max(gaps, key=gaps.__getitem__)
    lexicon = lexicon_statistics(captions, human_counts, GRAMMAR_WORDS)
    values = {**lexicon, "largest_gap": gaps[worst]}
    met = {key: (values[key] >= bound if op == ">=" else values[key] <= bound)
           for key, (op, bound) in TARGETS.items() if key in values}
    return {"statistics": stats, "largest_gap": {"statistic": worst, "gap": gaps[worst]}, "lexicon": lexicon,
            "targets_met": met}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default="full", choices=registry.CATALOG_NAMES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--human-counts", type=Path, default=DEFAULT_HUMAN_COUNTS,
                    help="the human word counts (word<TAB>count); without the file only the corpus is measured")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    catalog = registry.load_catalog(registry.catalog_config(args.catalog, seed=args.seed),
                                    progress=not args.no_progress)
    corpus = load_corpus(catalog, CorpusConfig(split="train", seed=args.seed))
    human_counts = read_word_counts(args.human_counts) if args.human_counts.is_file() else None
    result = {"catalog": catalog.name, "grammar_version": GRAMMAR_VERSION, "rows": len(corpus),
              **measure(corpus.relative_captions, human_counts)}
    print(f"== Caption corpus of {catalog.name} (train split, grammar v{GRAMMAR_VERSION}): "
          f"{len(corpus.relative_captions)} relative captions")
    print(format_corpus_comparison(result["statistics"]))
    gap = result["largest_gap"]
    print(f"   largest gap: {100 * gap['gap']:.1f} points ({gap['statistic']})")
    print(format_lexicon(result["lexicon"]))
    if human_counts is None:
        print(f"   (no human word counts at {args.human_counts}: coverage of the human words not measured)")
    print("   targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in result["targets_met"].items()))
    if args.json:
        write_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
