"""A conservative matcher from a person's relative caption to the claims of our world.

A human caption ("is green instead of orange", "has a lot less pointy toe", "no laces") is usable on
SynthShoes only when it says nothing the world cannot check: every word must be accounted for by a claim
of `simulators.language.claims` (its phrase inventory, plus the few constructions below), a function word
("is", "and", "with") or a hedge ("the same but"), and every negation and comparative must be read with its
polarity. Otherwise the caption is refused with a `Cause`. A caption wrongly called usable would put false
human answers into the replay user, a refused one only loses data, so every doubt refuses:

- words the grammar never writes (`UNKNOWN_WORD`), or that name things the world does not model: parts and
  positions ("lining", "on the side"), a colour or material of a part ("black laces", "a gold buckle")
  (`UNMODELLED_ATTRIBUTE`);
- colour words that do not name one of the world's 25 colours unambiguously ("taupe", "ivory", "dark green",
  "greenish", two colours for one upper) (`AMBIGUOUS_COLOUR`), and words a person uses more loosely than the
  world's claim ("is higher": heel or shaft?, "sparkly": glitter or rhinestones?) (`AMBIGUOUS_WORD`);
- a negation or comparative left over ("is not black", "more black") (`UNPARSED_NEGATION`,
  `UNPARSED_COMPARATIVE`), claims that cannot hold together (`CONFLICTING_CLAIMS`), words in an order the
  matcher does not read ("has stones or crystals") (`UNPARSED_STRUCTURE`), and captions that state nothing
  ("are identical") (`NO_CLAIM`).

Beyond the inventory the matcher reads "less <adjective>" and "not as <adjective>" as the opposite
comparative ("not as shiny": less shiny), "no/without/does not have <part>" for the parts a claim negates
("without shoelaces": no laces), "<colour> sole" as the sole's colour, and "<colour> instead of <colour>"
as a claim about the target and one about the shown image (`CaptionMatch.reference_claims`). Degree words
make a comparative strong ("a lot less pointy" needs twice the gap, like the grammar's "much darker").

    >>> match_caption("is a lot less pointy").claims
    (Claim(kind='toe_rel', value='less pointy'),)
    >>> match_caption("has black laces").cause
    <Cause.UNMODELLED_ATTRIBUTE: 'unmodelled attribute'>

`caption_truth` checks usable captions against (target, reference) pairs with the grammar's own truth
(`claim_matrices`): a human caption is a true answer for a pair exactly where all its claims hold, and an
informative one where one of them is also a difference the shown shoe lacks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from simulators.catalog.params import COLOUR_NAMES, ShoeParams
from simulators.language.claims import (
    ADJ_PHRASES,
    ARTICLES,
    CLAIM_INDEX,
    CLAIMS,
    GRAMMAR_WORDS,
    HEDGES,
    INSTEAD,
    MOD_PHRASES,
    NEG_PHRASES,
    NOUN_PHRASES,
    NP_PHRASES,
    PHRASE_INVENTORY,
    PP_HEDGES,
    PP_PHRASES,
    SAME_ITEM_PHRASE,
    SHADES,
    WANT,
    Claim,
    claim_matrices,
)
from simulators.language.vocab import tokenize


class Cause(enum.Enum):
    """Why a caption is not usable, in the order a caption's first cause is picked."""

    UNKNOWN_WORD = "unknown word"
    UNMODELLED_ATTRIBUTE = "unmodelled attribute"
    AMBIGUOUS_COLOUR = "ambiguous colour"
    AMBIGUOUS_WORD = "ambiguous word"
    UNPARSED_NEGATION = "unparsed negation"
    UNPARSED_COMPARATIVE = "unparsed comparative"
    CONFLICTING_CLAIMS = "conflicting claims"
    UNPARSED_STRUCTURE = "unparsed structure"
    NO_CLAIM = "no claim"


_PRIORITY = {cause: i for i, cause in enumerate(Cause)}


