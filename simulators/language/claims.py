"""Claims: checkable statements about a (target, reference) pair, their phrasings, and their truth.

A `Claim` is one checkable statement about a pair: ("colour", "red"), ("heel_rel", "higher"),
("no", "laces"), ("category", "boots"). `SPECS` lists every claim with its topic and its phrasings;
`claim_matrices` and `true_claims` say which claims are true and salient for a pair; `parse_claims`
maps a caption back to claims with the phrase inventory, and `claim_holds` checks a claim against
the parameters independently of `claim_matrices`. The sampling grammar (`simulators.language.grammar`)
writes captions from these claims, so every caption can be verified, and a neural captioner's
output can be parsed and graded.

Claim kinds (values): colour (colour name), colour_rel (darker, lighter), heel_rel (higher, lower),
heel_shape (stiletto, block, wedge), toe (pointed, round, open, closed), toe_rel (more pointy,
less pointy), shaft (ankle, mid-calf, knee), shaft_rel (taller, shorter), straps_rel (more, fewer),
straps / laces / buckle / slip_on / shiny / fur / platform / open_back (True), finish (matte,
suede, leather, patent, metallic), finish_rel (more shiny, less shiny), ornament (bow, rhinestones,
studs), sole_rel (thicker, thinner), sole_colour (colour name), pattern (leopard, plaid, stripes,
floral, snakeskin), category (a category name), style_rel (more formal, more casual, more sporty,
less sporty, more feminine, less feminine: from the WhittleSearch attribute scores), and no (heel,
straps, laces, buckle, shiny, fur, ornament, pattern, two_tone) for negations. World v2 added
two_tone, stitching, logo, lug_sole, velcro, animal_print (True), closure (zipper, elastic),
heel_material (cork, clear, wooden), style (a style of `SUBTYPES`: "cowboy boots", "slingbacks"),
and the comparatives colour_rel (brighter, paler), heel_width_rel (wider, narrower), toe_rel
(rounder), detail_rel (busier, plainer), texture_rel (more textured, smoother) and open_rel
(more open, more covered).

Absolute claims are true when the target has the property; they are *salient* when the reference
lacks it. Relative claims compare the two with gaps large enough to be unambiguous in the image.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from simulators.catalog.attributes import ATTRIBUTES, compute_attributes
from simulators.catalog.params import (
    CATEGORIES,
    CLOSURES,
    COLOUR_NAMES,
    COLOURS,
    FINISH_SHINE,
    FINISHES,
    HEEL_MATERIALS,
    HEEL_SHAPES,
    HEEL_WIDTH,
    ORNAMENTS,
    PATTERNS,
    SHAFT_HEIGHTS,
    SUBTYPES,
    TEXTURED_FINISHES,
    TEXTURED_PATTERNS,
    TOE_POINTINESS,
    TOE_SHAPES,
    ShoeParams,
    item,
    subtypes,
)
from simulators.language.vocab import tokenize

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

SATURATION_GAP = 0.35
"""Primary-colour saturation gap for "brighter"/"paler" (more or less colourful)."""
ANIMAL_PATTERNS = ("leopard", "zebra", "snakeskin", "croc")
"""Patterns that are "an animal print"."""

GRAMMAR_VERSION = 4
"""Bumped whenever the grammar's output for a given seed changes (a phrasing or claim here, or the sampling in
`simulators.language.grammar`), so cached corpora and vocabularies are rebuilt."""

SAME_ITEM_PHRASE = "is exactly this one"

HEDGES: tuple[str, ...] = ("the same but", "identical but", "similar but", "essentially the same but",
                           "basically the same but", "almost identical but", "exactly the same but", "just",
                           "the same only")
"""What may stand between "is"/"are" and a caption's first phrase: "are the same but darker"."""
PP_HEDGES: tuple[str, ...] = ("identical except", "the same except", "the same but", "similar but", "same but")
"""What may open a fragment before its "with" phrase: "identical except with laces"."""
INSTEAD: tuple[str, ...] = ("instead of", "rather than")
"""Joiners that introduce what the reference has ("are red instead of black"); the parser skips that phrase."""
WANT: tuple[str, ...] = ("i want them", "i want it")
"""Fragment openings: "i want them darker" (plural), "i want it darker" (singular)."""
"""What the grammar says when the reference is the target itself (it carries no claim)."""

ARTICLES = frozenset({"a", "an", "the"})

SUBTYPE_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "sandals": (("sandals", "sandal"), ("strappy sandals", "strappy sandal")),
    "gladiator sandals": (("gladiator sandals", "gladiator sandal"), ("gladiators", "gladiator")),
    "slingbacks": (("slingbacks", "slingback"), ("sling backs", "sling back"), ("slingback shoes", "slingback shoe")),
    "mules": (("mules", "mule"),),
    "slides": (("slides", "slide"), ("slide sandals", "slide sandal")),
    "mary janes": (("mary janes", "mary jane"), ("mary jane shoes", "mary jane shoe")),
    "loafers": (("loafers", "loafer"), ("moccasins", "moccasin")),
    "oxfords": (("oxfords", "oxford"), ("oxford shoes", "oxford shoe")),
    "cowboy boots": (("cowboy boots", "cowboy boot"), ("western boots", "western boot")),
    "chelsea boots": (("chelsea boots", "chelsea boot"),),
    "combat boots": (("combat boots", "combat boot"), ("hiking boots", "hiking boot"), ("work boots", "work boot")),
    "booties": (("booties", "bootie"),),
    "high-tops": (("high-tops", "high-top"), ("high tops", "high top"), ("high-top sneakers", "high-top sneaker")),
}
"""(plural, singular) nouns of each style in `SUBTYPES`."""


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


# --------------------------------------------------------------------------------------------------
# The phrase inventory.  Markers: "s|" singular only (after "is"), "p|" plural only (after "are"),
# "!" only when the difference is large ("much darker").

@dataclass(frozen=True)
class _Spec:
    """A claim, its topic and its phrasings, as written (with the markers above)."""

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
    neg: tuple[str, ...] = ()
    """For a negation: what the target lacks, as the object of "does not have" ("laces", "a heel")."""


def _with(*nps: str) -> tuple[str, ...]:
    """Prepositional phrases "with <np>" (keeping a "!" or "~" marker in front)."""
    return tuple(p[0] + "with " + p[1:] if p[:1] in "!~" else "with " + p for p in nps)


