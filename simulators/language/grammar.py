"""Relative captions from ground truth: what a shopper types after "Unlike the provided image, the one I want ...".

The grammar works in CLAIMS. A `Claim` is one checkable statement about a (target, reference)
pair: ("colour", "red"), ("heel_rel", "higher"), ("no", "laces"), ("category", "boots"). The
generator picks true and salient claims (`true_claims`), realises each with one of many phrasings
and joins them into a caption; `parse_claims` maps a caption back to claims with the same phrase
inventory, and `claim_holds` checks a claim against the parameters independently of the generator.
So every caption can be verified, and a neural captioner's output can be parsed and graded.

Claim kinds (values): colour (colour name), colour_rel (darker, lighter), heel_rel (higher, lower),
heel_shape (stiletto, block, wedge), toe (pointed, round, open, closed), toe_rel (more pointy,
less pointy), shaft (ankle, mid-calf, knee), shaft_rel (taller, shorter), straps_rel (more, fewer),
straps / laces / buckle / slip_on / shiny / fur / platform / open_back (True), finish (matte,
suede, leather, patent, metallic), finish_rel (more shiny, less shiny), ornament (bow, rhinestones,
studs), sole_rel (thicker, thinner), sole_colour (colour name), pattern (leopard, plaid, stripes,
floral, snakeskin), category (a category name), style_rel (more formal, more casual, more sporty,
less sporty, more feminine, less feminine: from the WhittleSearch attribute scores), and no (heel,
straps, laces, buckle, shiny, fur, ornament, pattern) for negations.

Absolute claims are true when the target has the property; they are *salient* when the reference
lacks it. Relative claims compare the two with gaps large enough to be unambiguous in the image.
The realisation's mixture (structure, number of claims, topics, length) is tuned so the corpus
matches the human figures of DESIGN.md section 6 (see `simulators.language.stats`).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from simulators.catalog.attributes import ATTRIBUTES, compute_attributes
from simulators.catalog.params import (
    CATEGORIES,
    COLOUR_NAMES,
    COLOURS,
    FINISHES,
    HEEL_SHAPES,
    ORNAMENTS,
    PATTERNS,
    SHAFT_HEIGHTS,
    TOE_SHAPES,
    ShoeParams,
    item,
)
from simulators.language.vocab import tokenize
from simulators.seeding import make_rng

HEEL_GAP_CM = 2.0
"""Heel heights must differ by this much for "higher"/"lower" (twice as much for "much higher")."""
LIGHTNESS_GAP = 0.15
"""Primary-colour lightness gap for "darker"/"lighter" (twice as much for "much darker")."""
PLATFORM_GAP_CM = 1.0
"""Sole (platform) thickness gap for "thicker"/"thinner sole"."""
PLATFORM_MIN_CM = 2.0
"""A sole at least this thick is "a platform"; the reference must be under PLATFORM_ABSENT_CM."""
PLATFORM_ABSENT_CM = 1.0
SHINE_GAP = 0.3
"""Gap in finish shine for "more shiny"/"less shiny" (twice as much for "much shinier")."""
SHINY_MIN, DULL_MAX, CLEARLY_SHINY = 0.85, 0.1, 0.45
STYLE_GAP = 0.2
"""Gap in a WhittleSearch style attribute (formal, sporty, feminine) for "more formal", "less sporty"."""
STYLE_ATTRIBUTES: dict[str, tuple[str, int]] = {
    "more formal": ("formal", 1), "more casual": ("formal", -1), "more sporty": ("sporty", 1),
    "less sporty": ("sporty", -1), "more feminine": ("feminine", 1), "less feminine": ("feminine", -1)}
"""Style claim -> (attribute, direction of the target's score relative to the reference's)."""
POINT_GAP = 0.5
"""Gap in toe pointiness for "pointier"/"less pointy"."""
SHAFT_GAP = 1
"""Shaft levels (none < ankle < mid-calf < knee) for "taller"/"shorter" (2 for "much taller")."""

FINISH_SHINE: dict[str, float] = {"matte": 0.1, "suede": 0.0, "leather": 0.45, "patent": 1.0, "metallic": 0.85}
TOE_POINTINESS: dict[str, float] = {"pointed": 1.0, "round": 0.2, "open": 0.35}

GRAMMAR_VERSION = 3
"""Bumped whenever the grammar's output for a given seed changes, so cached corpora are rebuilt."""

SAME_ITEM_PHRASE = "is exactly this one"
"""What the grammar says when the reference is the target itself (it carries no claim)."""

ARTICLES = frozenset({"a", "an", "the"})


@dataclass(frozen=True)
class Claim:
    """One checkable statement about the target relative to the reference, e.g. Claim("heel_rel", "higher")."""

    kind: str
    value: str | bool

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"

    @classmethod
    def from_str(cls, text: str) -> Claim:
        """Inverse of str(): "laces=True" -> Claim("laces", True)."""
        kind, _, value = text.partition("=")
        return cls(kind, True if value == "True" else value)


class Caption(NamedTuple):
    """A generated caption and the claims it makes, in the order they appear in the text."""

    text: str
    claims: tuple[Claim, ...]


# --------------------------------------------------------------------------------------------------
# The phrase inventory.  Markers: "s|" singular only (after "is"), "p|" plural only (after "are"),
# "!" only when the difference is large ("much darker").

@dataclass(frozen=True)
class _Spec:
    claim: Claim
    topic: str
    relative: bool = False
    adj: tuple[str, ...] = ()
    """Predicative phrases, used after "is"/"are": "darker", "open toed", "s|a wedge"."""
    np: tuple[str, ...] = ()
    """Noun phrases, used after "has"/"have" and in lists: "a higher heel", "no laces"."""
    pp: tuple[str, ...] = ()
    """Prepositional phrases that attach to anything: "with laces", "without a heel"."""
    mod: tuple[str, ...] = ()
    """Prenominal modifiers for outright descriptions: "tan", "suede", "ankle"."""
    weight: float = 1.0
    descriptive: bool = False
    """Worth saying in an outright description of the target alone ("boots with a bow")."""
    nouns: tuple[tuple[str, str], ...] = ()
    """(plural, singular) nouns of a category claim."""


def _with(*nps: str) -> tuple[str, ...]:
    """Prepositional phrases "with <np>" (keeping the "!" strong marker in front)."""
    return tuple("!with " + p[1:] if p.startswith("!") else "with " + p for p in nps)