@dataclass(frozen=True)
class CaptionMatch:
    """What the matcher read in one caption: its claims, or why it cannot be used."""

    text: str
    claims: tuple[Claim, ...]
    """Claims about the target relative to the shown image, in the order said (empty unless usable)."""
    strong: tuple[Claim, ...] = ()
    """The comparatives said with a degree ("much darker", "a lot less pointy"): they need twice the gap."""
    reference_claims: tuple[Claim, ...] = ()
    """Absolute claims about the shown image ("instead of orange": the shown shoe is orange)."""
    problems: tuple[tuple[Cause, str], ...] = ()
    """Each problem found and the word or phrase it was found at, in the order of `Cause`."""

    @property
    def usable(self) -> bool:
        return not self.problems

    @property
    def cause(self) -> Cause | None:
        """The first cause (in the order of `Cause`) the caption is refused for; None when usable."""
        return self.problems[0][0] if self.problems else None


# --------------------------------------------------------------------------------------------------
# What the matcher knows: the claims' phrase inventory with the family of each phrase, its own
# constructions, function words, and the word lists that name why a word is refused.

AMBIGUOUS_COLOURS: frozenset[str] = frozenset({
    "khaki", "taupe", "nude", "champagne", "mauve", "aqua", "turquoise", "peach", "peachy", "salmon", "rose",
    "copper", "coppery", "charcoal", "pewter", "mahogany", "russet", "caramel", "cognac", "reddish brown",
    "brick brown", "dark green", "dark red", "deep red", "dark blue", "deep blue", "bright pink", "dark gray",
    "dark grey", "light gray", "light grey", "off white", "off-white", "ivory", "eggshell", "bone", "lime green",
    "rust orange", "burnt orange", "plum", "violet"})
"""Colour names a person may use for more than one of the world's 25 colours ("taupe": beige, gray or brown;
"ivory": cream or white; "dark green": green or olive). The grammar says them; the matcher refuses them."""
COLOUR_WORDS: frozenset[str] = frozenset(
    {w for c in COLOUR_NAMES for w in tokenize(c)} | {w for shades in SHADES.values() for s in shades
                                                      for w in tokenize(s)}
    | {"dark", "light", "bright", "pale", "pastel", "pastels", "deep", "neon", "hot", "baby", "rich", "muted",
       "mustard", "lime", "mint", "rust", "sand", "gunmetal", "tortoiseshell", "neutral", "neutrals", "earth",
       "camo", "color", "colour", "colors", "colours", "colored", "coloured", "coloring", "tone", "tones", "toned",
       "hue", "hues", "shade", "shades", "colorful", "colourful"})
"""Words about colour: one left over ("greenish", "a darker shade of pink") refuses a caption as an ambiguous colour."""
_COLOUR_FRAME = frozenset({"in", "color", "colour", "colored", "all", "mostly", "toned", "shade", "tone", "hue",
                           "upper", "uppers", "on", "sole", "soles", "outsole", "outsoles", "bottom"})
"""The words around a colour name in the colour phrasings ("all <c>", "<c> in color", "a <c> sole")."""

UNMODELLED_WORDS: frozenset[str] = frozenset({
    "sole", "soles", "outsole", "insole", "heel", "heels", "toe", "toes", "upper", "uppers", "back", "backs",
    "front", "side", "sides", "top", "tops", "bottom", "bottoms", "lining", "linings", "inside", "outside",
    "vamp", "vamps", "tongue", "collar", "cuff", "cuffs", "tip", "tips", "edge", "edges", "trim", "accents",
    "accent", "detail", "details", "detailing", "design", "designs", "panel", "panels", "area", "part", "parts",
    "section", "sections", "middle", "center", "shaft", "band", "bands", "material", "texture", "finish",
    "shape", "size", "fit", "height", "length", "width", "brand", "opening", "openings", "piece",
    "on", "at", "near", "around", "across", "along", "over", "under", "above", "below", "between", "through",
    "throughout", "by", "to", "up", "down", "into", "onto", "of"})
"""Parts and positions of a shoe, and properties the claims do not state: left over, they refuse a caption."""
NEGATION_WORDS: frozenset[str] = frozenset({
    "not", "no", "without", "don't", "doesn't", "isn't", "aren't", "never", "none", "nor", "lacks", "lacking",
    "lack", "minus", "nothing", "neither", "cannot", "can't"})
"""Words of a negation: one left over is a negation the matcher did not read."""
COMPARATIVE_WORDS: frozenset[str] = frozenset(
    {"more", "less", "than", "as", "fewer", "most", "least", "much", "bigger", "larger", "smaller", "longer", "wider",
     "thicker", "thinner", "taller", "shorter", "higher", "lower", "slimmer", "skinnier", "chunkier", "lighter",
     "darker", "brighter", "softer", "stronger", "flatter", "deeper", "narrower", "sleeker", "simpler"})