SHADES: dict[str, tuple[str, ...]] = {
    "black": ("jet black", "pitch black"),
    "white": ("bright white", "pure white", "snow white"),
    "gray": ("grey", "dark gray", "dark grey", "charcoal", "slate gray", "light gray", "light grey"),
    "brown": ("dark brown", "chocolate", "chocolate brown", "mahogany", "reddish brown", "russet", "brick brown"),
    "tan": ("light brown", "camel", "caramel", "cognac", "warm tan"),
    "red": ("bright red", "cherry red", "scarlet", "fire engine red"),
    "pink": ("light pink", "pale pink", "baby pink", "rose", "rose pink", "blush pink"),
    "purple": ("dark purple", "deep purple", "plum", "violet", "eggplant"),
    "blue": ("bright blue", "royal blue", "cobalt", "cobalt blue", "electric blue"),
    "green": ("bright green", "kelly green", "emerald", "emerald green", "lime green", "grass green"),
    "yellow": ("bright yellow", "lemon yellow", "canary yellow", "sunny yellow"),
    "orange": ("bright orange", "burnt orange", "tangerine", "rust orange"),
    "silver": ("silvery", "pewter", "metallic silver"),
    "gold": ("golden", "metallic gold", "champagne"),
    "navy": ("navy blue", "dark blue", "midnight blue", "deep blue"),
    "burgundy": ("maroon", "wine", "wine colored", "dark red", "deep red", "oxblood"),
    "teal": ("turquoise", "aqua", "blue green", "teal blue"),
    "olive": ("olive green", "khaki", "army green", "dark green"),
    "beige": ("taupe", "nude", "sand colored", "light beige", "neutral beige"),
    "cream": ("ivory", "off-white", "off white", "eggshell", "bone colored"),
    "lilac": ("lavender", "light purple", "pale purple", "mauve", "pastel purple"),
    "fuchsia": ("hot pink", "bright pink", "magenta", "neon pink"),
    "coral": ("peach", "salmon", "coral pink", "peachy"),
    "light blue": ("sky blue", "baby blue", "pale blue", "powder blue"),
    "bronze": ("copper", "metallic bronze", "coppery"),
}
"""Other names people give each palette colour ("navy blue", "maroon", "ivory"): said less often than the name."""