def _build_specs() -> list[_Spec]:
    specs: list[_Spec] = []
    add = specs.append
    for c in COLOUR_NAMES:
        add(_Spec(Claim("colour", c), "colour",
                  adj=(c, f"{c} in color", f"{c} in colour", f"all {c}", f"{c} colored", f"a {c} color",
                       f"mostly {c}", f"{c} toned", f"a {c} shade"),
                  np=(f"a {c} color", f"a {c} colour", f"a {c} tone", f"a {c} shade"), mod=(c,)))
    for word in ("darker", "lighter"):
        add(_Spec(Claim("colour_rel", word), "colour", relative=True,
                  adj=(word, f"!much {word}", f"{word} in color", f"{word} in colour", f"a {word} color",
                       f"a {word} shade", f"!a lot {word}", f"slightly {word}", f"a bit {word}", f"a little {word}",
                       f"somewhat {word}", f"!way {word}", f"{word} toned", f"{word} overall"),
                  np=(f"a {word} color", f"a {word} colour", f"a {word} shade", f"!a much {word} color",
                      f"a {word} tone", f"a slightly {word} color")))
    add(_Spec(Claim("heel_rel", "higher"), "heel", relative=True,
              adj=("higher", "higher heeled", "!much higher", "!a lot higher", "a bit higher", "slightly higher"),
              np=("a higher heel", "higher heels", "!a much higher heel", "a heel that is higher", "more of a heel",
                  "a bigger heel", "a slightly higher heel", "!a way higher heel"),
              pp=_with("a higher heel", "higher heels", "!a much higher heel")))
    add(_Spec(Claim("heel_rel", "lower"), "heel", relative=True,
              adj=("lower", "lower heeled", "!much lower", "flatter", "a bit lower", "slightly lower"),
              np=("a lower heel", "lower heels", "a smaller heel", "!a much lower heel", "less of a heel",
                  "a flatter heel", "a slightly lower heel"),
              pp=_with("a lower heel", "lower heels", "a smaller heel")))
    heel_np = {"stiletto": ("a stiletto heel", "stiletto heels", "a thin heel", "a skinny heel",
                            "a thin stiletto heel", "a spike heel", "a pencil heel", "a needle heel"),
               "block": ("a block heel", "a chunky heel", "chunky heels", "a thick heel", "a wide heel",
                         "a stacked heel", "a sturdy heel", "a square heel"),
               "wedge": ("a wedge heel", "wedge heels", "a wedge")}
    heel_adj = {"stiletto": ("stiletto heeled",), "block": ("block heeled", "chunky heeled"),
                "wedge": ("s|a wedge", "p|wedges", "wedge heeled")}
    for shape in ("stiletto", "block", "wedge"):
        add(_Spec(Claim("heel_shape", shape), "heel", adj=heel_adj[shape], np=heel_np[shape],
                  pp=_with(*heel_np[shape]), descriptive=True))
    add(_Spec(Claim("no", "heel"), "heel", adj=("flat", "completely flat"), np=("no heel", "no heels"),
              pp=("without a heel", "with no heel")))
    toe_adj = {"pointed": ("pointy", "pointed", "pointy toed", "sharply pointed"),
               "round": ("round toed", "rounded", "rounded at the front"),
               "open": ("open toed", "open toe", "peep toe", "toeless", "open at the front"),
               "closed": ("closed toed", "closed toe", "closed at the front")}
    toe_np = {"pointed": ("a pointed toe", "a pointy toe", "pointy toes", "a sharp toe", "a pointed front"),
              "round": ("a round toe", "a rounded toe", "round toes", "a rounded front"),
              "open": ("an open toe", "open toes", "a peep toe", "exposed toes"),
              "closed": ("a closed toe", "closed toes", "a covered toe", "a closed front")}
    for toe in ("pointed", "round", "open", "closed"):
        add(_Spec(Claim("toe", toe), "toe", adj=toe_adj[toe], np=toe_np[toe], pp=_with(*toe_np[toe]),
                  descriptive=toe in ("pointed", "open"), weight=0.5 if toe == "closed" else 1.0))
    add(_Spec(Claim("toe_rel", "more pointy"), "toe", relative=True,
              adj=("pointier", "more pointy", "more pointed"), np=("a pointier toe", "a more pointed toe"),
              pp=_with("a pointier toe", "a more pointed toe")))
    add(_Spec(Claim("toe_rel", "less pointy"), "toe", relative=True,
              adj=("less pointy", "less pointed"), np=("a less pointy toe", "a less pointed toe"),
              pp=_with("a less pointy toe")))
    shaft = {"ankle": (("ankle high", "ankle length", "ankle height", "ankle-high", "up to the ankle"),
                       ("an ankle-high shaft", "an ankle length shaft"), ("ankle",)),
             "mid-calf": (("mid-calf", "calf length", "mid-calf length", "calf high", "up to mid-calf"),
                          ("a mid-calf shaft", "a calf length shaft"), ("mid-calf",)),
             "knee": (("knee-high", "knee high", "knee length", "up to the knee"),
                      ("a knee-high shaft", "a shaft up to the knee", "a knee length shaft"), ("knee-high",))}
    for level, (adj, nps, mod) in shaft.items():
        add(_Spec(Claim("shaft", level), "shaft_height", adj=adj, np=nps, pp=_with(*nps), mod=mod))
    for word, longer in (("taller", ("longer on the leg", "a longer shaft")), ("shorter", ())):
        add(_Spec(Claim("shaft_rel", word), "shaft_height", relative=True,
                  adj=(word, f"!much {word}", f"{word} on the leg", *longer[:1]),
                  np=(f"a {word} shaft", f"!a much {word} shaft", *longer[1:]), pp=_with(f"a {word} shaft")))
    add(_Spec(Claim("straps_rel", "more"), "strap_closure", relative=True,
              adj=("strappier", "more strappy", "more strapped"),
              np=("more straps", "an extra strap", "another strap", "more strapping"),
              pp=_with("more straps", "an extra strap", "another strap")))
    add(_Spec(Claim("straps_rel", "fewer"), "strap_closure", relative=True, adj=("less strappy",),
              np=("fewer straps", "less straps", "one strap less"), pp=_with("fewer straps")))
    add(_Spec(Claim("straps", True), "strap_closure", adj=("strappy", "strapped"),
              np=("a strap", "straps", "a strap across the foot", "a strap over the top"),
              pp=_with("a strap", "straps", "a strap across the foot"), descriptive=True))
    add(_Spec(Claim("no", "straps"), "strap_closure", adj=("strapless",),
              np=("no straps", "no strap", "no straps at all"),
              pp=("without straps", "without a strap", "with no straps")))
    add(_Spec(Claim("laces", True), "strap_closure", adj=("lace-up", "laced", "lace up", "laced up"),
              np=("laces", "shoelaces", "shoe laces", "shoestrings", "laces in front"),
              pp=_with("laces", "shoelaces", "shoestrings"), descriptive=True))
    add(_Spec(Claim("no", "laces"), "strap_closure", adj=("not lace-up",), np=("no laces",),
              pp=("without laces", "with no laces")))
    add(_Spec(Claim("buckle", True), "strap_closure", adj=("buckled",),
              np=("a buckle", "buckles", "a buckle closure", "a metal buckle", "a buckle on the side"),
              pp=_with("a buckle", "buckles", "a buckle closure", "a metal buckle"), descriptive=True))
    add(_Spec(Claim("no", "buckle"), "strap_closure", np=("no buckle", "no buckles"),
              pp=("without a buckle", "without buckles")))
    add(_Spec(Claim("slip_on", True), "strap_closure", adj=("slip-on", "slip on", "s|a slip-on", "p|slip-ons")))
    finish = {"matte": (("matte", "matte looking"), ("a matte finish", "a matte look", "a matte texture"), ("matte",)),
              "suede": (("suede", "made of suede", "suede like", "soft suede"),
                        ("a suede finish", "suede material", "a suede texture", "a fuzzy suede texture"), ("suede",)),
              "leather": (("leather", "made of leather", "smooth leather", "real leather"),
                          ("a leather finish", "leather material", "a smooth leather look"), ("leather",)),
              "patent": (("patent", "patent leather", "made of patent leather", "glossy patent"),
                         ("a patent finish", "a patent leather finish", "a patent look"), ("patent leather", "patent")),
              "metallic": (("metallic", "metallic looking", "shimmery", "foil like"),
                           ("a metallic finish", "a metallic look", "a metallic sheen", "a shimmery finish"),
                           ("metallic",))}
    for name, (adj, nps, mod) in finish.items():
        add(_Spec(Claim("finish", name), "material_finish", adj=adj, np=nps, pp=_with(*nps), mod=mod))
    add(_Spec(Claim("shiny", True), "material_finish", adj=("shiny", "glossy", "very shiny", "very glossy"),
              np=("a shiny finish", "a glossy finish", "a shiny look", "a high shine"),
              pp=_with("a shiny finish", "a glossy finish", "a high shine")))
    add(_Spec(Claim("no", "shiny"), "material_finish", adj=("not shiny", "not glossy", "dull", "dull looking"),
              np=("no shine", "no shine at all"), pp=("without shine", "without the shine", "without any shine")))
    add(_Spec(Claim("finish_rel", "more shiny"), "material_finish", relative=True,
              adj=("shinier", "more shiny", "more glossy", "glossier", "!much shinier", "shinier looking"),
              np=("a shinier finish", "more shine", "a glossier finish", "a glossier look"),
              pp=_with("a shinier finish", "more shine")))
    add(_Spec(Claim("finish_rel", "less shiny"), "material_finish", relative=True,
              adj=("less shiny", "duller", "less glossy", "more matte", "duller looking"),
              np=("a duller finish", "less shine", "a less shiny finish", "a more matte finish"),
              pp=_with("a duller finish", "less shine")))
    add(_Spec(Claim("fur", True), "material_finish", adj=("furry", "fur trimmed", "fur-trimmed", "fluffy"),
              np=("fur trim", "a fur trim", "fur", "fur lining", "a fur cuff", "faux fur", "fluffy trim"),
              pp=_with("fur trim", "fur", "a fur cuff", "faux fur"), descriptive=True))
    add(_Spec(Claim("no", "fur"), "material_finish", np=("no fur",), pp=("without fur", "without the fur")))
    ornament = {"bow": ((), ("a bow", "bows", "a bow on top", "a bow on the front", "a little bow", "a ribbon bow",
                              "a bow detail")),
                "rhinestones": (("jeweled", "bejeweled", "sparkly", "embellished with rhinestones"),
                                ("rhinestones", "rhinestone accents", "jewels", "sparkly accents", "jeweled accents",
                                 "crystals", "gems", "some bling")),
                "studs": (("studded", "spiked"), ("studs", "studded accents", "metal studs", "spikes", "metal spikes"))}
    for name, (adj, nps) in ornament.items():
        add(_Spec(Claim("ornament", name), "ornaments", adj=adj, np=nps, pp=_with(*nps), descriptive=True))
    add(_Spec(Claim("no", "ornament"), "ornaments", adj=("plain", "not embellished", "not decorated"),
              np=("no embellishments", "no decorations", "no accents", "no ornaments", "no details",
                  "no decoration at all"),
              pp=("without embellishments", "without decorations", "without any details")))
    add(_Spec(Claim("sole_rel", "thicker"), "sole", relative=True, adj=("thicker soled",),
              np=("a thicker sole", "thicker soles", "a chunkier sole", "a thicker platform", "a bigger platform",
                  "a heavier sole", "a bulkier sole", "a chunkier platform"),
              pp=_with("a thicker sole", "thicker soles", "a bigger platform")))
    add(_Spec(Claim("sole_rel", "thinner"), "sole", relative=True, adj=("thinner soled",),
              np=("a thinner sole", "thinner soles", "a slimmer sole", "a thinner platform", "a smaller platform",
                  "a less chunky sole", "a more delicate sole"),
              pp=_with("a thinner sole", "thinner soles", "a smaller platform")))
    add(_Spec(Claim("platform", True), "sole", adj=("s|a platform", "p|platforms"),
              np=("a platform", "a platform sole", "a thick sole", "a thick platform", "a platform bottom",
                  "a raised sole"),
              pp=_with("a platform", "a platform sole", "a thick sole"), descriptive=True))
    for c in COLOUR_NAMES:
        # The sole is named before its colour ("a sole in white", not "a white sole"): a left-to-right
        # captioner then picks the colour word knowing it describes the sole, not the upper.
        nps = (f"a sole in {c}", f"soles in {c}", f"a bottom in {c}", f"an outsole in {c}")
        add(_Spec(Claim("sole_colour", c), "sole", adj=(f"soled in {c}",), np=nps, pp=_with(*nps), weight=0.5,
                  descriptive=True))
    pattern = {"leopard": (("leopard", "leopard print", "leopard printed", "leopard spotted"),
                           ("a leopard print", "leopard spots", "a leopard pattern", "a spotted leopard print"),
                           ("leopard print",)),
               "plaid": (("plaid", "tartan", "checkered"),
                         ("a plaid pattern", "a plaid print", "a tartan pattern", "a checkered pattern"), ("plaid",)),
               "stripes": (("striped", "stripy", "pinstriped"),
                           ("stripes", "a striped pattern", "a stripe pattern", "bold stripes"), ("striped",)),
               "floral": (("floral", "flowery", "floral print", "flower printed"),
                          ("a floral print", "a floral pattern", "flowers", "a flower print", "a flower pattern"),
                          ("floral",)),
               "snakeskin": (("snakeskin", "snake print", "snakeskin textured", "reptile printed"),
                             ("a snakeskin print", "a snake print", "a snakeskin pattern", "a reptile print"),
                             ("snakeskin",))}
    for name, (adj, nps, mod) in pattern.items():
        add(_Spec(Claim("pattern", name), "pattern", adj=adj, np=nps, pp=_with(*nps), mod=mod, descriptive=True))
    add(_Spec(Claim("no", "pattern"), "pattern", adj=("not patterned", "solid colored", "not printed"),
              np=("no pattern", "no print", "no print at all", "a solid color"),
              pp=("without a print", "without a pattern", "without any pattern")))
    nouns = {"boots": (("boots", "boot"),), "rain boots": (("rain boots", "rain boot"),),
             "athletic shoes": (("athletic shoes", "athletic shoe"), ("running shoes", "running shoe")),
             "sneakers": (("sneakers", "sneaker"), ("tennis shoes", "tennis shoe")), "clogs": (("clogs", "clog"),),
             "flats": (("flats", "ballet flat"), ("ballet flats", "ballet flat"), ("ballerinas", "ballerina")),
             "pumps": (("pumps", "pump"), ("court shoes", "court shoe")),
             "high heels": (("high heels", "high heel"),), "stilettos": (("stilettos", "stiletto"),),
             "wedding shoes": (("wedding shoes", "wedding shoe"), ("bridal shoes", "bridal shoe"))}
    for cat in CATEGORIES:
        forms = nouns[cat]
        adj = tuple(f"p|{pl}" for pl, _ in forms) + tuple(dict.fromkeys(f"s|a {sg}" for _, sg in forms))
        add(_Spec(Claim("category", cat), "category", adj=adj, nouns=forms))
    style = {"more formal": (("more formal", "dressier", "more dressy", "more elegant", "!much more formal",
                              "classier", "fancier", "more professional", "more dressed up"),
                             ("a more formal look", "a dressier look", "a classier look", "a more elegant style")),
             "more casual": (("more casual", "less formal", "less dressy", "!much more casual", "more relaxed",
                              "more everyday", "less fancy"),
                             ("a more casual look", "a less formal look", "a more relaxed style")),
             "more sporty": (("more sporty", "sportier", "more sporty looking", "more active"),
                             ("a sportier look", "a more sporty look", "a sportier style")),
             "less sporty": (("less sporty", "less sporty looking"), ("a less sporty look", "a less sporty style")),
             "more feminine": (("more feminine", "more girly", "girlier", "more ladylike"),
                               ("a more feminine look", "a girlier look", "a more feminine style")),
             "less feminine": (("less feminine", "less girly", "more masculine", "more unisex"),
                               ("a less feminine look", "a more masculine style"))}
    for name, (adj, nps) in style.items():
        add(_Spec(Claim("style_rel", name), "style", relative=True, adj=adj, np=nps, pp=_with(*nps)))
    add(_Spec(Claim("open_back", True), "back", adj=("backless", "open-backed"),
              np=("a backless design", "no back"), pp=("with a backless design", "without a back"),
              weight=0.5, descriptive=True))
    return specs