"""Words of a comparative: one left over ("more black", "than") is a comparative the matcher did not read."""

AMBIGUOUS_PHRASES: frozenset[tuple[str, ...]] = frozenset(tuple(tokenize(p)) for p in (
    "plain", "unadorned", "sleeker", "slicker", "cutouts", "more delicate", "daintier", "sturdier"))
"""Inventory phrases whose claim can be true while a person's words are not: "plain" (no ornament, but the shoe
may be patterned), "sleeker" (a smoother texture, or a slimmer shape?). A caption that says one is refused."""
_ANCHORS: dict[str, frozenset[str]] = {
    "heel_rel": frozenset({"heel", "heels", "heeled", "flatter"}),
    "heel_width_rel": frozenset({"heel", "heels", "heeled"}),
}
"""Claim kinds a bare comparative does not pin down: "is higher" (the heel, or the shaft?) needs one of these words."""

COMPARATIVE_BASES: dict[str, tuple[Claim | None, Claim | None]] = {
    **dict.fromkeys(("shiny", "glossy"), (Claim("finish_rel", "more shiny"), Claim("finish_rel", "less shiny"))),
    "matte": (Claim("finish_rel", "less shiny"), Claim("finish_rel", "more shiny")),
    **dict.fromkeys(("pointy", "pointed"), (Claim("toe_rel", "more pointy"), Claim("toe_rel", "less pointy"))),
    "dark": (Claim("colour_rel", "darker"), Claim("colour_rel", "lighter")),
    **dict.fromkeys(("bright", "colorful", "colourful", "vibrant", "vivid"),
                    (Claim("colour_rel", "brighter"), Claim("colour_rel", "paler"))),
    "strappy": (Claim("straps_rel", "more"), Claim("straps_rel", "fewer")),
    **dict.fromkeys(("formal", "dressy"), (Claim("style_rel", "more formal"), Claim("style_rel", "more casual"))),
    "casual": (Claim("style_rel", "more casual"), Claim("style_rel", "more formal")),
    "sporty": (Claim("style_rel", "more sporty"), Claim("style_rel", "less sporty")),
    **dict.fromkeys(("feminine", "girly"), (Claim("style_rel", "more feminine"), Claim("style_rel", "less feminine"))),
    "textured": (Claim("texture_rel", "more textured"), Claim("texture_rel", "smoother")),
    **dict.fromkeys(("decorated", "detailed", "ornate", "embellished", "busy"),
                    (Claim("detail_rel", "busier"), Claim("detail_rel", "plainer"))),
    **dict.fromkeys(("rounded", "round"), (Claim("toe_rel", "rounder"), None)),
}
"""Adjective -> (its "more" claim, its "less" claim): "less shiny", "not as dark" (lighter), "more decorated"."""
_NEGATORS: tuple[tuple[str, ...], ...] = tuple(tuple(tokenize(p)) for p in (
    "no", "without", "without any", "no visible", "do not have", "don't have", "does not have", "doesn't have",
    "not have", "not any"))
_NEGATED: dict[Claim, Claim] = {Claim(k, True): Claim("no", n) for k, n in (
    ("straps", "straps"), ("laces", "laces"), ("buckle", "buckle"), ("fur", "fur"), ("two_tone", "two_tone"),
    ("shiny", "shiny"))}
"""Claims whose part a negation may name ("without shoelaces"), and the claim it then makes."""
_OWN_PHRASES: dict[str, tuple[Claim, str]] = {
    **dict.fromkeys(("not open toed", "not open-toed", "not open toe", "not peep toe", "not peep-toe"),
                    (Claim("toe", "closed"), "adj")),
    **dict.fromkeys(("not furry", "not fur trimmed"), (Claim("no", "fur"), "adj")),
    **dict.fromkeys(("not two-tone", "not two-toned", "not two tone"), (Claim("no", "two_tone"), "adj")),
    **dict.fromkeys(("a taller heel", "taller heels"), (Claim("heel_rel", "higher"), "np")),
    **dict.fromkeys(("a shorter heel", "shorter heels"), (Claim("heel_rel", "lower"), "np")),
    **dict.fromkeys(("a higher platform", "higher platforms", "a taller platform"),
                    (Claim("sole_rel", "thicker"), "np")),
    **dict.fromkeys(("a lower platform", "lower platforms"), (Claim("sole_rel", "thinner"), "np")),
    "a pointer toe": (Claim("toe_rel", "more pointy"), "np")}