def _build_specs() -> list[_Spec]:
    specs: list[_Spec] = []
    add = specs.append
    for c in COLOUR_NAMES:
        shades = SHADES.get(c, ())
        add(_Spec(Claim("colour", c), "colour",
                  adj=(c, f"{c} in color", f"{c} in colour", f"all {c}", f"{c} colored", f"a {c} color",
                       f"mostly {c}", f"{c} toned", f"a {c} shade", f"~{c} on the upper",
                       *(f"~{x}" for x in shades), *(f"~{x} colored" for x in shades if not x.endswith("colored"))),
                  np=(f"a {c} color", f"a {c} colour", f"a {c} tone", f"a {c} shade", f"~a {c} upper",
                      f"~{c} uppers", f"~a {c} hue", *(f"~a {x} color" for x in shades),
                      *(f"~{x} uppers" for x in shades)),
                  mod=(c, *(f"~{x}" for x in shades))))
    for word in ("darker", "lighter"):
        add(_Spec(Claim("colour_rel", word), "colour", relative=True,
                  adj=(word, f"!much {word}", f"{word} in color", f"{word} in colour", f"a {word} color",
                       f"a {word} shade", f"!a lot {word}", f"slightly {word}", f"a bit {word}", f"a little {word}",
                       f"somewhat {word}", f"!way {word}", f"{word} toned", f"{word} overall", f"~{word} colored",
                       f"~{word} in tone", f"~a {word} hue"),
                  np=(f"a {word} color", f"a {word} colour", f"a {word} shade", f"!a much {word} color",
                      f"a {word} tone", f"a slightly {word} color", f"~a {word} hue", f"~{word} uppers",
                      f"~a {word} upper", f"~{word} colors")))
    for word, synonyms, nps in (
            ("brighter", ("more colorful", "more vibrant", "more vivid", "bolder", "brighter colored", "more saturated",
                          "more eye catching"),
             ("a brighter color", "a more vivid color", "a bolder color", "brighter colors", "more color")),
            ("paler", ("more muted", "less colorful", "more neutral", "more subdued", "less bright", "paler colored",
                       "more washed out"),
             ("a paler color", "a more muted color", "a more neutral color", "paler colors", "a softer color"))):
        add(_Spec(Claim("colour_rel", word), "colour", relative=True, adj=(word, f"!much {word}", *synonyms),
                  np=nps, pp=_with(*nps[:3])))
    add(_Spec(Claim("two_tone", True), "colour",
              adj=("two-tone", "two-toned", "two tone", "color blocked", "multi-colored", "multicolored",
                   "two colored", "contrast colored", "~multi colored", "~in two shades"),
              np=("two colors", "two tones", "a contrasting panel", "contrasting panels", "contrast panels",
                  "a panel in a contrasting color", "contrasting colors", "different colored panels",
                  "a contrast back", "contrasting sides", "an accent color", "accent panels", "~a two-tone design",
                  "~contrasting edging", "contrasting trim", "contrast trim",
                  "~a colored trim"),
              pp=_with("two colors", "a contrasting panel", "contrasting panels", "contrast panels", "accent panels"),
              descriptive=True))
    add(_Spec(Claim("no", "two_tone"), "colour", weight=0.5,
              adj=("all one color", "one color", "monochromatic", "a single color", "uniform in color"),
              np=("one color", "a single color", "no contrasting panels", "one uniform color"),
              pp=("without contrasting panels", "in a single color", "in one color")))
    add(_Spec(Claim("heel_rel", "higher"), "heel", relative=True,
              adj=("higher", "higher heeled", "!much higher", "!a lot higher", "a bit higher", "slightly higher"),
              np=("a higher heel", "higher heels", "!a much higher heel", "a heel that is higher", "more of a heel",
                  "~a large heel",
                  "a bigger heel", "a slightly higher heel", "!a way higher heel"),
              pp=_with("a higher heel", "higher heels", "!a much higher heel")))
    add(_Spec(Claim("heel_rel", "lower"), "heel", relative=True,
              adj=("lower", "lower heeled", "!much lower", "flatter", "a bit lower", "slightly lower"),
              np=("a lower heel", "lower heels", "a smaller heel", "~a low heel", "~a small heel",
                  "!a much lower heel", "less of a heel",
                  "a flatter heel", "a slightly lower heel"),
              pp=_with("a lower heel", "lower heels", "a smaller heel")))
    heel_np = {"stiletto": ("a stiletto heel", "stiletto heels", "a thin heel", "a skinny heel",
                            "a thin stiletto heel", "a spike heel", "a pencil heel", "a needle heel"),
               "block": ("a block heel", "a chunky heel", "chunky heels", "a thick heel", "a wide heel",
                         "a stacked heel", "a sturdy heel", "a square heel"),
               "wedge": ("a wedge heel", "wedge heels", "a wedge")}
    heel_adj = {"stiletto": ("stiletto heeled",), "block": ("block heeled", "chunky heeled"),
                "wedge": ("s|a wedge", "p|wedges", "wedge heeled", "wedge-heeled", "wedged")}
    for shape in ("stiletto", "block", "wedge"):
        add(_Spec(Claim("heel_shape", shape), "heel", adj=heel_adj[shape], np=heel_np[shape],
                  pp=_with(*heel_np[shape]), descriptive=True))
    materials = {"cork": (("cork", "cork soled"), ("a cork heel", "a cork wedge", "a cork sole", "cork",
                                                   "a cork platform",
                                                  "a cork bottom")),
                 "clear": (("clear heeled", "lucite heeled"), ("a clear heel", "a lucite heel", "a transparent heel",
                                                                "a see-through heel", "a clear plastic heel",
                                                                "clear heels", "a plastic heel")),
                 "wooden": (("wooden", "wood heeled"), ("a wooden heel", "a wood heel", "a wooden sole",
                                                        "a wooden base", "a wood grain heel", "wooden heels"))}
    for name, (adj, nps) in materials.items():
        add(_Spec(Claim("heel_material", name), "heel", adj=adj, np=nps, pp=_with(*nps), mod=(adj[0],),
                  descriptive=True))
    add(_Spec(Claim("heel_width_rel", "wider"), "heel", relative=True,
              adj=("sturdier", "chunkier heeled", "wider heeled", "thicker heeled"),
              np=("a wider heel", "a thicker heel", "a chunkier heel", "a sturdier heel", "a more solid heel",
                  "a heavier heel", "wider heels", "thicker heels", "a larger heel base"),
              pp=_with("a wider heel", "a thicker heel", "a chunkier heel", "a sturdier heel")))
    add(_Spec(Claim("heel_width_rel", "narrower"), "heel", relative=True,
              adj=("narrower heeled", "thinner heeled", "more delicate", "daintier"),
              np=("a narrower heel", "a thinner heel", "a skinnier heel", "a slimmer heel", "a more delicate heel",
                  "a sleeker heel", "narrower heels", "thinner heels", "a more slender heel"),
              pp=_with("a narrower heel", "a thinner heel", "a skinnier heel", "a slimmer heel")))
    add(_Spec(Claim("no", "heel"), "heel", adj=("flat", "completely flat"), np=("no heel", "no heels"),
              pp=("without a heel", "with no heel"), neg=("a heel", "heels", "any heel")))
    toe_adj = {"pointed": ("pointy", "pointed", "pointy toed", "sharply pointed", "pointed-toe", "~pointy at the tip"),
               "round": ("round toed", "rounded", "rounded at the front", "round-toed", "~round at the tip"),
               "open": ("open toed", "open toe", "peep toe", "toeless", "open at the front", "open-toed",
                        "open-toe", "peep-toe"),
               "closed": ("closed toed", "closed toe", "closed at the front", "closed-toe", "closed-toed",
                          "~enclosed at the toe")}
    toe_np = {"pointed": ("a pointed toe", "a pointy toe", "pointy toes", "a sharp toe", "a pointed front",
                          "a pointy tip", "a pointed tip", "~a narrow pointed toe"),
              "round": ("a round toe", "a rounded toe", "round toes", "a rounded front", "a rounded tip",
                        "a round tip", "~a rounded toe cap"),
              "open": ("an open toe", "open toes", "a peep toe", "exposed toes", "an opening at the toe",
                       "~a toe opening"),
              "closed": ("a closed toe", "closed toes", "a covered toe", "a closed front", "an enclosed toe",
                         "~a toe cap")}
    for toe in ("pointed", "round", "open", "closed"):
        add(_Spec(Claim("toe", toe), "toe", adj=toe_adj[toe], np=toe_np[toe], pp=_with(*toe_np[toe]),
                  descriptive=toe in ("pointed", "open"), weight=0.5 if toe == "closed" else 1.0))
    add(_Spec(Claim("toe_rel", "more pointy"), "toe", relative=True,
              adj=("pointier", "more pointy", "more pointed", "~pointer"), np=("a pointier toe", "a more pointed toe"),
              pp=_with("a pointier toe", "a more pointed toe")))
    add(_Spec(Claim("toe_rel", "rounder"), "toe", relative=True,
              adj=("rounder", "more rounded", "rounder toed", "blunter", "rounder at the front"),
              np=("a rounder toe", "a more rounded toe", "a rounder front", "a blunter toe", "a rounder tip",
                  "a wider toe"),
              pp=_with("a rounder toe", "a more rounded toe", "a rounder tip")))
    add(_Spec(Claim("toe_rel", "less pointy"), "toe", relative=True,
              adj=("less pointy", "less pointed"), np=("a less pointy toe", "a less pointed toe"),
              pp=_with("a less pointy toe")))
    shaft = {"ankle": (("ankle high", "ankle length", "ankle height", "ankle-high", "up to the ankle"),
                       ("an ankle-high shaft", "an ankle length shaft"), ("ankle",)),
             "mid-calf": (("mid-calf", "calf length", "mid-calf length", "calf high", "up to mid-calf"),
                          ("a mid-calf shaft", "a calf length shaft"), ("mid-calf",)),
             "knee": (("knee-high", "knee high", "knee length", "up to the knee", "~tall"),
                      ("a knee-high shaft", "a shaft up to the knee", "a knee length shaft", "~a tall shaft"),
                      ("knee-high",))}
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
              np=("a strap", "straps", "a strap across the foot", "a strap over the top", "a strap across the instep",
                  "~a strap across the middle", "~a band across the foot",
                  "~crisscrossing straps", "~crisscross straps",
                  "~a strap around the foot", "~bands across the foot"),
              pp=_with("a strap", "straps", "a strap across the foot"), descriptive=True))
    add(_Spec(Claim("no", "straps"), "strap_closure", adj=("strapless",),
              np=("no straps", "no strap", "no straps at all"),
              pp=("without straps", "without a strap", "with no straps"), neg=("straps", "a strap", "any straps")))
    add(_Spec(Claim("laces", True), "strap_closure", adj=("lace-up", "laced", "lace up", "laced up", "~tied"),
              np=("laces", "shoelaces", "shoe laces", "shoestrings", "laces in front", "lacing", "~lacing up the front",
                  "~eyelets and laces", "~a lace-up front"),
              pp=_with("laces", "shoelaces", "shoestrings"), descriptive=True))
    add(_Spec(Claim("no", "laces"), "strap_closure", adj=("not lace-up",), np=("no laces",),
              pp=("without laces", "with no laces"), neg=("laces", "shoelaces", "any laces")))
    add(_Spec(Claim("buckle", True), "strap_closure", adj=("buckled",),
              np=("a buckle", "buckles", "a buckle closure", "a metal buckle", "a buckle on the side"),
              pp=_with("a buckle", "buckles", "a buckle closure", "a metal buckle"), descriptive=True))
    add(_Spec(Claim("no", "buckle"), "strap_closure", np=("no buckle", "no buckles"),
              pp=("without a buckle", "without buckles"), neg=("a buckle", "buckles")))
    add(_Spec(Claim("slip_on", True), "strap_closure", adj=("slip-on", "slip on", "s|a slip-on", "p|slip-ons",
                                                            "p|slip ons")))
    add(_Spec(Claim("velcro", True), "strap_closure", adj=("velcro", "velcro strapped"),
              np=("velcro", "velcro straps", "a velcro strap", "a velcro closure", "velcro closures",
                  "hook and loop straps"),
              pp=_with("velcro", "velcro straps", "a velcro closure"), descriptive=True))
    closure = {"zipper": (("zippered", "zip-up", "zip up", "zipped"),
                          ("a zipper", "a zip", "a side zipper", "zippers", "a zip closure", "a zipper up the side",
                           "a long zipper", "a zip down the side")),
               "elastic": (("elasticized", "stretchy"),
                           ("elastic", "elastic panels", "an elastic panel", "elastic sides", "elastic side panels",
                            "stretchy side panels", "an elastic gore"))}
    for name, (adj, nps) in closure.items():
        add(_Spec(Claim("closure", name), "strap_closure", adj=adj, np=nps, pp=_with(*nps), descriptive=True))
    finish = {"matte": (("matte", "matte looking"), ("a matte finish", "a matte look", "a matte texture"), ("matte",)),
              "suede": (("suede", "made of suede", "suede like", "soft suede"),
                        ("a suede finish", "suede material", "a suede texture", "a fuzzy suede texture"), ("suede",)),
              "leather": (("leather", "made of leather", "smooth leather", "real leather"),
                          ("a leather finish", "leather material", "a smooth leather look"), ("leather",)),
              "patent": (("patent", "patent leather", "made of patent leather", "glossy patent"),
                         ("a patent finish", "a patent leather finish", "a patent look"), ("patent leather", "patent")),
              "metallic": (("metallic", "metallic looking", "shimmery", "foil like"),
                           ("a metallic finish", "a metallic look", "a metallic sheen", "a shimmery finish"),
                           ("metallic",)),
              "canvas": (("canvas", "made of canvas", "woven", "fabric"),
                         ("a canvas upper", "canvas material", "a woven fabric", "a fabric upper", "a canvas finish"),
                         ("canvas",)),
              "mesh": (("mesh", "made of mesh", "breathable", "airy", "perforated"),
                       ("a mesh upper", "mesh material", "mesh panels", "a breathable mesh", "vents", "air holes",
                        "perforations"),
                       ("mesh",)),
              "satin": (("satin", "made of satin", "silky", "satiny"),
                        ("a satin finish", "satin material", "a silky finish", "a satin look", "a soft sheen"),
                        ("satin",)),
              "rubber": (("rubber", "rubbery", "made of rubber", "rubberized", "waterproof"),
                         ("a rubber finish", "rubber material", "a rubbery look", "a waterproof finish",
                          "a rubber upper"),
                         ("rubber",)),
              "glitter": (("glittery", "glitter", "sequined", "sparkling", "glittering", "blingy"),
                          ("glitter", "sequins", "a glitter finish", "a sparkly glitter finish", "glitter all over",
                           "sparkles"),
                          ("glitter", "sequined"))}
    for name, (adj, nps, mod) in finish.items():
        add(_Spec(Claim("finish", name), "material_finish", adj=adj, np=nps, pp=_with(*nps), mod=mod))
    add(_Spec(Claim("shiny", True), "material_finish", adj=("shiny", "glossy", "very shiny", "very glossy"),
              np=("a shiny finish", "a glossy finish", "a shiny look", "a high shine"),
              pp=_with("a shiny finish", "a glossy finish", "a high shine")))
    add(_Spec(Claim("no", "shiny"), "material_finish", adj=("not shiny", "not glossy", "dull", "dull looking"),
              np=("no shine", "no shine at all"), pp=("without shine", "without the shine", "without any shine")))
    add(_Spec(Claim("finish_rel", "more shiny"), "material_finish", relative=True,
              adj=("shinier", "more shiny", "more glossy", "glossier", "!much shinier", "shinier looking", "~shiner"),
              np=("a shinier finish", "more shine", "a glossier finish", "a glossier look"),
              pp=_with("a shinier finish", "more shine")))
    add(_Spec(Claim("finish_rel", "less shiny"), "material_finish", relative=True,
              adj=("less shiny", "duller", "less glossy", "more matte", "duller looking"),
              np=("a duller finish", "less shine", "a less shiny finish", "a more matte finish"),
              pp=_with("a duller finish", "less shine")))
    add(_Spec(Claim("fur", True), "material_finish", adj=("furry", "fur trimmed", "fur-trimmed", "fluffy",
                                                          "fleece lined", "fur lined"),
              np=("fur trim", "a fur trim", "fur", "fur lining", "a fur cuff", "faux fur", "fluffy trim", "fleece",
                  "fur edging", "~fur trims",
                  "a fleece lining", "wool trim", "a woolen cuff", "a wool lining", "~fur linings",
                  "~fur on the inside", "~fur around the top"),
              pp=_with("fur trim", "fur", "a fur cuff", "faux fur"), descriptive=True))
    add(_Spec(Claim("no", "fur"), "material_finish", np=("no fur",), pp=("without fur", "without the fur"),
              neg=("fur", "fur trim", "any fur")))
    ornament = {"bow": ((), ("a bow", "bows", "a bow on top", "a bow on the front", "a little bow", "a ribbon bow",
                              "a bow detail", "~a small bow")),
                "rhinestones": (("jeweled", "bejeweled", "sparkly", "embellished with rhinestones"),
                                ("rhinestones", "rhinestone accents", "jewels", "sparkly accents", "jeweled accents",
                                 "crystals", "gems", "some bling", "stones", "jewel accents")),
                "studs": (("studded", "spiked", "riveted"), ("studs", "studded accents", "metal studs", "spikes",
                                                            "metal spikes", "rivets", "metal rivets", "~metal parts")),
                "fringe": (("fringed", "tasseled"), ("fringe", "fringes", "a fringe", "tassels", "fringe trim",
                                                     "a fringed edge", "fringe detail")),
                "chain": (("chained",), ("a chain", "a gold chain", "chain detail", "a metal chain", "chains",
                                         "a chain across the front", "chain links"))}
    for name, (adj, nps) in ornament.items():
        add(_Spec(Claim("ornament", name), "ornaments", adj=adj, np=nps, pp=_with(*nps), descriptive=True))
    add(_Spec(Claim("no", "ornament"), "ornaments", adj=("plain", "not embellished", "not decorated", "~unadorned"),
              np=("no embellishments", "no decorations", "no accents", "no ornaments", "no details", "~no ornament",
                  "no decoration at all"),
              pp=("without embellishments", "without decorations", "without any details"),
              neg=("embellishments", "decorations", "any details", "ornaments")))
    add(_Spec(Claim("sole_rel", "thicker"), "sole", relative=True, adj=("thicker soled",),
              np=("a thicker sole", "thicker soles", "a chunkier sole", "a thicker platform", "a bigger platform",
                  "a heavier sole", "a bulkier sole", "a chunkier platform"),
              pp=_with("a thicker sole", "thicker soles", "a bigger platform")))
    add(_Spec(Claim("sole_rel", "thinner"), "sole", relative=True, adj=("thinner soled",),
              np=("a thinner sole", "thinner soles", "a slimmer sole", "a thinner platform", "a smaller platform",
                  "a less chunky sole", "a more delicate sole"),
              pp=_with("a thinner sole", "thinner soles", "a smaller platform")))
    add(_Spec(Claim("lug_sole", True), "sole", adj=("rugged", "lugged", "treaded", "rugged looking"),
              np=("a rugged sole", "a lug sole", "treads", "a treaded sole", "a grippy sole", "a waffle sole",
                  "~a waffled sole",
                  "deep treads", "a tread", "a rugged tread", "ridges on the sole", "a lugged outsole", "a tread sole"),
              pp=_with("a rugged sole", "a lug sole", "treads", "a treaded sole", "deep treads"), descriptive=True))
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
                             ("snakeskin",)),
               "polka dots": (("polka dot", "polka dotted", "dotted", "spotty", "polka-dot"),
                              ("polka dots", "dots", "a polka dot pattern", "a dot pattern", "a dotted print",
                               "big dots", "spots all over"),
                              ("polka dot",)),
               "zebra": (("zebra", "zebra print", "zebra striped", "zebra patterned"),
                         ("a zebra print", "zebra stripes", "a zebra pattern", "a black and white zebra print"),
                         ("zebra print",)),
               "croc": (("croc", "croc embossed", "crocodile", "alligator", "croc textured", "alligator embossed"),
                        ("a croc texture", "a crocodile print", "an alligator print", "a croc pattern",
                         "crocodile skin", "alligator skin", "a croc finish", "embossed scales"),
                        ("croc embossed", "crocodile")),
               "quilted": (("quilted", "padded", "diamond quilted"),
                           ("quilting", "a quilted pattern", "a quilted texture", "diamond quilting",
                            "quilted panels", "a padded look", "diamond stitching"),
                           ("quilted",))}
    for name, (adj, nps, mod) in pattern.items():
        add(_Spec(Claim("pattern", name), "pattern", adj=adj, np=nps, pp=_with(*nps), mod=mod, descriptive=True))
    add(_Spec(Claim("animal_print", True), "pattern", weight=0.6,
              adj=("animal print", "animal printed", "p|animal prints"),
              np=("an animal print", "an animal pattern", "an exotic animal print", "an animal skin print",
                  "animal prints", "an exotic skin"),
              pp=_with("an animal print", "an animal pattern", "an allover animal print"), descriptive=True))
    add(_Spec(Claim("no", "pattern"), "pattern", adj=("not patterned", "solid colored", "not printed"),
              np=("no pattern", "no print", "no print at all", "a solid color", "~no patterns"),
              pp=("without a print", "without a pattern", "without any pattern"), neg=("a pattern", "a print",
                                                                                       "any pattern")))
    nouns = {"boots": (("boots", "boot"),),
             "rain boots": (("rain boots", "rain boot"), ("wellies", "welly"), ("galoshes", "galosh")),
             "athletic shoes": (("athletic shoes", "athletic shoe"), ("running shoes", "running shoe"),
                                ("trainers", "trainer"), ("sports shoes", "sports shoe")),
             "sneakers": (("sneakers", "sneaker"), ("tennis shoes", "tennis shoe")), "clogs": (("clogs", "clog"),),
             "flats": (("flats", "ballet flat"), ("ballet flats", "ballet flat"), ("ballerinas", "ballerina")),
             "pumps": (("pumps", "pump"), ("court shoes", "court shoe")),
             "high heels": (("high heels", "high heel"),), "stilettos": (("stilettos", "stiletto"),),
             "wedding shoes": (("wedding shoes", "wedding shoe"), ("bridal shoes", "bridal shoe"))}
    for cat in CATEGORIES:
        forms = nouns[cat]
        adj = tuple(f"p|{pl}" for pl, _ in forms) + tuple(dict.fromkeys(f"s|a {sg}" for _, sg in forms))
        add(_Spec(Claim("category", cat), "category", adj=adj, nouns=forms))
    for name in SUBTYPES:
        forms = SUBTYPE_NOUNS[name]
        adj = tuple(f"p|{pl}" for pl, _ in forms) + tuple(dict.fromkeys(f"s|a {sg}" for _, sg in forms))
        add(_Spec(Claim("style", name), "category", adj=adj, nouns=forms, weight=0.7))
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
    add(_Spec(Claim("open_back", True), "back", adj=("backless", "open-backed", "open at the back", "open in back",
                                                     "open backed"),
              np=("a backless design", "no back", "an open back", "an open heel", "no backs", "open backs",
                  "~an open rear"),
              pp=("with a backless design", "without a back", "with an open back", "with an open heel"),
              weight=0.5, descriptive=True))
    relative = {
        ("detail_rel", "busier"): (("busier", "more decorated", "more detailed", "more elaborate", "more ornate",
                                    "more embellished", "fancier looking", "more intricate", "busier looking"),
                                   ("more details", "more decoration", "more embellishment", "more going on",
                                    "more detailing", "a busier design", "a more elaborate design", "busier designs")),
        ("detail_rel", "plainer"): (("plainer", "simpler", "less busy", "less decorated", "less detailed",
                                     "more simple", "more plain", "less ornate", "more understated", "cleaner looking",
                                     "simpler looking"),
                                    ("fewer details", "less decoration", "less detail", "a simpler design",
                                     "a plainer design", "a cleaner design", "less going on", "simpler designs")),
        ("texture_rel", "more textured"): (("more textured", "rougher", "more textured looking", "grainier"),
                                           ("more texture", "a rougher texture", "a more textured surface",
                                            "a more textured look")),
        ("texture_rel", "smoother"): (("smoother", "sleeker", "smoother looking", "less textured", "slicker"),
                                      ("a smoother finish", "a smoother surface", "less texture", "a sleeker look",
                                       "a smoother texture")),
        ("open_rel", "more open"): (("more open", "more revealing", "less covered", "more open looking",
                                     "airier", "more exposed"),
                                    ("more openings", "less coverage", "more skin showing", "more of the foot showing",
                                     "a more open design", "more cutouts", "cutouts")),
        ("open_rel", "more covered"): (("more covered", "more closed", "more enclosed", "less open", "less revealing",
                                        "more closed in", "covering more of the foot"),
                                       ("more coverage", "less skin showing", "more of the foot covered",
                                        "a more closed design", "fewer openings")),
    }
    for (kind, value), (adj, nps) in relative.items():
        add(_Spec(Claim(kind, value), "style" if kind == "open_rel" else "details", relative=True,
                  adj=(*adj, f"!much {adj[0]}"), np=nps, pp=_with(*nps[:3])))
    add(_Spec(Claim("stitching", True), "details", descriptive=True,
              adj=("stitched", "topstitched", "hand stitched"),
              np=("stitching", "contrast stitching", "visible stitching", "decorative stitching",
                  "contrasting stitching",
                  "stitched seams", "stitch lines", "topstitching", "stitching along the sides",
                  "~seams", "~a seam down the middle"),
              pp=_with("stitching", "contrast stitching", "visible stitching", "decorative stitching")))
    add(_Spec(Claim("logo", True), "details", descriptive=True, adj=("logoed", "branded"),
              np=("a logo", "a big logo", "a brand logo", "a logo on the side", "logos", "a logo design",
                  "a large logo",
                  "~a brand name logo", "~a star logo"),
              pp=_with("a logo", "a big logo", "a logo on the side")))
    return specs


