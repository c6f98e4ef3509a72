import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.catalog.params import CATEGORIES, sample_params
from simulators.language.grammar import (
    CLAIMS,
    PHRASE_INVENTORY,
    SAME_ITEM_PHRASE,
    SPECS,
    CaptionGrammar,
    Claim,
    claim_holds,
    claim_matrices,
    parse_claims,
    true_claims,
)
from simulators.language.vocab import tokenize


@pytest.fixture(scope="module")
def params():
    return sample_params(400, seed=0)


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    return rng.integers(0, 400, 600), rng.integers(0, 400, 600)


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
              "more sporty": "less sporty", "more feminine": "less feminine"}
    mirror |= {v: k for k, v in mirror.items()}
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


def test_generated_captions_are_true_and_parse_back(params, pairs):
    grammar = CaptionGrammar(seed=3)
    captions = grammar.describe_with_claims(params, *pairs)
    _, salient, _ = claim_matrices(params, *pairs)
    for (text, claims), a, b, row in zip(captions, *pairs, salient, strict=True):
        assert text and text == text.strip() and "  " not in text
        if a == b:
            assert text == SAME_ITEM_PHRASE and claims == ()
            continue
        assert parse_claims(text) == list(claims), text
        assert all(claim_holds(c, params, int(a), int(b)) for c in claims), text
        if row.any():
            assert any(row[CLAIMS.index(c)] for c in claims), f"uninformative caption {text!r}"
        assert 1 <= len(tokenize(text)) <= 13


def test_single_descriptions_hold_against_any_reference(params):
    targets = np.arange(0, 400, 7)
    for (text, claims), t in zip(CaptionGrammar(seed=1).describe_single(params, targets), targets, strict=True):
        assert text.split()[0] in ("are", "is")
        assert Claim("category", CATEGORIES[int(params["category"][t])]) in claims
        assert parse_claims(text) == list(claims)
        assert all(not c.kind.endswith("_rel") for c in claims)
        assert all(claim_holds(c, params, int(t), int((t + 1) % 400)) for c in claims)


def test_seeded_and_reproducible(params, pairs):
    a = CaptionGrammar(seed=5).describe(params, *pairs)
    b = CaptionGrammar(seed=5).describe(params, *pairs)
    c = CaptionGrammar(seed=6).describe(params, *pairs)
    assert a == b and a != c
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert CaptionGrammar(0).describe(params, *pairs, rng=rng1) == CaptionGrammar(1).describe(params, *pairs, rng=rng2)


def test_per_row_generators_make_rows_independent(params, pairs):
    targets, refs = pairs[0][:20], pairs[1][:20]
    grammar = CaptionGrammar(seed=0)
    batch = grammar.describe(params, targets, refs, rngs=[np.random.default_rng(i) for i in range(20)])
    alone = [grammar.describe(params, targets[i:i + 1], refs[i:i + 1], rngs=[np.random.default_rng(i)])[0]
             for i in range(20)]
    assert batch == alone


def test_bad_batches_are_refused(params):
    grammar = CaptionGrammar()
    with pytest.raises(ValueError):
        grammar.describe(params, np.array([1, 2]), np.array([3]))
    with pytest.raises(ValueError):
        grammar.describe(params, np.array([1]), np.array([3]), rngs=[])
    assert grammar.describe(params, np.array([], dtype=int), np.array([], dtype=int)) == []


def _tiny_slots(tilt):
    from simulators.language.grammar import _Option, _slot, _Union
    a = _slot([_Option("x", 1, 1.0, ()), _Option("x x", 2, 2.0, ()), _Option("x x x", 3, 0.5, ())], tilt)
    b = _slot([_Option("", 0, 1.0, ()), _Option("y", 1, 1.0, ()), _Option("y y y y", 4, 3.0, ())], tilt)
    c1 = _slot([_Option("z", 1, 0.5, ())], tilt)
    c2 = _slot([_Option("z z", 2, 1.0, ()), _Option("", 0, 0.25, ())], tilt)
    return [a, b, _Union.of([c1, c2])]


@pytest.mark.parametrize("tilt", [1.0, 0.6])
def test_rejection_sampler_draws_the_exact_distribution(tilt):
    """The fast sampler and the exact forward-backward pass give the same combination frequencies."""
    from simulators.language.grammar import _Draws, _sample_slots, _sample_slots_exact
    lengths = (0.1, 0.8, 0.3, 0.5, 1.0, 0.6, 0.0, 0.05)
    slots = _tiny_slots(tilt)
    exact_slots = [s.materialise() for s in slots]
    n = 40_000
    counts = [{}, {}]
    for k, (sampler, ss) in enumerate(((_sample_slots, slots), (_sample_slots_exact, exact_slots))):
        draws = _Draws(np.random.default_rng(k))
        for _ in range(n):
            key = tuple(o.text for o in sampler(ss, lengths, draws))
            counts[k][key] = counts[k].get(key, 0) + 1
    keys = sorted(set(counts[0]) | set(counts[1]))
    assert set(counts[0]) == set(counts[1])
    p = np.array([counts[0].get(key, 0) for key in keys]) / n
    q = np.array([counts[1].get(key, 0) for key in keys]) / n
    assert np.abs(p - q).max() < 0.01, dict(zip(keys, zip(p, q, strict=True), strict=True))
    assert all(sum(len(t.split()) for t in key) != 7 for key in keys)  # length weight 0: never drawn


def test_sampler_falls_back_when_no_length_has_weight():
    from simulators.language.grammar import _Draws, _sample_slots
    slots = _tiny_slots(1.0)
    out = _sample_slots(slots, (0.0, 0.0), _Draws(np.random.default_rng(0)))
    assert len(out) == 3  # lengths near 5 words preferred instead of failing


def test_sampler_refuses_mixed_tilts():
    from simulators.language.grammar import _Draws, _Option, _sample_slots, _slot
    slots = [_slot([_Option("x", 1, 1.0, ())], 1.0), _slot([_Option("y", 1, 1.0, ())], 0.5)]
    with pytest.raises(ValueError, match="tilt"):
        _sample_slots(slots, (1.0, 1.0), _Draws(np.random.default_rng(0)))