"""Phrases of the matcher's own beyond the inventory and the constructions above."""
_SOLE_NOUNS = ("sole", "soles", "outsole", "outsoles")

_EXCLUSIVE_KINDS = frozenset({"colour", "sole_colour", "finish", "pattern", "heel_shape", "shaft", "category"})
"""Claim kinds with one value per shoe: two values of one of them never hold together."""
_OPPOSITES: frozenset[frozenset[str]] = frozenset(frozenset(p) for p in (
    ("darker", "lighter"), ("brighter", "paler"), ("higher", "lower"), ("wider", "narrower"), ("busier", "plainer"),
    ("more textured", "smoother"), ("more open", "more covered"), ("more pointy", "less pointy"),
    ("rounder", "more pointy"), ("taller", "shorter"), ("more", "fewer"), ("more shiny", "less shiny"),
    ("thicker", "thinner"), ("more formal", "more casual"), ("more sporty", "less sporty"),
    ("more feminine", "less feminine")))
_NEGATION_CONFLICTS: dict[str, tuple[str, ...]] = {
    "heel": ("heel_shape", "heel_material"), "straps": ("straps", "velcro"), "laces": ("laces",),
    "buckle": ("buckle",), "fur": ("fur",), "shiny": ("shiny",), "ornament": ("ornament",),
    "pattern": ("pattern", "animal_print"), "two_tone": ("two_tone",)}
"""Claim("no", x) cannot hold with a claim of these kinds."""

_VERBS = ("is", "are", "has", "have", "looks", "look", "it is", "they are", "it has", "they have", *WANT)
_JOINERS = ("and", "with", "also", "plus", "but", "as well as", "and also", "but also")
_STRONG_DEGREES = ("much", "a lot", "way", "far", "significantly", "considerably", "so much")
_MILD_DEGREES = ("slightly", "a bit", "a little", "a little bit", "somewhat", "a tad", "even", "just a bit")
_INTENSIFIERS = ("very", "really", "super", "extremely")
_SAMENESS = ("identical", "same", "similar", "alike", "exactly the same", "exactly this one", "the same style")
_GENERIC_NOUNS = ("shoe", "shoes")


@dataclass(frozen=True)
class _Entry:
    """One thing the matcher can read at a position: a claim phrase or a function word."""

    role: str
    """claim, verb, join, hedge, degree, intensifier, instead, not, same or noun."""
    claim: Claim | None = None
    families: frozenset[str] = frozenset()
    """For a claim phrase: adj, np, pp, mod, neg or noun (the phrase families of claims.SPECS), and nominal for
    the predicate nouns among the adjective phrases ("a wedge", "platforms")."""
    strong: bool = False


def _key(text: str) -> tuple[str, ...]:
    """A phrase's lookup key: its tokens without articles (as the claims' inventory keys them)."""
    return tuple(w for w in tokenize(text) if w not in ARTICLES)