_AN = re.compile(r"\ba ([aeiou])")


class _Phrase(NamedTuple):
    text: str
    words: int
    number: int  # 0 either, 1 singular only, 2 plural only
    strong: bool


def _phrases(raw: Sequence[str]) -> tuple[_Phrase, ...]:
    out = []
    for p in raw:
        strong = p.startswith("!")
        p = p.lstrip("!")
        number = {"s|": 1, "p|": 2}.get(p[:2], 0)
        if number:
            p = p[2:]
        p = _AN.sub(r"an \1", p)
        out.append(_Phrase(p, len(tokenize(p)), number, strong))
    return tuple(out)


SPECS: tuple[_Spec, ...] = tuple(_build_specs())
CLAIMS: tuple[Claim, ...] = tuple(s.claim for s in SPECS)
"""Every claim the grammar can make, in the column order of `claim_matrices`."""
CLAIM_INDEX: dict[Claim, int] = {c: i for i, c in enumerate(CLAIMS)}
TOPICS: tuple[str, ...] = ("colour", "heel", "strap_closure", "material_finish", "toe", "shaft_height", "ornaments",
                           "sole", "pattern", "category", "style", "back")
_ADJ = tuple(_phrases(s.adj) for s in SPECS)
_NP = tuple(_phrases(s.np) for s in SPECS)
_PP = tuple(_phrases(s.pp) for s in SPECS)
_MOD = tuple(_phrases(s.mod) for s in SPECS)
_NOUNS = tuple(tuple((_phrases((pl,))[0], _phrases((sg,))[0]) for pl, sg in s.nouns) for s in SPECS)
_TOPIC_OF = tuple(TOPICS.index(s.topic) for s in SPECS)
_IS_RELATIVE = tuple(s.relative for s in SPECS)
_NEGATION = tuple(s.claim.kind == "no" for s in SPECS)