_AN = re.compile(r"\ba ([aeiou])")


class Phrase(NamedTuple):
    """A phrasing ready to write: markers stripped, "a" before a vowel made "an"."""

    text: str
    words: int
    number: int  # 0 either, 1 singular only, 2 plural only
    strong: bool
    weight: float = 1.0
    """Relative chance among the claim's phrasings (RARE_WEIGHT for "~" phrasings)."""


RARE_WEIGHT = 0.35
"""Weight of a phrasing marked "~": a less usual way to say it ("navy blue", "a toe cap")."""


def _phrases(raw: Sequence[str]) -> tuple[Phrase, ...]:
    out: dict[tuple[str, int], Phrase] = {}
    for p in raw:
        rare = p.startswith("~")
        strong = p.lstrip("~").startswith("!")
        p = p.lstrip("~!")
        number = {"s|": 1, "p|": 2}.get(p[:2], 0)
        if number:
            p = p[2:]
        p = _AN.sub(r"an \1", p)
        out.setdefault((p, number), Phrase(p, len(tokenize(p)), number, strong, RARE_WEIGHT if rare else 1.0))
    return tuple(out.values())


NEGATED_VERBS: tuple[str, ...] = ("p|do not have", "p|don't have", "s|does not have", "s|doesn't have")
"""How a negation opens when it names what is missing: "does not have laces"."""


