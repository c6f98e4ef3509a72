from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.language.claims import (
    CLAIMS,
    PHRASE_INVENTORY,
    SAME_ITEM_PHRASE,
    SPECS,
    Claim,
    claim_holds,
    claim_matrices,
    parse_claims,
    true_claims,
)


def test_every_phrasing_parses_back_to_its_own_claim():
    for spec in SPECS:
        for raw in (*spec.adj, *spec.np, *spec.pp, *spec.mod):
            text = raw.lstrip("!").removeprefix("s|").removeprefix("p|")
            assert parse_claims(text) == [spec.claim], text
        for plural, singular in spec.nouns:
            assert parse_claims(plural) == parse_claims(singular) == [spec.claim]


def test_every_claim_has_a_phrasing_and_inventory_keys_skip_articles():
    assert len(set(CLAIMS)) == len(CLAIMS)
    for spec in SPECS:
        assert spec.adj or spec.np or spec.pp, spec.claim
    assert all(w not in ("a", "an", "the") for key in PHRASE_INVENTORY for w in key)


def test_parse_reads_foreign_text():
    assert parse_claims("I want RED shoes with a much higher heel!!") == [Claim("colour", "red"),
                                                                          Claim("heel_rel", "higher")]
    assert parse_claims("are black patent leather pumps") == [Claim("colour", "black"), Claim("finish", "patent"),
                                                               Claim("category", "pumps")]
    assert parse_claims("has a stiletto heel") == [Claim("heel_shape", "stiletto")]
    assert parse_claims("is a stiletto") == [Claim("category", "stilettos")]
    assert parse_claims("is not shiny and has no laces") == [Claim("no", "shiny"), Claim("no", "laces")]
    assert parse_claims(SAME_ITEM_PHRASE) == []


def test_parse_reads_world_v2_phrasings():
    assert parse_claims("are navy blue cowboy boots") == [Claim("colour", "navy"), Claim("style", "cowboy boots")]
    assert parse_claims("are the same but maroon") == [Claim("colour", "burgundy")]
    # what follows "instead of" / "rather than" is the reference's, not a claim about the target
    assert parse_claims("are red instead of black") == [Claim("colour", "red")]
    assert parse_claims("have a round toe rather than a pointed toe and laces") == [Claim("toe", "round"),
                                                                                    Claim("laces", True)]
    assert parse_claims("does not have laces") == [Claim("no", "laces")]
    assert parse_claims("are darker and don't have a heel") == [Claim("colour_rel", "darker"), Claim("no", "heel")]
    assert parse_claims("has velcro straps and a lug sole") == [Claim("velcro", True), Claim("lug_sole", True)]
    assert parse_claims("is plainer and more open") == [Claim("detail_rel", "plainer"), Claim("open_rel", "more open")]


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_parse_never_fails(text):
    assert all(isinstance(c, Claim) for c in parse_claims(text))


def test_matrices_agree_with_the_independent_check(params, pairs):
    targets, refs = pairs[0][:150], pairs[1][:150]
    holds, salient, strong = claim_matrices(params, targets, refs)
    assert holds.shape == (150, len(CLAIMS))
    assert not (salient & ~holds).any() and not (strong & ~holds).any()
    for b in range(len(targets)):
        for j, claim in enumerate(CLAIMS):
            assert holds[b, j] == claim_holds(claim, params, int(targets[b]), int(refs[b])), (claim, b)


def test_true_claims_hold_and_relative_claims_mirror(params, pairs):
    mirror = {"darker": "lighter", "higher": "lower", "more pointy": "less pointy", "taller": "shorter",
              "more": "fewer", "more shiny": "less shiny", "thicker": "thinner", "more formal": "more casual",
              "more sporty": "less sporty", "more feminine": "less feminine", "brighter": "paler",
              "wider": "narrower", "busier": "plainer", "more textured": "smoother", "more open": "more covered"}
    mirror |= {v: k for k, v in mirror.items()} | {"rounder": "more pointy"}
    for a, b in zip(*pairs, strict=True):
        claims = true_claims(params, int(a), int(b))
        back = set(true_claims(params, int(b), int(a)))
        for claim in claims:
            assert claim_holds(claim, params, int(a), int(b))
            if claim.kind.endswith("_rel"):
                assert Claim(claim.kind, mirror[claim.value]) in back
            else:
                assert not claim_holds(claim, params, int(b), int(a))


def test_relative_thresholds_are_respected(params, pairs):
    for a, b in zip(*pairs, strict=True):
        claims = true_claims(params, int(a), int(b))
        gap = float(params["heel_height"][a]) - float(params["heel_height"][b])
        assert (Claim("heel_rel", "higher") in claims) == (gap >= 2.0 - 1e-6)
        assert (Claim("heel_rel", "lower") in claims) == (gap <= -2.0 + 1e-6)
