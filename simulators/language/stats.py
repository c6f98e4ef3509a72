"""Corpus statistics with the definitions of DESIGN.md section 6, and the human figures themselves.

The topic lexicons here are the measuring stick: the tests measure the synthetic corpus with them
and compare against `HUMAN_STATISTICS`. They are deliberately independent of the grammar's phrase
inventory (a word counts for a topic wherever it appears), so the grammar cannot grade itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from simulators.catalog.params import COLOUR_NAMES
from simulators.language.vocab import tokenize

TOPIC_WORDS: dict[str, frozenset[str]] = {
    "colour": frozenset({*COLOUR_NAMES, "darker", "lighter", "dark", "light", "colour", "color", "colours",
                         "colors", "coloured", "colored", "colorful", "colourful", "shade", "beige", "navy",
                         "grey", "multicolored", "neutral", "tone", "toned"}),
    "heel": frozenset({"heel", "heels", "heeled", "heelless", "stiletto", "stilettos", "wedge", "wedges", "higher",
                       "lower", "flat", "flatter"}),
    "strap_closure": frozenset({"strap", "straps", "strappy", "strappier", "strapless", "strapped", "buckle",
                                "buckles", "buckled", "laces", "lace", "lace-up", "laced", "shoelaces", "velcro",
                                "zipper", "zip", "slip-on", "slip-ons", "slip", "shoestrings"}),
    "material_finish": frozenset({"shiny", "shinier", "shine", "glossy", "glossier", "matte", "dull", "duller",
                                  "suede", "leather", "patent", "metallic", "fur", "furry", "material", "finish",
                                  "canvas", "rubber", "velvet", "satin", "shimmery", "foil",
                                  "fluffy", "faux"}),
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
                       "thinner", "tread"}),
    "pattern": frozenset({"print", "printed", "pattern", "patterned", "leopard", "animal", "plaid", "tartan",
                          "stripes", "striped", "stripy", "floral", "flowers", "flowery", "flower", "snakeskin",
                          "snake", "spots", "spotted", "checkered", "pinstriped", "reptile"}),
    "category": frozenset({"boots", "boot", "booties", "sneakers", "sneaker", "clogs", "clog", "flats", "pumps",
                           "pump", "stilettos", "sandals", "sandal", "athletic", "running", "rain", "wedding",
                           "bridal", "loafers", "trainers", "tennis", "ballerinas",
                           "ballerina", "court"}),
}
COMPARATIVE_WORDS = frozenset({"darker", "lighter", "higher", "lower", "taller", "shorter", "thicker", "thinner",
                               "more", "less", "fewer", "shinier", "glossier", "duller", "pointier", "rounder",
                               "brighter", "flatter", "longer", "bigger", "smaller", "wider", "narrower",
                               "chunkier", "slimmer", "strappier"})
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
"""Measured on the published human relative captions for Shoes (DESIGN.md section 6)."""


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