def _claim_table() -> dict[tuple[str, ...], _Entry]:
    """The claims' phrase inventory with each phrase's families, then the matcher's own constructions."""
    found: dict[tuple[str, ...], tuple[Claim, set[str], bool]] = {}

    def add(key: tuple[str, ...], claim: Claim, family: str, strong: bool = False, own: bool = False) -> None:
        if not key:
            return
        known = PHRASE_INVENTORY.get(key)
        if known is not None and known != claim:
            raise AssertionError(f"{' '.join(key)!r}: the inventory says {known}, the matcher {claim}")
        if not own and known is None:
            raise AssertionError(f"{' '.join(key)!r} is not in the claims' phrase inventory")
        claim0, families, strong0 = found.get(key, (claim, set(), False))
        found[key] = (claim0, families | {family}, strong0 or strong)

    for family, table in (("adj", ADJ_PHRASES), ("np", NP_PHRASES), ("pp", PP_PHRASES), ("mod", MOD_PHRASES),
                          ("neg", NEG_PHRASES)):
        for claim, phrases in zip(CLAIMS, table, strict=True):
            for p in phrases:
                key = _key(p.text)
                # a predicate noun ("is a platform", "are wedges") is no adjective: "a white platform" is a part
                kind = "nominal" if family == "adj" and p.number else family
                add(key[1:] if key[:1] in (("with",), ("and",)) else key, claim, kind, p.strong)
    for claim, pairs in zip(CLAIMS, NOUN_PHRASES, strict=True):
        for pair in pairs:
            for p in pair:
                add(_key(p.text), claim, "noun")
    for word, (up, down) in COMPARATIVE_BASES.items():
        base = tuple(tokenize(word))
        if up is not None:
            add(("more", *base), up, "adj", own=True)
        if down is not None:
            for opener in (("less",), ("not", "as"), ("isn't", "as"), ("aren't", "as"), ("not", "quite", "as")):
                add((*opener, *base), down, "adj", own=True)
    for text, (claim, family) in _OWN_PHRASES.items():
        add(_key(text), claim, family, own=True)
    positive = [(key, e[0]) for key, e in found.items() if e[0] in _NEGATED and e[1] & {"np", "pp"}]
    for key, claim in positive:
        for negator in _NEGATORS:
            add((*negator, *key), _NEGATED[claim], "np", own=True)
    for colour in COLOUR_NAMES:
        for name in (colour, *SHADES.get(colour, ())):
            for noun in _SOLE_NOUNS:
                add((*_key(name), noun), Claim("sole_colour", colour), "np", own=True)
    return {key: _Entry("claim", claim, frozenset(families), strong)
            for key, (claim, families, strong) in found.items()}


def _function_table() -> dict[tuple[str, ...], _Entry]:
    table: dict[tuple[str, ...], _Entry] = {}
    groups = (("verb", _VERBS, False), ("join", _JOINERS, False), ("hedge", (*HEDGES, *PP_HEDGES), False),
              ("degree", _STRONG_DEGREES, True), ("degree", _MILD_DEGREES, False),
              ("intensifier", _INTENSIFIERS, False), ("instead", INSTEAD, False), ("not", ("not",), False),
              ("same", (*_SAMENESS, SAME_ITEM_PHRASE), False), ("noun", _GENERIC_NOUNS, False))
    for role, texts, strong in groups:
        for text in texts:
            table.setdefault(_key(text), _Entry(role, strong=strong))
    return table


_CLAIM_TABLE = _claim_table()
_FUNCTION_TABLE = _function_table()
_LONGEST = max(len(k) for k in (*_CLAIM_TABLE, *_FUNCTION_TABLE))
UNREAD_WORDS: frozenset[str] = frozenset({"or", "either", "like", "maybe", "perhaps", "kind", "sort"})
"""Words the matcher knows but does not read ("studs or spikes": which?): they refuse a caption as unparsed."""
KNOWN_WORDS: frozenset[str] = frozenset(GRAMMAR_WORDS | UNREAD_WORDS
                                        | {w for k in (*_CLAIM_TABLE, *_FUNCTION_TABLE) for w in k})
"""Every word the matcher knows; any other word refuses a caption as an unknown word."""


@dataclass(frozen=True)
class _Piece:
    words: tuple[str, ...]
    entry: _Entry | None
    """None: a word the matcher could not read here."""

    @property
    def role(self) -> str:
        return self.entry.role if self.entry is not None else "left"

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _segment(words: Sequence[str]) -> list[_Piece]:
    """Greedy longest match, claim phrases first on equal length; unreadable words become pieces of their own."""
    pieces: list[_Piece] = []
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):
            key = tuple(words[i:i + n])
            entry = _CLAIM_TABLE.get(key) or _FUNCTION_TABLE.get(key)
            if entry is not None:
                pieces.append(_Piece(key, entry))
                i += n
                break
        else:
            pieces.append(_Piece((words[i],), None))
            i += 1
    return pieces