SPECS: tuple[_Spec, ...] = tuple(_build_specs())
CLAIMS: tuple[Claim, ...] = tuple(s.claim for s in SPECS)
"""Every claim the grammar can make, in the column order of `claim_matrices`."""
CLAIM_INDEX: dict[Claim, int] = {c: i for i, c in enumerate(CLAIMS)}
TOPICS: tuple[str, ...] = ("colour", "heel", "strap_closure", "material_finish", "toe", "shaft_height", "ornaments",
                           "sole", "pattern", "category", "style", "back", "details")
ADJ_PHRASES: tuple[tuple[Phrase, ...], ...] = tuple(_phrases(s.adj) for s in SPECS)
"""Each claim's phrasings by family (the fields of SPECS), indexed like CLAIMS."""
NP_PHRASES: tuple[tuple[Phrase, ...], ...] = tuple(_phrases(s.np) for s in SPECS)
PP_PHRASES: tuple[tuple[Phrase, ...], ...] = tuple(_phrases(s.pp) for s in SPECS)
MOD_PHRASES: tuple[tuple[Phrase, ...], ...] = tuple(_phrases(s.mod) for s in SPECS)
NEG_PHRASES: tuple[tuple[Phrase, ...], ...] = tuple(
    _phrases([f"{v} {obj}" for v in NEGATED_VERBS for obj in s.neg]) for s in SPECS)