def _key(text: str) -> tuple[str, ...]:
    return tuple(w for w in tokenize(text) if w not in ARTICLES)


def _build_inventory() -> dict[tuple[str, ...], Claim]:
    inventory: dict[tuple[str, ...], Claim] = {}
    for i, spec in enumerate(SPECS):
        texts = [p.text for group in (_ADJ[i], _NP[i], _PP[i], _MOD[i]) for p in group]
        texts += [p.text for pair in _NOUNS[i] for p in pair]
        for text in texts:
            key = _key(text)
            if key and key[0] in ("with", "and"):
                key = key[1:]
            if not key:
                continue
            if inventory.get(key, spec.claim) != spec.claim:
                raise ValueError(f"phrase {' '.join(key)!r} is ambiguous: {inventory[key]} or {spec.claim}")
            inventory[key] = spec.claim
    return inventory


PHRASE_INVENTORY: dict[tuple[str, ...], Claim] = _build_inventory()
"""Token sequence (articles removed) -> the claim it expresses; the parser's whole knowledge."""
_MAX_PHRASE = max(len(k) for k in PHRASE_INVENTORY)
GRAMMAR_WORDS: frozenset[str] = frozenset(
    {w for key in PHRASE_INVENTORY for w in key} | {w for group in (_ADJ, _NP, _PP, _MOD) for spec in group
                                                     for p in spec for w in tokenize(p.text)}
    | {"is", "are", "has", "have", "looks", "and", "with", "a", "an", *tokenize(SAME_ITEM_PHRASE)})
"""Every word the grammar can write (for a vocabulary that covers phrasings a small corpus missed)."""


def parse_claims(text: str) -> list[Claim]:
    """Claims stated in `text`, by greedy longest match against the grammar's phrase inventory.

    Words outside the inventory ("much", "and", "is") are skipped, so the parser also reads
    captions it did not write, such as a neural captioner's output.
    """
    words = [w for w in tokenize(text) if w not in ARTICLES]
    claims: list[Claim] = []
    i = 0
    while i < len(words):
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            claim = PHRASE_INVENTORY.get(tuple(words[i:i + n]))
            if claim is not None:
                claims.append(claim)
                i += n
                break
        else:
            i += 1
    return claims


# --------------------------------------------------------------------------------------------------
# Truth: vectorised for the generator, and an independent scalar check.

_LIGHTNESS = np.array([c.lightness for c in COLOURS])
_SHINE = np.array([FINISH_SHINE[f] for f in FINISHES])
_POINT = np.array([TOE_POINTINESS[t] for t in TOE_SHAPES])
_CODE = {name: {v: i for i, v in enumerate(vocab)} for name, vocab in (
    ("heel_shape", HEEL_SHAPES), ("toe_shape", TOE_SHAPES), ("shaft_height", SHAFT_HEIGHTS),
    ("ornament", ORNAMENTS), ("pattern", PATTERNS), ("finish", FINISHES), ("category", CATEGORIES))}


