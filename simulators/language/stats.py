"""Corpus statistics with the definitions of docs/design.md section 4, and the human figures themselves.

The topic lexicons here are the measuring stick: the tests measure the synthetic corpus with them
and compare against `HUMAN_STATISTICS`. They are deliberately independent of the grammar's phrase
inventory (a word counts for a topic wherever it appears), so the grammar cannot grade itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from simulators.catalog.params import COLOUR_NAMES
from simulators.language.vocab import tokenize

TOPIC_WORDS: dict[str, frozenset[str]] = {
    "colour": frozenset({*COLOUR_NAMES, "darker", "lighter", "dark", "light", "colour", "color", "colours",
                         "colors", "coloured", "colored", "colorful", "colourful", "shade", "beige", "navy",
                         "grey", "multicolored", "neutral", "tone", "toned", "burgundy", "maroon", "teal",
                         "turquoise", "aqua", "olive", "khaki", "taupe", "cream", "ivory", "off-white", "lilac",
                         "lavender", "mauve", "violet", "plum", "fuchsia", "magenta", "coral", "peach", "salmon",
                         "bronze", "copper", "charcoal", "chocolate", "camel", "nude", "wine", "scarlet", "cherry",
                         "emerald", "lime", "mustard", "rust", "pewter", "golden", "silvery", "hue", "hues",
                         "brighter", "paler", "pale", "bright", "two-tone", "two-toned",
                         "multi-colored", "monochromatic", "contrasting", "contrast", "shades"}),
    "heel": frozenset({"heel", "heels", "heeled", "heelless", "stiletto", "stilettos", "wedge", "wedges", "higher",
                       "lower", "flat", "flatter"}),
    "strap_closure": frozenset({"strap", "straps", "strappy", "strappier", "strapless", "strapped", "buckle",
                                "buckles", "buckled", "laces", "lace", "lace-up", "laced", "shoelaces", "velcro",
                                "zipper", "zip", "slip-on", "slip-ons", "slip", "shoestrings", "zippers", "zippered",
                                "elastic", "elasticized", "closure", "closures", "lacing", "eyelets"}),
    "material_finish": frozenset({"shiny", "shinier", "shine", "glossy", "glossier", "matte", "dull", "duller",
                                  "suede", "leather", "patent", "metallic", "fur", "furry", "material", "finish",
                                  "canvas", "rubber", "velvet", "satin", "shimmery", "foil",
                                  "fluffy", "faux", "mesh", "cork", "wool", "woolen", "fleece", "fabric", "glitter",
                                  "glittery", "sequins", "sequined", "lucite", "clear", "wooden", "wood", "plastic",
                                  "knit", "woven", "quilted"}),
    "toe": frozenset({"toe", "toes", "toed", "pointy", "pointed", "pointier", "round", "rounded", "open",
                      "closed", "peep", "toeless"}),
    "shaft_height": frozenset({"shaft", "knee", "knee-high", "ankle", "calf", "mid-calf", "tall", "taller",
                               "short", "shorter", "leg", "height", "thigh", "thigh-high"}),
    "ornaments": frozenset({"bow", "bows", "accents", "accent", "rhinestones", "rhinestone", "jewels", "jeweled",
                            "bejeweled", "sparkly", "studs", "studded", "trim", "trimmed", "fur-trimmed",
                            "embellishments", "embellished", "embellishment", "decorations", "decoration", "decorated",
                            "ornaments", "plain", "crystals", "gems", "bling", "spikes", "spiked", "ribbon",
                            "details", "detail"}),
    "sole": frozenset({"sole", "soles", "soled", "outsole", "bottom", "bottoms", "platform", "platforms", "thicker",
                       "thinner", "tread", "treads", "lug", "rugged"}),
    "pattern": frozenset({"print", "printed", "pattern", "patterned", "leopard", "animal", "plaid", "tartan",
                          "stripes", "striped", "stripy", "floral", "flowers", "flowery", "flower", "snakeskin",
                          "snake", "spots", "spotted", "checkered", "pinstriped", "reptile", "zebra", "polka", "dots",
                          "dotted", "croc", "crocodile", "alligator", "prints", "patterns", "camo"}),
    "category": frozenset({"boots", "boot", "booties", "sneakers", "sneaker", "clogs", "clog", "flats", "pumps",
                           "pump", "stilettos", "sandals", "sandal", "athletic", "running", "rain", "wedding",
                           "bridal", "loafers", "trainers", "tennis", "ballerinas",
                           "ballerina", "court", "loafer", "slingbacks", "slingback", "mules", "slides", "oxfords",
                           "moccasins", "bootie", "cowboy", "western", "chelsea", "gladiator",
                           "high-tops", "wellies", "galoshes", "mary", "janes"}),
}
COMPARATIVE_WORDS = frozenset({"darker", "lighter", "higher", "lower", "taller", "shorter", "thicker", "thinner",
                               "more", "less", "fewer", "shinier", "glossier", "duller", "pointier", "rounder",
                               "brighter", "flatter", "longer", "bigger", "smaller", "wider", "narrower",
                               "chunkier", "slimmer", "strappier", "paler", "plainer", "simpler", "busier", "smoother",
                               "sturdier", "skinnier", "blunter"})
NEGATION_WORDS = frozenset({"no", "not", "without", "none", "n't", "never", "isn't", "aren't", "doesn't"})
JOIN_WORDS = frozenset({"and", "with"})
FIRST_WORDS: tuple[str, ...] = ("are", "is", "have", "has")
LENGTHS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10)

HUMAN_STATISTICS: dict[str, object] = {
    "mean_words": 5.2,
    "length_shares": {2: 0.09, 3: 0.12, 4: 0.165, 5: 0.164, 6: 0.18, 7: 0.15, 8: 0.08, 9: 0.034, 10: 0.015},
    "first_word_shares": {"are": 0.40, "is": 0.26, "have": 0.15, "has": 0.13, "other": 0.06},
    "topic_shares": {"colour": 0.62, "heel": 0.19, "strap_closure": 0.18, "material_finish": 0.18, "toe": 0.14,
                     "shaft_height": 0.11, "ornaments": 0.10, "sole": 0.09, "pattern": 0.085, "category": 0.08},
    "comparative_share": 0.33,
    "negation_share": 0.10,
    "join_share": 0.54,
}
"""Measured on the published human relative captions for Shoes (docs/design.md section 4)."""


def corpus_statistics(captions: Sequence[str]) -> dict[str, object]:
    """The section-6 statistics of `captions`, in the layout of HUMAN_STATISTICS (plus counts)."""
    n = len(captions)
    if n == 0:
        raise ValueError("corpus_statistics needs at least one caption")
    lengths: Counter[int] = Counter()
    first: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    comparative = negation = join = 0
    total_words = 0
    for caption in captions:
        words = tokenize(caption)
        total_words += len(words)
        lengths[len(words)] += 1
        head = words[0] if words else ""
        first[head if head in FIRST_WORDS else "other"] += 1
        bag = set(words)
        for topic, lexicon in TOPIC_WORDS.items():
            if bag & lexicon:
                topics[topic] += 1
        comparative += bool(bag & COMPARATIVE_WORDS)
        negation += bool(bag & NEGATION_WORDS)
        join += bool(bag & JOIN_WORDS)
    return {
        "n": n,
        "mean_words": total_words / n,
        "max_words": max(lengths),
        "length_shares": {k: lengths[k] / n for k in LENGTHS},
        "first_word_shares": {k: first[k] / n for k in (*FIRST_WORDS, "other")},
        "topic_shares": {k: topics[k] / n for k in TOPIC_WORDS},
        "comparative_share": comparative / n,
        "negation_share": negation / n,
        "join_share": join / n,
    }


def largest_gaps(stats: dict[str, object], reference: dict[str, object] = HUMAN_STATISTICS) -> dict[str, float]:
    """Absolute gap between `stats` and `reference` for every share they both report, keyed "group/item"."""
    gaps: dict[str, float] = {}
    for key, ref in reference.items():
        if isinstance(ref, dict):
            got = stats[key]
            for item, value in ref.items():
                gaps[f"{key}/{item}"] = abs(float(got[item]) - float(value))  # type: ignore[index]
        elif key.endswith("_share"):
            gaps[key] = abs(float(stats[key]) - float(ref))  # type: ignore[arg-type]
    return gaps


HUMAN_LEXICON: dict[str, float] = {"types": 1611, "types_at_least_5": 553, "types_at_least_20": 226,
                                   "top300_token_share": 0.935, "types_said_once": 686}
"""The human corpus's vocabulary with the project's tokenizer (docs/design.md section 4)."""


def lexicon_statistics(captions: Sequence[str], human_counts: dict[str, int] | None = None,
                       sayable: frozenset[str] | None = None) -> dict[str, float]:
    """The breadth of a corpus's vocabulary, in the layout of HUMAN_LEXICON.

    With `human_counts` (word -> count of the human words said at least twice, as in
    data/human_shoes_word_counts.tsv), also the share of the human corpus's tokens whose word
    the corpus says (`human_tokens_said`) and, with `sayable`, whose word is in that set (the
    grammar's words: `human_tokens_sayable`). The denominator holds every human token, the
    words said once included (each counted once, though the file leaves them out), so a word
    missing from the file can only lower these shares.
    """
    counts: Counter[str] = Counter(w for caption in captions for w in tokenize(caption))
    if not counts:
        raise ValueError("lexicon_statistics needs at least one word")
    tokens = sum(counts.values())
    out: dict[str, float] = {
        "types": len(counts),
        "types_at_least_5": sum(1 for c in counts.values() if c >= 5),
        "types_at_least_20": sum(1 for c in counts.values() if c >= 20),
        "top300_token_share": sum(c for _, c in counts.most_common(300)) / tokens,
        "types_said_once": sum(1 for c in counts.values() if c == 1),
    }
    if human_counts:
        total = sum(human_counts.values()) + HUMAN_LEXICON["types_said_once"]
        out["human_tokens_said"] = sum(c for w, c in human_counts.items() if w in counts) / total
        if sayable is not None:
            out["human_tokens_sayable"] = sum(c for w, c in human_counts.items() if w in sayable) / total
    return out


def read_word_counts(path: str | Path) -> dict[str, int]:
    """A "word<TAB>count" file with a header line (data/human_shoes_word_counts.tsv) as a dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no word-count file at {path}")
    counts: dict[str, int] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()[1:], start=2):
        word, sep, count = line.partition("\t")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"{path}:{n}: expected 'word<TAB>count', got {line!r}")
        counts[word] = int(count)
    return counts