"""Each negation's "does not have X" phrasings (number-marked by the verb), indexed like CLAIMS."""
NOUN_PHRASES: tuple[tuple[tuple[Phrase, Phrase], ...], ...] = tuple(
    tuple((_phrases((pl,))[0], _phrases((sg,))[0]) for pl, sg in s.nouns) for s in SPECS)
"""(plural, singular) nouns of each category claim, indexed like CLAIMS."""


def _key(text: str) -> tuple[str, ...]:
    return tuple(w for w in tokenize(text) if w not in ARTICLES)


def _build_inventory() -> dict[tuple[str, ...], Claim]:
    inventory: dict[tuple[str, ...], Claim] = {}
    for i, spec in enumerate(SPECS):
        texts = [p.text for group in (ADJ_PHRASES[i], NP_PHRASES[i], PP_PHRASES[i], MOD_PHRASES[i], NEG_PHRASES[i])
                 for p in group]
        texts += [p.text for pair in NOUN_PHRASES[i] for p in pair]
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
    {w for key in PHRASE_INVENTORY for w in key}
    | {w for group in (ADJ_PHRASES, NP_PHRASES, PP_PHRASES, MOD_PHRASES) for spec in group for p in spec
       for w in tokenize(p.text)}
    | {w for spec in NEG_PHRASES for p in spec for w in tokenize(p.text)}
    | {w for text in (*HEDGES, *PP_HEDGES, *INSTEAD, *WANT, SAME_ITEM_PHRASE) for w in tokenize(text)}
    | {"is", "are", "has", "have", "looks", "and", "with", "a", "an"})
"""Every word the grammar can write (for a vocabulary that covers phrasings a small corpus missed)."""


_INSTEAD_KEYS = frozenset(tuple(tokenize(j)) for j in INSTEAD)