def _left_over_cause(word: str) -> Cause:
    """Why a word the matcher could not place refuses the caption."""
    if word in NEGATION_WORDS:
        return Cause.UNPARSED_NEGATION
    if word in COMPARATIVE_WORDS:
        return Cause.UNPARSED_COMPARATIVE
    if word in COLOUR_WORDS or (word.endswith("ish") and len(word) > 4):
        return Cause.AMBIGUOUS_COLOUR
    if word in UNMODELLED_WORDS:
        return Cause.UNMODELLED_ATTRIBUTE
    if word not in KNOWN_WORDS:
        return Cause.UNKNOWN_WORD
    return Cause.UNPARSED_STRUCTURE


def _is_relative(claim: Claim) -> bool:
    return claim.kind.endswith("_rel")


def _is_noun(piece: _Piece) -> bool:
    """A category or style noun ("boots", "mary janes"), or "shoes": what a chain of modifiers may end in."""
    if piece.role == "noun":
        return True
    e = piece.entry
    return piece.role == "claim" and e.claim.kind in ("category", "style") and "noun" in e.families


def _modifier(piece: _Piece) -> bool:
    """An absolute claim said as an adjective or a prenominal modifier ("black", "suede", "open toed")."""
    e = piece.entry
    return (piece.role == "claim" and not _is_relative(e.claim) and e.claim.kind not in ("category", "style")
            and bool(e.families & {"adj", "mod"}))


def _adjacent(left: _Piece, right: _Piece) -> Cause | None:
    """Whether two claim phrases may stand side by side without a joiner; None when they may."""
    if _is_noun(right) and left.role == "claim" and not _is_relative(left.entry.claim) \
            and left.entry.claim.kind not in ("category", "style"):
        return None  # "black ankle boots", "strappy sandals", "pointed toe pumps"
    if left.role == "claim" and right.role == "claim":
        a, b = left.entry.claim, right.entry.claim
        if a.kind == "colour_rel" and b.kind == "colour":
            return None  # "darker brown"
        if _modifier(left) and _modifier(right):
            return None  # "shiny black", "black suede"
        if "adj" in left.entry.families and "adj" in right.entry.families \
                and not {a.kind, b.kind} & {"category", "style"}:
            return None  # "less strappy, more textured": a list whose commas the tokenizer dropped
        if _modifier(left) and not right.entry.families & {"adj", "mod"}:
            return Cause.UNMODELLED_ATTRIBUTE  # "black laces", "ankle strap", "gold buckle": a part's property
    return Cause.UNPARSED_STRUCTURE


def _colour_name(piece: _Piece) -> str:
    return " ".join(w for w in piece.words if w not in _COLOUR_FRAME)


def _claim_problems(piece: _Piece) -> list[tuple[Cause, str]]:
    """Doubts about one claim phrase taken alone: an ambiguous colour name, a loosely used word."""
    claim = piece.entry.claim
    out = []
    if claim.kind in ("colour", "sole_colour"):
        name = _colour_name(piece)
        if name in AMBIGUOUS_COLOURS:
            out.append((Cause.AMBIGUOUS_COLOUR, name))
    if piece.words in AMBIGUOUS_PHRASES or (claim.kind in _ANCHORS and not set(piece.words) & _ANCHORS[claim.kind]):
        out.append((Cause.AMBIGUOUS_WORD, piece.text))
    return out


def _conflicts(claims: Sequence[Claim]) -> list[tuple[Cause, str]]:
    """Pairs of claims that never hold together: two colours of one upper, "higher" and "lower"."""
    out = []
    for i, a in enumerate(claims):
        for b in claims[i + 1:]:
            if a == b:
                continue
            clash = ((a.kind == b.kind and a.kind in _EXCLUSIVE_KINDS)
                     or (a.kind == b.kind == "toe" and "closed" not in (a.value, b.value))
                     or (a.kind == b.kind == "toe" and {a.value, b.value} == {"open", "closed"})
                     or (a.kind == b.kind and frozenset((a.value, b.value)) in _OPPOSITES)
                     or (a.kind == "no" and b.kind in _NEGATION_CONFLICTS.get(str(a.value), ()))
                     or (b.kind == "no" and a.kind in _NEGATION_CONFLICTS.get(str(b.value), ())))
            if clash:
                cause = Cause.AMBIGUOUS_COLOUR if a.kind == b.kind == "colour" else Cause.CONFLICTING_CLAIMS
                out.append((cause, f"{a.value} and {b.value}"))
    return out