def _features(params: ShoeParams, ids: np.ndarray, styles: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The columns the claims read, for items `ids`; `styles` is an optional precomputed (N, 10) attribute table."""
    f = {name: params[name][ids].astype(np.int64) for name in (
        "category", "primary_colour", "accent_colour", "heel_shape", "toe_shape", "shaft_height", "strap_count",
        "ornament", "pattern", "finish")}
    for name in ("laces", "buckle", "fur_trim", "open_back"):
        f[name] = params[name][ids].astype(bool)
    f["heel"] = params["heel_height"][ids].astype(np.float64)
    f["platform"] = params["platform"][ids].astype(np.float64)
    f["light"] = _LIGHTNESS[f["primary_colour"]]
    f["shine"] = _SHINE[f["finish"]]
    f["point"] = _POINT[f["toe_shape"]]
    scores = styles[ids] if styles is not None else compute_attributes({k: v[ids] for k, v in params.items()})
    for name in ("formal", "sporty", "feminine"):
        f[name] = scores[:, ATTRIBUTES.index(name)].astype(np.float64)
    return f


def _onehot(codes: np.ndarray, values: Sequence[int]) -> np.ndarray:
    return codes[:, None] == np.asarray(values)


def _col(x: np.ndarray) -> np.ndarray:
    return x[:, None]


_C = _CODE
# Absolute claims in blocks: (claims, holds(f) -> (n, len(claims)), clearly absent(f) or None for "not holds").
_ABSOLUTE_BLOCKS: tuple = (
    ([Claim("colour", c) for c in COLOUR_NAMES], lambda f: _onehot(f["primary_colour"], range(len(COLOURS))), None),
    ([Claim("sole_colour", c) for c in COLOUR_NAMES], lambda f: _onehot(f["accent_colour"], range(len(COLOURS))),
     None),
    ([Claim("heel_shape", h) for h in ("stiletto", "block", "wedge", )] + [Claim("no", "heel")],
     lambda f: _onehot(f["heel_shape"], [_C["heel_shape"][h] for h in ("stiletto", "block", "wedge", "flat")]), None),
    ([Claim("toe", t) for t in ("pointed", "round", "open", "closed")],
     lambda f: np.concatenate([_onehot(f["toe_shape"], [_C["toe_shape"][t] for t in ("pointed", "round", "open")]),
                               _col(f["toe_shape"] != _C["toe_shape"]["open"])], axis=1), None),
    ([Claim("shaft", s) for s in ("ankle", "mid-calf", "knee")],
     lambda f: _onehot(f["shaft_height"], [_C["shaft_height"][s] for s in ("ankle", "mid-calf", "knee")]), None),
    ([Claim("straps", True), Claim("no", "straps"), Claim("laces", True), Claim("no", "laces"), Claim("buckle", True),
      Claim("no", "buckle"), Claim("slip_on", True), Claim("fur", True), Claim("no", "fur"), Claim("open_back", True)],
     lambda f: np.stack([f["strap_count"] > 0, f["strap_count"] == 0, f["laces"], ~f["laces"], f["buckle"],
                         ~f["buckle"], (f["strap_count"] == 0) & ~f["laces"] & ~f["buckle"], f["fur_trim"],
                         ~f["fur_trim"], f["open_back"]], axis=1), None),
    ([Claim("finish", n) for n in FINISHES], lambda f: _onehot(f["finish"], range(len(FINISHES))), None),
    ([Claim("shiny", True), Claim("no", "shiny")],
     lambda f: np.stack([f["shine"] >= SHINY_MIN, f["shine"] <= DULL_MAX], axis=1),
     lambda f: np.stack([f["shine"] <= CLEARLY_SHINY, f["shine"] >= CLEARLY_SHINY], axis=1)),
    ([Claim("ornament", o) for o in ("bow", "rhinestones", "studs")] + [Claim("no", "ornament")],
     lambda f: _onehot(f["ornament"], [_C["ornament"][o] for o in ("bow", "rhinestones", "studs", "none")]), None),
    ([Claim("platform", True)], lambda f: _col(f["platform"] >= PLATFORM_MIN_CM),
     lambda f: _col(f["platform"] < PLATFORM_ABSENT_CM)),
    ([Claim("pattern", n) for n in ("leopard", "plaid", "stripes", "floral", "snakeskin")] + [Claim("no", "pattern")],
     lambda f: _onehot(f["pattern"], [_C["pattern"][n] for n in ("leopard", "plaid", "stripes", "floral", "snakeskin",
                                                                 "solid")]), None),
    ([Claim("category", c) for c in CATEGORIES], lambda f: _onehot(f["category"], range(len(CATEGORIES))), None),
)
# Relative claims: (claim, feature, sign, threshold): holds when sign * (target - reference) >= threshold.
_RELATIVE_SPECS: tuple[tuple[Claim, str, int, float], ...] = (
    (Claim("colour_rel", "darker"), "light", -1, LIGHTNESS_GAP),
    (Claim("colour_rel", "lighter"), "light", 1, LIGHTNESS_GAP),
    (Claim("heel_rel", "higher"), "heel", 1, HEEL_GAP_CM),
    (Claim("heel_rel", "lower"), "heel", -1, HEEL_GAP_CM),
    (Claim("toe_rel", "more pointy"), "point", 1, POINT_GAP),
    (Claim("toe_rel", "less pointy"), "point", -1, POINT_GAP),
    (Claim("shaft_rel", "taller"), "shaft_height", 1, SHAFT_GAP),
    (Claim("shaft_rel", "shorter"), "shaft_height", -1, SHAFT_GAP),
    (Claim("straps_rel", "more"), "strap_count", 1, 1),
    (Claim("straps_rel", "fewer"), "strap_count", -1, 1),
    (Claim("finish_rel", "more shiny"), "shine", 1, SHINE_GAP),
    (Claim("finish_rel", "less shiny"), "shine", -1, SHINE_GAP),
    (Claim("sole_rel", "thicker"), "platform", 1, PLATFORM_GAP_CM),
    (Claim("sole_rel", "thinner"), "platform", -1, PLATFORM_GAP_CM),
    *((Claim("style_rel", v), name, sign, STYLE_GAP) for v, (name, sign) in STYLE_ATTRIBUTES.items()),
)
_ABSOLUTE_CLAIMS = [c for claims, _, _ in _ABSOLUTE_BLOCKS for c in claims]
if sorted(map(str, _ABSOLUTE_CLAIMS + [c for c, *_ in _RELATIVE_SPECS])) != sorted(map(str, CLAIMS)):
    raise AssertionError("the truth tables and the phrase inventory disagree on the set of claims")
_ABSOLUTE_COLUMNS = np.array([CLAIM_INDEX[c] for c in _ABSOLUTE_CLAIMS])
_RELATIVE_COLUMNS = np.array([CLAIM_INDEX[c] for c, *_ in _RELATIVE_SPECS])
_RELATIVE_SIGN = np.array([sign for _, _, sign, _ in _RELATIVE_SPECS], dtype=np.float64)
_RELATIVE_GAP = np.array([gap for *_, gap in _RELATIVE_SPECS], dtype=np.float64) - 1e-6
_RELATIVE_FEATURES = sorted({name for _, name, _, _ in _RELATIVE_SPECS})
_RELATIVE_FEATURE_INDEX = np.array([_RELATIVE_FEATURES.index(name) for _, name, _, _ in _RELATIVE_SPECS])


def claim_matrices(params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                   attributes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(holds, salient, strong), each (B, len(CLAIMS)) bool, columns in the order of CLAIMS.

    holds: the claim is true of the pair; salient: true and worth saying (an absolute claim whose
    property the reference clearly lacks, or a relative claim); strong: a relative claim whose gap
    is at least twice its threshold (licenses "much darker"). `attributes` is the catalog's
    precomputed (N, 10) attribute table, if at hand (saves recomputing the style scores).
    """
    targets = np.asarray(targets, dtype=np.int64).reshape(-1)
    references = np.asarray(references, dtype=np.int64).reshape(-1)
    b = len(targets)
    f = _features(params, np.concatenate([targets, references]), attributes)  # rows: targets, then references
    blocks = [(fn(f), absent) for _, fn, absent in _ABSOLUTE_BLOCKS]
    abs_holds = np.concatenate([h for h, _ in blocks], axis=1)
    abs_absent = np.concatenate([~h if absent is None else absent(f) for h, absent in blocks], axis=1)
    values = np.stack([f[name].astype(np.float64) for name in _RELATIVE_FEATURES], axis=1)[:, _RELATIVE_FEATURE_INDEX]
    diff = _RELATIVE_SIGN * (values[:b] - values[b:])
    holds = np.zeros((b, len(CLAIMS)), dtype=bool)
    salient = np.zeros_like(holds)
    strong = np.zeros_like(holds)
    holds[:, _ABSOLUTE_COLUMNS] = abs_holds[:b]
    salient[:, _ABSOLUTE_COLUMNS] = abs_holds[:b] & abs_absent[b:]
    holds[:, _RELATIVE_COLUMNS] = diff >= _RELATIVE_GAP
    salient[:, _RELATIVE_COLUMNS] = holds[:, _RELATIVE_COLUMNS]
    strong[:, _RELATIVE_COLUMNS] = diff >= 2 * _RELATIVE_GAP
    return holds, salient, strong


def true_claims(params: ShoeParams, target: int, reference: int) -> list[Claim]:
    """Every true and salient claim about `target` relative to `reference`, in the order of CLAIMS."""
    _, salient, _ = claim_matrices(params, np.array([target]), np.array([reference]))
    return [CLAIMS[j] for j in np.flatnonzero(salient[0])]


def _directed(gap: float, value: object, up: str, down: str, threshold: float) -> bool:
    """A relative claim's check: `up` needs target - reference >= threshold, `down` <= -threshold."""
    if value == up:
        return gap >= threshold - 1e-9
    if value == down:
        return gap <= -threshold + 1e-9
    return False


def claim_holds(claim: Claim, params: ShoeParams, target: int, reference: int) -> bool:
    """Whether `claim` is true of the pair, checked directly on the readable parameters.

    Absolute claims are checked on the target alone; relative claims against their thresholds.
    Written separately from `claim_matrices` so that each checks the other. Unknown claims are false.
    """
    t, r = item(params, target), item(params, reference)
    kind, value = claim.kind, claim.value

    def light(row: dict) -> float:
        return next(c.lightness for c in COLOURS if c.name == row["primary_colour"])

    def shaft_level(row: dict) -> int:
        return SHAFT_HEIGHTS.index(row["shaft_height"])

    if kind == "colour":
        return t["primary_colour"] == value
    if kind == "sole_colour":
        return t["accent_colour"] == value
    if kind == "colour_rel":
        return _directed(light(t) - light(r), value, "lighter", "darker", LIGHTNESS_GAP)
    if kind == "heel_rel":
        return _directed(float(t["heel_height"]) - float(r["heel_height"]), value, "higher", "lower", HEEL_GAP_CM)
    if kind == "heel_shape":
        return value != "flat" and t["heel_shape"] == value
    if kind == "toe":
        return t["toe_shape"] != "open" if value == "closed" else t["toe_shape"] == value
    if kind == "toe_rel":
        gap = TOE_POINTINESS[t["toe_shape"]] - TOE_POINTINESS[r["toe_shape"]]
        return _directed(gap, value, "more pointy", "less pointy", POINT_GAP)
    if kind == "shaft":
        return value != "none" and t["shaft_height"] == value
    if kind == "shaft_rel":
        return _directed(shaft_level(t) - shaft_level(r), value, "taller", "shorter", SHAFT_GAP)
    if kind == "straps_rel":
        return _directed(int(t["strap_count"]) - int(r["strap_count"]), value, "more", "fewer", 1)
    if kind == "straps":
        return value is True and int(t["strap_count"]) > 0
    if kind in ("laces", "buckle"):
        return value is True and bool(t[kind])
    if kind == "fur":
        return value is True and bool(t["fur_trim"])
    if kind == "open_back":
        return value is True and bool(t["open_back"])
    if kind == "slip_on":
        return value is True and int(t["strap_count"]) == 0 and not t["laces"] and not t["buckle"]
    if kind == "finish":
        return t["finish"] == value
    if kind == "shiny":
        return value is True and FINISH_SHINE[t["finish"]] >= SHINY_MIN
    if kind == "finish_rel":
        gap = FINISH_SHINE[t["finish"]] - FINISH_SHINE[r["finish"]]
        return _directed(gap, value, "more shiny", "less shiny", SHINE_GAP)
    if kind == "ornament":
        return value != "none" and t["ornament"] == value
    if kind == "sole_rel":
        return _directed(float(t["platform"]) - float(r["platform"]), value, "thicker", "thinner", PLATFORM_GAP_CM)
    if kind == "platform":
        return value is True and float(t["platform"]) >= PLATFORM_MIN_CM
    if kind == "pattern":
        return value != "solid" and t["pattern"] == value
    if kind == "category":
        return t["category"] == value
    if kind == "style_rel" and value in STYLE_ATTRIBUTES:
        name, sign = STYLE_ATTRIBUTES[str(value)]
        pair = np.array([target, reference])
        scores = compute_attributes({column: params[column][pair] for column in params})[:, ATTRIBUTES.index(name)]
        return sign * (float(scores[0]) - float(scores[1])) >= STYLE_GAP - 1e-6
    if kind == "no":
        absent = {"heel": t["heel_shape"] == "flat", "straps": int(t["strap_count"]) == 0, "laces": not t["laces"],
                  "buckle": not t["buckle"], "shiny": FINISH_SHINE[t["finish"]] <= DULL_MAX,
                  "fur": not t["fur_trim"], "ornament": t["ornament"] == "none", "pattern": t["pattern"] == "solid"}
        return bool(absent.get(str(value), False))
    return False


# --------------------------------------------------------------------------------------------------
# Realisation.

_STRUCTURES = ("are", "is", "have", "has", "other")


@dataclass(frozen=True)
class GrammarConfig:
    """The mixture the generator samples from; tuned so the corpus matches DESIGN.md section 6."""

    structure_weights: tuple[float, ...] = (0.356, 0.275, 0.16, 0.144, 0.065)
    """Caption opening: "are", "is" (adjectives), "have", "has" (noun phrases), other (fragments)."""
    claim_count_weights: tuple[float, ...] = (0.366, 0.476, 0.159)
    """How many claims a relative caption makes: 1, 2 or 3."""
    topic_weights: dict[str, float] = field(default_factory=lambda: {
        "colour": 3.377, "heel": 2.017, "strap_closure": 1.026, "material_finish": 0.756,
        "toe": 2.09, "shaft_height": 2.63, "ornaments": 1.156, "sole": 0.185, "pattern": 0.705,
        "category": 1.0, "style": 2.516, "back": 0.3})
    """How readily each topic is chosen among the topics the pair differs in."""
    relative_weight: float = 0.325
    """Weight of a comparative claim against an absolute one within a topic."""
    negation_weight: float = 0.447
    """Weight of a negation ("no laces") against other claims within a topic."""
    length_weights: tuple[float, ...] = (0.034, 0.8076, 0.313, 0.4781, 1.0, 0.6492, 0.2427, 0.0599, 0.0136,
                                         0.0014, 0.00005, 0.00003, 0.00002)
    """Tilt towards each caption length 1..13 words (longer captions are never chosen)."""
    outright_length_weights: tuple[float, ...] = (0.0, 0.05, 0.2, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01, 0.0,
                                                  0.0, 0.0)
    """The same tilt for outright descriptions in relative rows."""
    single_length_weights: tuple[float, ...] = (0.0, 0.0, 0.05, 0.15, 0.2, 0.2, 0.17, 0.12, 0.07, 0.04, 0.0, 0.0,
                                                0.0)
    """The same tilt for single-image captions."""
    outright_different_category: float = 0.7
    """Chance of describing the target outright when the reference is another category."""
    outright_same_category: float = 0.08
    """Same chance when the pair shares a category but differs in at least `outright_min_topics` topics."""
    outright_min_topics: int = 5
    comma_weight: float = 0.35
    """Joiner weights: ", red", " and red", " with laces", " and has laces" (the last only at the end)."""
    and_weight: float = 1.0
    with_weight: float = 0.9
    and_verb_weight: float = 0.45


class _Draws:
    """Uniform numbers from one numpy generator, drawn in blocks (one rng call per 64 numbers)."""

    __slots__ = ("rng", "buf", "pos")

    def __init__(self, rng: np.random.Generator):
        self.rng, self.buf, self.pos = rng, [], 0

    def u(self) -> float:
        if self.pos >= len(self.buf):
            self.buf, self.pos = self.rng.random(64).tolist(), 0
        self.pos += 1
        return self.buf[self.pos - 1]

    def take(self, k: int) -> list[float]:
        """The next k numbers (the same numbers k calls of u() would give)."""
        if self.pos + k > len(self.buf):
            self.buf, self.pos = self.buf[self.pos:] + self.rng.random(64).tolist(), 0
        self.pos += k
        return self.buf[self.pos - k:self.pos]

    def pick(self, weights: Sequence[float]) -> int:
        """Index drawn with probability proportional to `weights` (which must not all be zero)."""
        x = self.u() * sum(weights)
        for i, w in enumerate(weights):
            x -= w
            if x < 0 and w > 0:
                return i
        return max(i for i, w in enumerate(weights) if w > 0)


class _Option(NamedTuple):
    text: str
    words: int
    weight: float
    claims: tuple[Claim, ...]


class _Slot(NamedTuple):
    """A slot's options: flat with running weights for proposals, and grouped by length in words
    for the exact pass."""

    lengths: tuple[int, ...]
    totals: tuple[float, ...]
    """Summed weight of the options of each length."""
    options: tuple[tuple[_Option, ...], ...]
    weights: tuple[tuple[float, ...], ...]
    flat: tuple[_Option, ...]
    cumulative: tuple[float, ...]
    """Running sum over `flat` of weight * tilt ** words."""
    tilt: float
    shortest: int

    def propose(self, u: float) -> _Option:
        """The option a uniform number u in [0, 1) picks, in proportion to weight * tilt ** words."""
        return self.flat[bisect.bisect_right(self.cumulative, u * self.cumulative[-1], 0, len(self.flat) - 1)]

    def materialise(self) -> _Slot:
        return self


class _Union(NamedTuple):
    """The options of several cached slots as one slot, without building it (for combinations too
    many to cache): a part is drawn in proportion to its total, then an option within it."""

    parts: tuple[_Slot, ...]
    cumulative: tuple[float, ...]
    tilt: float
    shortest: int

    @classmethod
    def of(cls, parts: Sequence[_Slot]) -> _Union:
        return cls(tuple(parts), tuple(itertools.accumulate(p.cumulative[-1] for p in parts)), parts[0].tilt,
                   min(p.shortest for p in parts))

    def propose(self, u: float) -> _Option:
        c = self.cumulative
        x = u * c[-1]
        i = bisect.bisect_right(c, x, 0, len(c) - 1)
        low = c[i - 1] if i else 0.0
        return self.parts[i].propose((x - low) / (c[i] - low))  # the rest of u is uniform within part i

    def materialise(self) -> _Slot:
        return _slot([o for p in self.parts for o in p.flat], self.tilt)


def _slot(options: Sequence[_Option], tilt: float) -> _Slot:
    """A slot of the options with positive weight, proposed under `tilt` (see `_sample_slots`)."""
    groups: dict[int, list[_Option]] = {}
    for o in options:
        if o.weight > 0:
            groups.setdefault(o.words, []).append(o)
    lengths = tuple(sorted(groups))
    flat = tuple(o for n in lengths for o in groups[n])
    return _Slot(lengths, tuple(sum(o.weight for o in groups[n]) for n in lengths),
                 tuple(tuple(groups[n]) for n in lengths), tuple(tuple(o.weight for o in groups[n]) for n in lengths),
                 flat, tuple(itertools.accumulate(o.weight * tilt ** o.words for o in flat)), tilt, lengths[0])


_RELATIVE_TILT, _OUTRIGHT_TILT = 0.6, 0.7
"""Proposal tilts of the slots of relative captions and of outright descriptions: chosen for speed
(fewest rejected proposals under the default length weights); they do not change what is sampled."""
_REJECTION_TRIES = 64
"""Proposals `_sample_slots` makes before it falls back to the exact pass (which also covers the case
where no length the slots can make has any weight)."""


def _acceptance(length_weights: tuple[float, ...], tilt: float) -> tuple[float, ...]:
    """Chance of keeping a proposal of n words (index n - 1) under `tilt`: length_weights[n] / tilt ** n,
    scaled so the largest is 1."""
    key = (length_weights, tilt)
    table = _ACCEPTANCE.get(key)
    if table is None:
        ratios = [w / tilt ** n for n, w in enumerate(length_weights, start=1)]
        top = max(ratios)
        table = _ACCEPTANCE[key] = tuple(r / top if top > 0 else 0.0 for r in ratios)
    return table


_ACCEPTANCE: dict[tuple[tuple[float, ...], float], tuple[float, ...]] = {}


def _sample_slots(slots: Sequence[_Slot | _Union], length_weights: tuple[float, ...],
                  draws: _Draws) -> list[_Option]:
    """One option per slot, a combination drawn with probability proportional to the product of its
    options' weights times `length_weights` of its total length in words (1-based).

    Rejection sampling: each slot's option is proposed in proportion to its weight times
    tilt ** (its words), and the whole combination of n words kept with probability proportional
    to length_weights[n] / tilt ** n, which leaves exactly the distribution above. The slots' common
    tilt changes only the speed: below 1 it favours short proposals, for length weights that favour
    short captions. Usually a few proposals, each one uniform number per slot, against a pass over
    every reachable length (the exact fallback).
    """
    tilt = slots[0].tilt
    if any(s.tilt != tilt for s in slots):
        raise ValueError("slots sampled together must share one proposal tilt")
    accept = _acceptance(length_weights, tilt)
    limit, k = len(accept), len(slots)
    possible = sum([s.shortest for s in slots]) <= limit and any(accept)  # else only the fallback's rule applies
    for _ in range(_REJECTION_TRIES if possible else 0):
        us = draws.take(k + 1)
        chosen = [s.propose(u) for s, u in zip(slots, us, strict=False)]  # us has one more, for the acceptance
        n = sum([o.words for o in chosen])
        if 0 < n <= limit and us[k] < accept[n - 1]:
            return chosen
    return _sample_slots_exact([s.materialise() for s in slots], length_weights, draws)


def _sample_slots_exact(slots: Sequence[_Slot], length_weights: Sequence[float], draws: _Draws) -> list[_Option]:
    """`_sample_slots` by a forward pass over the reachable lengths and a backward draw; when no
    reachable length has any weight, lengths near 5 words are preferred instead."""
    masses = [{0: 1.0}]
    for slot in slots:
        nxt: dict[int, float] = {}
        for total, mass in masses[-1].items():
            for n, w in zip(slot.lengths, slot.totals, strict=True):
                nxt[total + n] = nxt.get(total + n, 0.0) + mass * w
        masses.append(nxt)
    totals = list(masses[-1])
    weights = [masses[-1][n] * (length_weights[n - 1] if 0 < n <= len(length_weights) else 0.0) for n in totals]
    if not any(weights):
        weights = [masses[-1][n] / (1 + abs(n - 5)) for n in totals]
    remaining = totals[draws.pick(weights)]
    chosen: list[_Option] = []
    for i in range(len(slots) - 1, -1, -1):
        slot, before = slots[i], masses[i]
        g = draws.pick([w * before.get(remaining - n, 0.0) for n, w in zip(slot.lengths, slot.totals, strict=True)])
        o = slot.options[g][draws.pick(slot.weights[g])]
        chosen.append(o)
        remaining -= o.words
    return chosen[::-1]


def _row_lists(mask: np.ndarray) -> list[list[int]]:
    """The column indices of the True entries of each row of a (B, C) bool matrix, as Python lists."""
    rows, cols = np.nonzero(mask)
    bounds = np.searchsorted(rows, np.arange(len(mask) + 1)).tolist()
    flat = cols.tolist()
    return [flat[bounds[b]:bounds[b + 1]] for b in range(len(mask))]


def _article(text: str) -> str:
    return "an" if text[:1] in "aeiou" else "a"


class CaptionGrammar:
    """Relative captions for batches of (target, reference) pairs; seeded, never false.

    >>> g = CaptionGrammar(seed=0)
    >>> g.describe(params, np.array([3]), np.array([7]))  # doctest: +SKIP
    ['are red with a higher heel']
    """

    def __init__(self, seed: int = 0, config: GrammarConfig | None = None):
        self.config = config or GrammarConfig()
        self.rng = make_rng(seed, "language", "grammar")
        cfg = self.config
        self._claim_weight = [
            s.weight * (cfg.relative_weight if s.relative else 1.0) * (cfg.negation_weight if _NEGATION[i] else 1.0)
            for i, s in enumerate(SPECS)]
        self._topic_weight = [cfg.topic_weights.get(t, 1.0) for t in TOPICS]
        self._attribute_cache: tuple[ShoeParams, np.ndarray] | None = None
        self._slot_cache: dict[tuple, Any] = {}

    def _attributes(self, params: ShoeParams) -> np.ndarray:
        """The attribute table of `params`, computed once per parameter table this grammar is used with."""
        if self._attribute_cache is None or self._attribute_cache[0] is not params:
            self._attribute_cache = (params, compute_attributes(params))
        return self._attribute_cache[1]

    # -- public batch API -------------------------------------------------------------------------

    def describe(self, params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                 rng: np.random.Generator | None = None,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        """Caption text for each pair (see describe_with_claims for the randomness arguments)."""
        return [c.text for c in self.describe_with_claims(params, targets, references, rng, rngs)]

    def describe_with_claims(self, params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                             rng: np.random.Generator | None = None,
                             rngs: Sequence[np.random.Generator] | None = None) -> list[Caption]:
        """Caption and claims for each pair. Randomness: `rngs` (one generator per row, so a row's
        caption depends only on its own generator), else `rng`, else the grammar's own generator."""
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        references = np.asarray(references, dtype=np.int64).reshape(-1)
        if len(targets) != len(references):
            raise ValueError(f"got {len(targets)} targets but {len(references)} references")
        if rngs is not None and len(rngs) != len(targets):
            raise ValueError(f"got {len(rngs)} generators for {len(targets)} pairs")
        if len(targets) == 0:
            return []
        holds, salient, strong = claim_matrices(params, targets, references, self._attributes(params))
        same_category = (params["category"][targets] == params["category"][references]).tolist()
        same_item = (targets == references).tolist()
        true, avail, strong_rows = _row_lists(holds), _row_lists(salient), _row_lists(strong)
        shared = None if rngs is not None else _Draws(rng if rng is not None else self.rng)
        out = []
        for b in range(len(targets)):
            draws = _Draws(rngs[b]) if rngs is not None else shared
            if same_item[b]:
                out.append(Caption(SAME_ITEM_PHRASE, ()))
                continue
            out.append(self._relative(draws, true[b], avail[b], strong_rows[b], same_category[b]))
        return out

    def describe_single(self, params: ShoeParams, targets: np.ndarray,
                        rng: np.random.Generator | None = None) -> list[Caption]:
        """Outright descriptions of each target alone ("are tan suede ankle boots with a bow").

        Only absolute claims are used, so the caption is true against any reference.
        """
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        holds, _, _ = claim_matrices(params, targets, targets, self._attributes(params))
        draws = _Draws(rng if rng is not None else self.rng)
        return [self._outright(draws, true, [j for j in true if not _IS_RELATIVE[j]],
                               self.config.single_length_weights, single=True) for true in _row_lists(holds)]

    # -- one caption ------------------------------------------------------------------------------

    def _relative(self, draws: _Draws, true: list[int], avail: list[int], strong: list[int],
                  same_category: bool) -> Caption:
        """One relative caption from the pair's true claims, its salient ones (`avail`) and its
        strong ones (all indices into CLAIMS)."""
        cfg = self.config
        by_topic: dict[int, list[int]] = {}
        for j in avail:
            by_topic.setdefault(_TOPIC_OF[j], []).append(j)
        if not avail:
            return self._outright(draws, true, [j for j in true if not _IS_RELATIVE[j]],
                                  cfg.outright_length_weights, single=False)
        p_outright = (cfg.outright_different_category if not same_category
                      else cfg.outright_same_category if len(by_topic) >= cfg.outright_min_topics else 0.0)
        if p_outright and draws.u() < p_outright:
            caption = self._outright(draws, true, avail, cfg.outright_length_weights, single=False)
            if any(CLAIM_INDEX[c] in avail for c in caption.claims):
                return caption
        k_weights = cfg.claim_count_weights[: len(by_topic)]
        k = 1 + draws.pick(k_weights)
        topics = list(by_topic)
        chosen: list[int] = []
        for _ in range(k):
            t = topics.pop(draws.pick([self._topic_weight[t] for t in topics]))
            members = by_topic[t]
            chosen.append(members[draws.pick([self._claim_weight[j] for j in members])])
        structure = _STRUCTURES[draws.pick(cfg.structure_weights)]
        return self._realise(draws, chosen, structure, strong)

    def _usable(self, phrases: tuple[_Phrase, ...], strong: bool, number: int = 0) -> list[_Phrase]:
        return [p for p in phrases if (strong or not p.strong) and (not number or p.number in (0, number))]

    def _head_slot(self, j: int, family: str, number: int, verb: str, strong: bool) -> _Slot | None:
        """The caption's opening: `verb` and a phrasing of claim j in `family` ("adj", "np" or "pp")."""
        key = ("head", j, family, number, verb, strong)
        if key not in self._slot_cache:
            phrases = self._usable({"adj": _ADJ, "np": _NP, "pp": _PP}[family][j], strong, number)
            opts = [_Option(verb + p.text, len(verb.split()) + p.words, 1.0, (CLAIMS[j],)) for p in phrases]
            self._slot_cache[key] = _slot(opts, _RELATIVE_TILT) if opts else None
        return self._slot_cache[key]

    def _tail_slot(self, j: int, family: str, number: int, last: bool, strong: bool) -> _Slot | None:
        """Claim j joined to a caption opened in `family`: ", x", " and x", " with x", " and has x" (last only)."""
        key = ("tail", j, family, number, last, strong)
        if key not in self._slot_cache:
            cfg, claim = self.config, (CLAIMS[j],)
            cop, pos = ("is", "has") if number == 1 else ("are", "have")
            comma = cfg.comma_weight * (0.2 if last else 2.0)
            same, other = (_ADJ, _NP) if family == "adj" else (_NP, _ADJ)
            opts: list[_Option] = []
            for p in self._usable(same[j], strong, number if family == "adj" else 0):
                opts.append(_Option(", " + p.text, p.words, comma, claim))
                opts.append(_Option(" and " + p.text, p.words + 1, cfg.and_weight, claim))
            if last and family in ("adj", "np"):
                verb = pos if family == "adj" else cop
                for p in self._usable(other[j], strong, number if family == "np" else 0):
                    opts.append(_Option(f" and {verb} " + p.text, p.words + 2, cfg.and_verb_weight, claim))
            for p in self._usable(_PP[j], strong):
                opts.append(_Option(" " + p.text, p.words, cfg.with_weight * (1.0 if family == "adj" else 0.3), claim))
            self._slot_cache[key] = _slot(_spread(opts), _RELATIVE_TILT) if opts else None
        return self._slot_cache[key]

    def _realise(self, draws: _Draws, chosen: list[int], structure: str, strong: list[int]) -> Caption:
        fragment = structure == "other"
        if fragment:
            structure = ("are", "have", "with", "looks")[draws.pick((0.45, 0.3, 0.15, 0.1))]
        family = {"are": "adj", "is": "adj", "looks": "adj", "have": "np", "has": "np", "with": "pp"}[structure]
        number = 1 if structure in ("is", "has", "looks") else 2
        verb = "" if fragment and structure in ("are", "have", "with") else structure + " "
        heads = [j for j in chosen if self._head_slot(j, family, number, verb, j in strong)]
        for fallback in (("is", "adj"), ("has", "np")) if not heads else ():
            structure, family = fallback[0] if number == 1 else {"is": "are", "has": "have"}[fallback[0]], fallback[1]
            verb = structure + " "
            heads = [j for j in chosen if self._head_slot(j, family, number, verb, j in strong)]
            if heads:
                break
        if not heads:
            raise AssertionError(f"claims {[str(CLAIMS[j]) for j in chosen]} have no usable phrasing")
        first = heads[draws.pick([1.0] * len(heads))]
        rest = [j for j in chosen if j != first]
        middle = [j for j in rest if self._tail_slot(j, family, number, False, j in strong)]
        order = [first, *middle, *[j for j in rest if j not in middle][:1]]
        slots = [self._head_slot(first, family, number, verb, first in strong)]
        for i, j in enumerate(order[1:], start=2):
            slot = self._tail_slot(j, family, number, i == len(order), j in strong)
            if slot is not None:
                slots.append(slot)
        options = _sample_slots(slots, self.config.length_weights, draws)
        return Caption("".join(o.text for o in options), tuple(c for o in options for c in o.claims))

    def _cached_slot(self, key: tuple, options: Any) -> _Slot:
        """The outright-description slot made of `options()`, built once per key."""
        slot = self._slot_cache.get(key)
        if slot is None:
            slot = self._slot_cache[key] = _slot(options(), _OUTRIGHT_TILT)
        return slot

    def _pp_slot(self, extras: tuple[int, ...]) -> _Union:
        """An outright description's optional trailing phrase: nothing, or one of `extras` as
        " with ..." (each claim's phrasings sharing weight 1)."""
        def phrases(j: int) -> list[_Option]:
            usable = [p for p in _PP[j] if not p.strong]
            return [_Option(" " + p.text, p.words, 1.0 / len(usable), (CLAIMS[j],)) for p in usable]

        none = self._cached_slot(("pp-none", len(extras)), lambda: [_Option("", 0, len(extras) / 1.2 or 1.0, ())])
        return _Union.of([none, *(self._cached_slot(("pp", j), lambda j=j: phrases(j)) for j in extras)])

    def _mod_slot(self, j: int, skip_weight: float, weight: float) -> _Slot:
        """An optional prenominal modifier of claim j ("tan", "suede", "ankle")."""
        return self._cached_slot(("mod", j, skip_weight, weight), lambda: [
            _Option("", 0, skip_weight, ()), *(_Option(p.text + " ", p.words, weight / len(_MOD[j]), (CLAIMS[j],))
                                               for p in _MOD[j])])

    def _outright(self, draws: _Draws, true: list[int], avail: list[int], length_weights: Sequence[float],
                  single: bool) -> Caption:
        """ "are tan suede ankle boots [with a bow]": colour, material or pattern, shaft, category noun, one PP.

        `true` lists the claims true of the target, `avail` those that may be added as a trailing phrase."""
        kinds = {CLAIMS[j].kind: j for j in true if CLAIMS[j].kind in ("category", "colour", "pattern", "finish",
                                                                        "shaft")}
        cat, colour = kinds["category"], kinds["colour"]
        plural = draws.u() < 0.8
        material = kinds.get("pattern", kinds.get("finish"))
        shaft = kinds.get("shaft") if CLAIMS[cat].value in ("boots", "rain boots") else None
        slots = [self._cached_slot(("opening", plural), lambda: [
                     _Option("are " if plural else "is a ", 1 if plural else 2, 1.0, ())]),
                 self._mod_slot(colour, 1.0, 2.0)]
        if material is not None:
            slots.append(self._mod_slot(material, 1.5, 1.0))
        if shaft is not None:
            slots.append(self._mod_slot(shaft, 0.6, len(_MOD[shaft])))
        slots.append(self._cached_slot(("noun", cat, plural), lambda: [
            _Option(n.text, n.words, 1.0 / len(_NOUNS[cat]), (CLAIMS[cat],))
            for n in (pair[0] if plural else pair[1] for pair in _NOUNS[cat])]))
        used_topics = {_TOPIC_OF[j] for j in (cat, colour, material, shaft) if j is not None}
        extras = tuple(j for j in avail if _TOPIC_OF[j] not in used_topics and _PP[j]
                       and (SPECS[j].descriptive or (SPECS[j].relative and not single)))
        slots.append(self._pp_slot(extras))
        options = _sample_slots(slots, length_weights, draws)
        text = "".join(o.text for o in options)
        if not plural:
            rest = text[len("is a "):]
            text = f"is {_article(rest)} {rest}"
        return Caption(text, tuple(c for o in options for c in o.claims))


def _spread(options: list[_Option]) -> list[_Option]:
    """Share each joiner's weight among its phrasings, so a claim with many phrasings is not favoured."""
    count: dict[str, int] = {}
    for o in options:
        count[_joiner(o.text)] = count.get(_joiner(o.text), 0) + 1
    return [o._replace(weight=o.weight / count[_joiner(o.text)]) for o in options]


def _joiner(text: str) -> str:
    """The joining words in front of a slot's phrase (", ", " and ", " and has ", " with ", ...)."""
    if text.startswith(", "):
        return ","
    parts = text.split()
    if parts and parts[0] == "and":
        return "and " + parts[1] if len(parts) > 1 and parts[1] in ("is", "are", "has", "have") else "and"
    return parts[0] if parts else ""