def parse_claims(text: str) -> list[Claim]:
    """Claims stated in `text`, by greedy longest match against the grammar's phrase inventory.

    Words outside the inventory ("much", "and", "is") are skipped, so the parser also reads
    captions it did not write, such as a neural captioner's output. The phrase right after
    "instead of" or "rather than" describes the reference, not the target, and is left out.
    """
    words = [w for w in tokenize(text) if w not in ARTICLES]
    claims: list[Claim] = []
    about_reference = False
    i = 0
    while i < len(words):
        if tuple(words[i:i + 2]) in _INSTEAD_KEYS:
            about_reference, i = True, i + 2
            continue
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            claim = PHRASE_INVENTORY.get(tuple(words[i:i + n]))
            if claim is not None:
                if not about_reference:
                    claims.append(claim)
                about_reference = False
                i += n
                break
        else:
            i += 1
    return claims


# --------------------------------------------------------------------------------------------------
# Truth: vectorised for the generator, and an independent scalar check.

_LIGHTNESS = np.array([c.lightness for c in COLOURS])
_SATURATION = np.array([c.saturation for c in COLOURS])
_SHINE = np.array([FINISH_SHINE[f] for f in FINISHES])
_POINT = np.array([TOE_POINTINESS[t] for t in TOE_SHAPES])
_HEEL_WIDTH = np.array([HEEL_WIDTH[h] for h in HEEL_SHAPES])
_ROUND = np.array([{"pointed": 0.0, "round": 1.0}.get(t, np.nan) for t in TOE_SHAPES])
"""A toe is "rounder" than another only round against pointed (an open toe is neither)."""
_TEXTURED_FINISH = np.array([f in TEXTURED_FINISHES for f in FINISHES])
_TEXTURED_PATTERN = np.array([p in TEXTURED_PATTERNS for p in PATTERNS])
_CODE = {name: {v: i for i, v in enumerate(vocab)} for name, vocab in (
    ("heel_shape", HEEL_SHAPES), ("toe_shape", TOE_SHAPES), ("shaft_height", SHAFT_HEIGHTS),
    ("ornament", ORNAMENTS), ("pattern", PATTERNS), ("finish", FINISHES), ("category", CATEGORIES),
    ("closure", CLOSURES), ("heel_material", HEEL_MATERIALS))}