def _negation(piece: _Piece) -> bool:
    return piece.entry.claim.kind == "no" or piece.words[0] in NEGATION_WORDS or piece.words[:2] in (
        ("do", "not"), ("does", "not"))


def _scope_problem(before: _Piece, piece: _Piece) -> tuple[Cause, str] | None:
    """A doubt about what "<before> and <piece>" means: whether a negation, a comparative or a colour reaches
    over the "and" ("no laces and buckles", "less shiny and pointy", "white and black soles")."""
    if _negation(before) and not piece.entry.families & {"adj"}:
        return Cause.UNPARSED_NEGATION, f"{before.text} and {piece.text}"
    if before.words[0] in ("more", "less", "not", "isn't", "aren't") and len(piece.words) == 1 \
            and piece.words[0] in COMPARATIVE_BASES:
        return Cause.UNPARSED_COMPARATIVE, f"{before.text} and {piece.text}"
    if before.entry.claim.kind == "colour" and piece.entry.claim.kind == "sole_colour":
        return Cause.AMBIGUOUS_COLOUR, f"{before.text} and {piece.text}"
    return None


def match_caption(text: str) -> CaptionMatch:
    """The claims of one relative caption, or the causes it cannot be used for (see the module docstring)."""
    pieces = _segment([w for w in tokenize(text) if w not in ARTICLES])
    problems: list[tuple[Cause, str]] = []
    claims: list[Claim] = []
    strong: list[Claim] = []
    reference: list[Claim] = []
    chain: list[_Piece] = []  # the claim phrases and nouns since the last function word: one noun phrase
    chain_is_reference = False  # the chain began with "instead of" or a contrasting "not"
    before_join: _Piece | None = None  # the claim phrase just before the joiners read last
    previous = "start"  # the role of the last piece read

    def end_chain() -> None:
        if chain and not _is_noun(chain[-1]) and chain[-1].entry.families == {"mod"}:
            problems.append((Cause.UNPARSED_STRUCTURE, chain[-1].text))  # "ankle" with no noun after it
        chain.clear()

    i = 0
    while i < len(pieces):
        piece, role = pieces[i], pieces[i].role
        nxt = pieces[i + 1] if i + 1 < len(pieces) else None
        next_claim = nxt.entry.claim if nxt is not None and nxt.role == "claim" else None
        if role in ("degree", "intensifier"):
            fits = next_claim is not None and (_is_relative(next_claim) if role == "degree" else _modifier(nxt))
            if not fits:
                problems.append((Cause.UNPARSED_COMPARATIVE if role == "degree" else Cause.UNPARSED_STRUCTURE,
                                 piece.text))
            elif piece.entry.strong:
                strong.append(next_claim)
            i += 1
            continue  # a degree belongs to the phrase after it
        if role in ("claim", "noun"):
            if chain:
                cause = _adjacent(chain[-1], piece)
                if cause is not None:
                    problems.append((cause, f"{chain[-1].text} {piece.text}"))
                elif chain_is_reference:
                    problems.append((Cause.UNPARSED_STRUCTURE, f"{chain[-1].text} {piece.text}"))
            elif previous not in ("start", "verb", "join", "hedge", "left"):
                problems.append((Cause.UNPARSED_STRUCTURE, piece.text))
            if role == "claim":
                claim = piece.entry.claim
                claims.append(claim)
                problems.extend(_claim_problems(piece))
                if previous == "join" and before_join is not None:
                    problem = _scope_problem(before_join, piece)
                    if problem is not None:
                        problems.append(problem)
                if piece.entry.strong or (previous == "join" and before_join is not None and _is_relative(claim)
                                          and before_join.entry.claim in strong):
                    strong.append(claim)  # "much darker and shinier": the degree reaches both
            chain.append(piece)
            previous = "claim"
            i += 1
            continue
        if role in ("instead", "not") and previous == "claim" and next_claim is not None and not chain_is_reference:
            said = [c for c in claims if c.kind == next_claim.kind]
            if role == "instead" and not _is_relative(next_claim):
                reference.append(next_claim)  # "green instead of orange": the shown shoe is orange
                problems.extend(_claim_problems(nxt))
            elif role == "not" and said and next_claim.kind in _EXCLUSIVE_KINDS and next_claim not in said:
                pass  # "are blue, not lavender": implied by the colour just said
            else:
                problems.append((Cause.UNPARSED_NEGATION if role == "not" else Cause.UNPARSED_STRUCTURE, piece.text))
            chain[:], chain_is_reference = [nxt], True
            i += 2
            continue
        if role == "left":
            problems.append((_left_over_cause(piece.text), piece.text))
        elif role in ("instead", "not"):
            problems.append((Cause.UNPARSED_NEGATION if role == "not" else Cause.UNPARSED_STRUCTURE, piece.text))
        elif role == "verb" and previous not in ("start", "join", "left"):
            problems.append((Cause.UNPARSED_STRUCTURE, piece.text))
        elif role == "join" and previous in ("start", "join", "verb", "hedge") and piece.text != "with":
            problems.append((Cause.UNPARSED_STRUCTURE, piece.text))
        elif role == "hedge" and previous not in ("start", "verb", "join"):
            problems.append((Cause.UNPARSED_STRUCTURE, piece.text))
        elif role == "same" and previous not in ("start", "verb"):
            problems.append((Cause.UNPARSED_STRUCTURE, piece.text))
        if role == "join" and previous == "claim" and not chain_is_reference:
            before_join = chain[-1] if chain and chain[-1].role == "claim" else None
        elif role != "join":
            before_join = None
        end_chain()
        chain_is_reference = False
        previous = role
        i += 1
    end_chain()
    if previous in ("join", "verb", "hedge", "instead", "not") and claims:
        problems.append((Cause.UNPARSED_STRUCTURE, pieces[-1].text))
    unique = tuple(dict.fromkeys(claims))
    problems.extend(_conflicts(unique))
    if unique and any(p.role == "same" for p in pieces):
        problems.append((Cause.UNPARSED_STRUCTURE, next(p.text for p in pieces if p.role == "same")))
    if not problems and not unique:
        problems.append((Cause.NO_CLAIM, ""))
    if problems:
        return CaptionMatch(text, (), problems=tuple(sorted(problems, key=lambda p: _PRIORITY[p[0]])))
    return CaptionMatch(text, unique, tuple(dict.fromkeys(strong)), tuple(dict.fromkeys(reference)))