def _features(params: ShoeParams, ids: np.ndarray, styles: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The columns the claims read, for items `ids`; `styles` is an optional precomputed (N, 10) attribute table."""
    f = {name: params[name][ids].astype(np.int64) for name in (
        "category", "primary_colour", "accent_colour", "heel_shape", "toe_shape", "shaft_height", "strap_count",
        "ornament", "pattern", "finish")}
    for name in ("laces", "buckle", "fur_trim", "open_back", "two_tone", "stitching", "logo", "lug_sole"):
        f[name] = params[name][ids].astype(bool)
    for name in ("closure", "heel_material"):
        f[name] = params[name][ids].astype(np.int64)
    f["saturation"] = _SATURATION[f["primary_colour"]]
    f["heel_width"] = _HEEL_WIDTH[f["heel_shape"]]
    f["round"] = _ROUND[f["toe_shape"]]
    f["textured"] = (_TEXTURED_FINISH[f["finish"]] | _TEXTURED_PATTERN[f["pattern"]]).astype(np.float64)
    f["detail"] = ((f["ornament"] != _C["ornament"]["none"]).astype(np.float64)
                   + (f["pattern"] != _C["pattern"]["solid"]) + f["two_tone"] + f["stitching"] + f["logo"]
                   + f["fur_trim"])
    f["openness"] = ((f["toe_shape"] == _C["toe_shape"]["open"]).astype(np.float64) + f["open_back"]
                     + (f["shaft_height"] == _C["shaft_height"]["none"]))
    styles_of = subtypes({k: v[ids] for k, v in params.items()})
    f["subtypes"] = np.stack([styles_of[name] for name in SUBTYPES], axis=1)
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
    ([Claim("two_tone", True), Claim("no", "two_tone"), Claim("stitching", True), Claim("logo", True),
      Claim("lug_sole", True)],
     lambda f: np.stack([f["two_tone"], ~f["two_tone"], f["stitching"], f["logo"], f["lug_sole"]], axis=1), None),
    ([Claim("velcro", True)],
     lambda f: _col(np.isin(f["category"], [_C["category"]["sneakers"], _C["category"]["athletic shoes"]])
                    & (f["strap_count"] > 0) & ~f["laces"]), None),
    ([Claim("closure", c) for c in ("zipper", "elastic")],
     lambda f: _onehot(f["closure"], [_C["closure"][c] for c in ("zipper", "elastic")]), None),
    ([Claim("heel_material", m) for m in ("cork", "clear", "wooden")],
     lambda f: _onehot(f["heel_material"], [_C["heel_material"][m] for m in ("cork", "clear", "wooden")]), None),
    ([Claim("animal_print", True)],
     lambda f: _col(np.isin(f["pattern"], [_C["pattern"][n] for n in ANIMAL_PATTERNS])), None),
    ([Claim("style", name) for name in SUBTYPES], lambda f: f["subtypes"], None),
    ([Claim("shiny", True), Claim("no", "shiny")],
     lambda f: np.stack([f["shine"] >= SHINY_MIN, f["shine"] <= DULL_MAX], axis=1),
     lambda f: np.stack([f["shine"] <= CLEARLY_SHINY, f["shine"] >= CLEARLY_SHINY], axis=1)),
    ([Claim("ornament", o) for o in ORNAMENTS[1:]] + [Claim("no", "ornament")],
     lambda f: _onehot(f["ornament"], [_C["ornament"][o] for o in (*ORNAMENTS[1:], "none")]), None),
    ([Claim("platform", True)], lambda f: _col(f["platform"] >= PLATFORM_MIN_CM),
     lambda f: _col(f["platform"] < PLATFORM_ABSENT_CM)),
    ([Claim("pattern", n) for n in PATTERNS[1:]] + [Claim("no", "pattern")],
     lambda f: _onehot(f["pattern"], [_C["pattern"][n] for n in (*PATTERNS[1:], "solid")]), None),
    ([Claim("category", c) for c in CATEGORIES], lambda f: _onehot(f["category"], range(len(CATEGORIES))), None),
)
# Relative claims: (claim, feature, sign, threshold): holds when sign * (target - reference) >= threshold.
_RELATIVE_SPECS: tuple[tuple[Claim, str, int, float], ...] = (
    (Claim("colour_rel", "darker"), "light", -1, LIGHTNESS_GAP),
    (Claim("colour_rel", "lighter"), "light", 1, LIGHTNESS_GAP),
    (Claim("colour_rel", "brighter"), "saturation", 1, SATURATION_GAP),
    (Claim("colour_rel", "paler"), "saturation", -1, SATURATION_GAP),
    (Claim("heel_width_rel", "wider"), "heel_width", 1, 1),
    (Claim("heel_width_rel", "narrower"), "heel_width", -1, 1),
    (Claim("detail_rel", "busier"), "detail", 1, 1),
    (Claim("detail_rel", "plainer"), "detail", -1, 1),
    (Claim("texture_rel", "more textured"), "textured", 1, 1),
    (Claim("texture_rel", "smoother"), "textured", -1, 1),
    (Claim("open_rel", "more open"), "openness", 1, 1),
    (Claim("open_rel", "more covered"), "openness", -1, 1),
    (Claim("heel_rel", "higher"), "heel", 1, HEEL_GAP_CM),
    (Claim("heel_rel", "lower"), "heel", -1, HEEL_GAP_CM),
    (Claim("toe_rel", "more pointy"), "point", 1, POINT_GAP),
    (Claim("toe_rel", "less pointy"), "point", -1, POINT_GAP),
    (Claim("toe_rel", "rounder"), "round", 1, 1),
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


def claim_holds(claim: Claim, params: ShoeParams, target: int, reference: int, strong: bool = False) -> bool:
    """Whether `claim` is true of the pair, checked directly on the readable parameters.

    Absolute claims are checked on the target alone; relative claims against their thresholds, twice
    them when `strong` (a comparative said with a degree, "much darker": `claim_matrices`' strong table;
    an absolute claim is never strong). Written separately from `claim_matrices` so that each checks the
    other. Unknown claims are false.
    """
    t, r = item(params, target), item(params, reference)
    kind, value = claim.kind, claim.value
    if strong and not kind.endswith("_rel"):
        return False
    scale = 2 if strong else 1

    def light(row: dict) -> float:
        return next(c.lightness for c in COLOURS if c.name == row["primary_colour"])

    def shaft_level(row: dict) -> int:
        return SHAFT_HEIGHTS.index(row["shaft_height"])

    def saturation(row: dict) -> float:
        return next(c.saturation for c in COLOURS if c.name == row["primary_colour"])

    def details(row: dict) -> int:
        return (int(row["ornament"] != "none") + int(row["pattern"] != "solid") + int(row["two_tone"])
                + int(row["stitching"]) + int(row["logo"]) + int(row["fur_trim"]))

    def textured(row: dict) -> int:
        return int(row["finish"] in TEXTURED_FINISHES or row["pattern"] in TEXTURED_PATTERNS)

    def openness(row: dict) -> int:
        return int(row["toe_shape"] == "open") + int(row["open_back"]) + int(row["shaft_height"] == "none")

    if kind == "colour":
        return t["primary_colour"] == value
    if kind == "sole_colour":
        return t["accent_colour"] == value
    if kind == "colour_rel" and value in ("brighter", "paler"):
        return _directed(saturation(t) - saturation(r), value, "brighter", "paler", scale * SATURATION_GAP)
    if kind == "colour_rel":
        return _directed(light(t) - light(r), value, "lighter", "darker", scale * LIGHTNESS_GAP)
    if kind == "heel_width_rel":
        gap = HEEL_WIDTH[t["heel_shape"]] - HEEL_WIDTH[r["heel_shape"]]  # nan (never true) if either is flat
        return _directed(gap, value, "wider", "narrower", scale)
    if kind == "detail_rel":
        return _directed(details(t) - details(r), value, "busier", "plainer", scale)
    if kind == "texture_rel":
        return _directed(textured(t) - textured(r), value, "more textured", "smoother", scale)
    if kind == "open_rel":
        return _directed(openness(t) - openness(r), value, "more open", "more covered", scale)
    if kind in ("two_tone", "stitching", "logo", "lug_sole"):
        return value is True and bool(t[kind])
    if kind == "velcro":
        return (value is True and t["category"] in ("sneakers", "athletic shoes") and int(t["strap_count"]) > 0
                and not t["laces"])
    if kind == "closure":
        return value != "none" and t["closure"] == value
    if kind == "heel_material":
        return value != "plain" and t["heel_material"] == value
    if kind == "animal_print":
        return value is True and t["pattern"] in ANIMAL_PATTERNS
    if kind == "style" and value in SUBTYPES:
        return bool(subtypes({column: params[column][[target]] for column in params})[str(value)][0])
    if kind == "heel_rel":
        gap = float(t["heel_height"]) - float(r["heel_height"])
        return _directed(gap, value, "higher", "lower", scale * HEEL_GAP_CM)
    if kind == "heel_shape":
        return value != "flat" and t["heel_shape"] == value
    if kind == "toe":
        return t["toe_shape"] != "open" if value == "closed" else t["toe_shape"] == value
    if kind == "toe_rel" and value == "rounder":
        return not strong and t["toe_shape"] == "round" and r["toe_shape"] == "pointed"  # a gap of 1 at most
    if kind == "toe_rel":
        gap = TOE_POINTINESS[t["toe_shape"]] - TOE_POINTINESS[r["toe_shape"]]
        return _directed(gap, value, "more pointy", "less pointy", scale * POINT_GAP)
    if kind == "shaft":
        return value != "none" and t["shaft_height"] == value
    if kind == "shaft_rel":
        return _directed(shaft_level(t) - shaft_level(r), value, "taller", "shorter", scale * SHAFT_GAP)
    if kind == "straps_rel":
        return _directed(int(t["strap_count"]) - int(r["strap_count"]), value, "more", "fewer", scale)
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
        return _directed(gap, value, "more shiny", "less shiny", scale * SHINE_GAP)
    if kind == "ornament":
        return value != "none" and t["ornament"] == value
    if kind == "sole_rel":
        gap = float(t["platform"]) - float(r["platform"])
        return _directed(gap, value, "thicker", "thinner", scale * PLATFORM_GAP_CM)
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
        return sign * (float(scores[0]) - float(scores[1])) >= scale * STYLE_GAP - 1e-6
    if kind == "no":
        absent = {"heel": t["heel_shape"] == "flat", "straps": int(t["strap_count"]) == 0, "laces": not t["laces"],
                  "buckle": not t["buckle"], "shiny": FINISH_SHINE[t["finish"]] <= DULL_MAX,
                  "fur": not t["fur_trim"], "ornament": t["ornament"] == "none", "pattern": t["pattern"] == "solid",
                  "two_tone": not t["two_tone"]}
        return bool(absent.get(str(value), False))
    return False