def match_captions(texts: Iterable[str]) -> list[CaptionMatch]:
    """`match_caption` of each text, in order (a text said twice is matched once)."""
    memo: dict[str, CaptionMatch] = {}
    out = []
    for text in texts:
        if text not in memo:
            memo[text] = match_caption(text)
        out.append(memo[text])
    return out


class CaptionTruth(NamedTuple):
    """What usable captions say of (target, shown) pairs, as (M captions, B pairs) bool tables."""

    holds: np.ndarray
    """Every claim holds (a strong one with twice the gap) and every reference claim holds of the shown image."""
    informative: np.ndarray
    """It holds and states a difference: at least one claim is salient (the shown shoe clearly lacks it)."""


def caption_truth(matches: Sequence[CaptionMatch], params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                  attributes: np.ndarray | None = None) -> CaptionTruth:
    """Whether each usable caption is a true (and an informative) answer for each pair, by the grammar's truth
    (`claim_matrices`, computed once for the batch). `attributes` is the catalog's attribute table, if at hand."""
    for match in matches:
        if not match.usable:
            raise ValueError(f"caption {match.text!r} is not usable ({match.cause.value}); only usable captions hold")
    targets = np.asarray(targets, dtype=np.int64).reshape(-1)
    references = np.asarray(references, dtype=np.int64).reshape(-1)
    if len(targets) != len(references):
        raise ValueError(f"got {len(targets)} targets but {len(references)} references")
    holds, salient, doubled = claim_matrices(params, targets, references, attributes)
    shown = None
    if any(m.reference_claims for m in matches):
        shown, _, _ = claim_matrices(params, references, references, attributes)
    true = np.ones((len(matches), len(targets)), dtype=bool)
    informative = np.zeros_like(true)
    for m, match in enumerate(matches):
        for claim in match.claims:
            true[m] &= (doubled if claim in match.strong else holds)[:, CLAIM_INDEX[claim]]
            informative[m] |= salient[:, CLAIM_INDEX[claim]]
        for claim in match.reference_claims:
            true[m] &= shown[:, CLAIM_INDEX[claim]]
    return CaptionTruth(true, true & informative)
