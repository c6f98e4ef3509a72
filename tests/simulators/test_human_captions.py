"""The human caption files' reader and the matcher from a human caption to claims, on small files of our own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulators import human_captions
from simulators.human_captions import (
    HUMAN_CAPTIONS_ENV,
    CaptionFileError,
    ImageCaption,
    RelativeCaption,
    find_caption_file,
    read_image_captions,
    read_relative_captions,
)
from simulators.language.claims import CLAIM_INDEX, Claim, claim_holds, claim_matrices
from simulators.language.grammar import CaptionGrammar
from simulators.language.matching import Cause, caption_truth, match_caption, match_captions
from simulators.registry import load_catalog

# Captions written for these tests in the published format; no human caption is in the repository.
RELATIVE = [
    {"ImageName": "img_a.jpg", "ReferenceImageName": "img_b.jpg", "RelativeCaption": "is darker with a higher heel"},
    {"ImageName": "img_c.jpg", "ReferenceImageName": "img_a.jpg", "RelativeCaption": " has no laces "},
    {"ImageName": "img_a.jpg", "ReferenceImageName": "img_b.jpg", "RelativeCaption": "is darker with a higher heel"},
    {"ImageName": "img_a.jpg", "ReferenceImageName": "img_b.jpg", "RelativeCaption": "is shinier"},
    {"ImageName": "img_c.jpg", "ReferenceImageName": "img_a.jpg", "RelativeCaption": "has no laces"},
]
SINGLE = [{"ImageName": "img_a.jpg", "Caption": "red suede pumps"},
          {"ImageName": "img_b.jpg", "Caption": "black ankle boots"}]


def write(path, records) -> str:
    path.write_text(json.dumps(records), encoding="utf-8")
    return str(path)


# -- the reader ---------------------------------------------------------------------------------------


def test_reads_relative_captions_in_file_order_with_duplicates_reported(tmp_path):
    captions = read_relative_captions(write(tmp_path / "rel.json", RELATIVE))
    assert len(captions) == 5 and captions.kind == "relative"
    assert captions.records[0] == RelativeCaption("img_a.jpg", "img_b.jpg", "is darker with a higher heel")
    assert captions.records[1].text == "has no laces"  # surrounding whitespace stripped
    assert captions.duplicates == (2, 4)  # equal to an earlier record, whitespace aside; not fatal
    assert [r.text for r in captions.unique()] == ["is darker with a higher heel", "has no laces", "is shinier"]


def test_reads_single_image_captions(tmp_path):
    captions = read_image_captions(write(tmp_path / "single.json", SINGLE + SINGLE[:1]))
    assert captions.records[:2] == (ImageCaption("img_a.jpg", "red suede pumps"),
                                    ImageCaption("img_b.jpg", "black ankle boots"))
    assert captions.duplicates == (2,)


@pytest.mark.parametrize("record, message", [
    ({"ImageName": "img_a.jpg", "RelativeCaption": "is shinier"}, "missing key 'ReferenceImageName'"),
    ({"ImageName": "img_a.jpg", "ReferenceImageName": "img_b.jpg", "RelativeCaption": "  "}, "empty caption"),
    ({"ImageName": "", "ReferenceImageName": "img_b.jpg", "RelativeCaption": "is shinier"}, "empty ImageName"),
    ({"ImageName": "img_a.jpg", "ReferenceImageName": "img_b.jpg", "RelativeCaption": 3}, "must be a string"),
    (["img_a.jpg", "img_b.jpg", "is shinier"], "expected an object"),
])
def test_a_bad_record_is_named_with_its_file_and_index(tmp_path, record, message):
    path = write(tmp_path / "rel.json", [RELATIVE[0], record])
    with pytest.raises(CaptionFileError, match=message) as err:
        read_relative_captions(path)
    assert isinstance(err.value, ValueError)
    assert err.value.record == 1 and f"{path}, record 1" in str(err.value)


def test_a_single_image_file_read_as_relative_names_the_missing_keys(tmp_path):
    with pytest.raises(CaptionFileError, match="missing key 'ReferenceImageName', 'RelativeCaption'"):
        read_relative_captions(write(tmp_path / "single.json", SINGLE))


def test_bytes_that_are_not_utf8_and_malformed_json_are_refused(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps([SINGLE[0]]).replace("red", "r\u00e9d").encode("latin-1"))
    with pytest.raises(CaptionFileError, match=r"not UTF-8 text \(byte 41 is 0xe9\)") as err:
        read_image_captions(path)
    assert str(path) in str(err.value) and err.value.record is None
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    with pytest.raises(CaptionFileError, match="not JSON"):
        read_image_captions(tmp_path / "broken.json")
    with pytest.raises(CaptionFileError, match="expected a JSON list"):
        read_image_captions(write(tmp_path / "dict.json", SINGLE[0]))


def test_finds_the_file_from_the_argument_then_the_environment_then_the_default_folder(tmp_path, monkeypatch):
    folder = tmp_path / "captions"
    folder.mkdir()
    relative = folder / "relative_captions_shoes.json"
    write(relative, RELATIVE)
    single = folder / "captions_shoes.train.json"
    write(single, SINGLE)
    assert find_caption_file("relative", relative, environ={}) == relative
    assert find_caption_file("single", folder, environ={}) == single
    assert find_caption_file("relative", environ={HUMAN_CAPTIONS_ENV: str(folder)}) == relative
    assert find_caption_file("relative", relative, environ={HUMAN_CAPTIONS_ENV: "/nowhere"}) == relative
    monkeypatch.setattr(human_captions, "DEFAULT_FOLDER", folder)
    assert find_caption_file("single", environ={}) == single


def test_no_file_found_says_how_to_give_one_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(human_captions, "DEFAULT_FOLDER", tmp_path / "absent")
    with pytest.raises(FileNotFoundError) as err:
        find_caption_file("relative", argument="--captions", environ={})
    for part in ("--captions", HUMAN_CAPTIONS_ENV, "XiaoxiaoGuo/fashion-retrieval", "MIT"):
        assert part in str(err.value)
    with pytest.raises(FileNotFoundError, match=f"{HUMAN_CAPTIONS_ENV}=.*no such file"):
        find_caption_file("relative", environ={HUMAN_CAPTIONS_ENV: str(tmp_path / "missing.json")})
    with pytest.raises(FileNotFoundError, match="holds none of relative_captions_shoes"):
        find_caption_file("relative", tmp_path, environ={})
    with pytest.raises(ValueError, match="kind must be one of"):
        find_caption_file("triplets", environ={})


# -- the matcher --------------------------------------------------------------------------------------


def C(text: str) -> Claim:
    return Claim.from_str(text)


USABLE = {
    # caption: (claims about the target, the strong ones, claims about the shown image)
    "is green instead of orange": (["colour=green"], [], ["colour=orange"]),
    "are black leather rather than brown": (["colour=black", "finish=leather"], [], ["colour=brown"]),
    "is a lot less pointy": (["toe_rel=less pointy"], ["toe_rel=less pointy"], []),
    "is slightly less pointy": (["toe_rel=less pointy"], [], []),
    "has no laces": (["no=laces"], [], []),
    "doesn't have shoelaces": (["no=laces"], [], []),
    "is not as shiny": (["finish_rel=less shiny"], [], []),
    "is less dark": (["colour_rel=lighter"], [], []),
    "is not open toed and has no strap": (["toe=closed", "no=straps"], [], []),
    "are blue, not lilac": (["colour=blue"], [], []),
    "are darker brown with a thicker sole": (["colour_rel=darker", "colour=brown", "sole_rel=thicker"], [], []),
    "black suede ankle boots": (["colour=black", "finish=suede", "shaft=ankle", "category=boots"], [], []),
    "has a white sole": (["sole_colour=white"], [], []),
    "is navy blue": (["colour=navy"], [], []),
    "is much darker and shinier": (["colour_rel=darker", "finish_rel=more shiny"],
                                   ["colour_rel=darker", "finish_rel=more shiny"], []),
    "is the same but with a bow": (["ornament=bow"], [], []),
    "are strapless and gray": (["no=straps", "colour=gray"], [], []),
    "is less strappy, more casual": (["straps_rel=fewer", "style_rel=more casual"], [], []),
    "has a taller heel": (["heel_rel=higher"], [], []),
    "i want them more formal": (["style_rel=more formal"], [], []),
}


@pytest.mark.parametrize("text", USABLE)
def test_usable_captions_are_read_with_their_polarity(text):
    claims, strong, reference = USABLE[text]
    match = match_caption(text)
    assert match.usable and match.cause is None and match.problems == ()
    assert [str(c) for c in match.claims] == claims
    assert [str(c) for c in match.strong] == strong
    assert [str(c) for c in match.reference_claims] == reference


REFUSED = {
    "has black laces": (Cause.UNMODELLED_ATTRIBUTE, "black laces"),  # the laces' colour is no claim
    "has an ankle strap": (Cause.UNMODELLED_ATTRIBUTE, "ankle strap"),  # not an ankle-high shaft
    "has a white platform": (Cause.UNMODELLED_ATTRIBUTE, "white platform"),
    "has studs on the heel": (Cause.UNMODELLED_ATTRIBUTE, "on"),
    "is taupe": (Cause.AMBIGUOUS_COLOUR, "taupe"),  # beige, gray or brown
    "is ivory colored": (Cause.AMBIGUOUS_COLOUR, "ivory"),  # cream or white
    "is greenish": (Cause.AMBIGUOUS_COLOUR, "greenish"),
    "is black and white": (Cause.AMBIGUOUS_COLOUR, "black and white"),  # one upper, one colour
    "has white and black soles": (Cause.AMBIGUOUS_COLOUR, "white and black soles"),
    "is higher": (Cause.AMBIGUOUS_WORD, "higher"),  # the heel, or the shaft?
    "is plain": (Cause.AMBIGUOUS_WORD, "plain"),
    "is not black": (Cause.UNPARSED_NEGATION, "not"),  # no claim says what colour it is not
    "has no bow": (Cause.UNPARSED_NEGATION, "no"),
    "has no laces and buckles": (Cause.UNPARSED_NEGATION, "no laces and buckles"),  # does "no" reach buckles?
    "is more black": (Cause.UNPARSED_COMPARATIVE, "more"),
    "is darker than brown": (Cause.UNPARSED_COMPARATIVE, "than"),
    "is less shiny and pointy": (Cause.UNPARSED_COMPARATIVE, "less shiny and pointy"),
    "has ruffles": (Cause.UNKNOWN_WORD, "ruffles"),
    "has a higher heel and a lower heel": (Cause.CONFLICTING_CLAIMS, "higher and lower"),
    "has studs or spikes": (Cause.UNPARSED_STRUCTURE, "or"),
    "is black instead of brown leather": (Cause.UNPARSED_STRUCTURE, "brown leather"),
    "are boots black": (Cause.UNPARSED_STRUCTURE, "boots black"),
    "are identical": (Cause.NO_CLAIM, ""),
}


@pytest.mark.parametrize("text", REFUSED)
def test_refused_captions_name_their_cause_and_the_word(text):
    match = match_caption(text)
    assert not match.usable and match.claims == () and match.reference_claims == ()
    assert match.problems[0] == REFUSED[text]
    assert match.cause is REFUSED[text][0]


def test_the_first_cause_follows_the_order_of_the_enum():
    match = match_caption("has ruffles and black laces")
    assert match.cause is Cause.UNKNOWN_WORD
    assert (Cause.UNMODELLED_ATTRIBUTE, "black laces") in match.problems
    order = list(Cause)
    assert [order.index(c) for c, _ in match.problems] == sorted(order.index(c) for c, _ in match.problems)


def test_match_captions_keeps_the_order_and_matches_a_repeat_once():
    matches = match_captions(["has no laces", "is taupe", "has no laces"])
    assert [m.usable for m in matches] == [True, False, True] and matches[0] is matches[2]


@pytest.fixture(scope="module")
def tiny():
    return load_catalog("tiny", progress=False)


@pytest.fixture(scope="module")
def tiny_pairs(tiny):
    rng = np.random.default_rng(0)
    return rng.integers(0, len(tiny), 300), rng.integers(0, len(tiny), 300)


def test_caption_truth_is_the_grammars_truth_checked_claim_by_claim(tiny, tiny_pairs):
    """Every usable caption's claims are claims of claims.py, and caption_truth agrees with the scalar
    claim_holds on random pairs (a strong claim with the doubled gap of claim_matrices)."""
    targets, references = tiny_pairs
    _, salient, doubled = claim_matrices(tiny.params, targets, references)
    matches = match_captions(USABLE)
    table, informative = caption_truth(matches, tiny.params, targets, references)
    assert table.shape == informative.shape == (len(USABLE), len(targets))
    for match, holds, said in zip(matches, table, informative, strict=True):
        assert all(c in CLAIM_INDEX for c in (*match.claims, *match.reference_claims))
        for b, (t, r) in enumerate(zip(targets.tolist(), references.tolist(), strict=True)):
            expected = (all(claim_holds(c, tiny.params, t, r) for c in match.claims)
                        and all(doubled[b, CLAIM_INDEX[c]] for c in match.strong)
                        and all(claim_holds(c, tiny.params, r, r) for c in match.reference_claims))
            assert holds[b] == expected, (match.text, t, r)
            assert said[b] == (expected and any(salient[b, CLAIM_INDEX[c]] for c in match.claims))
    assert table.any(axis=1).sum() >= len(USABLE) // 2  # the check is not vacuous


def test_caption_truth_refuses_an_unusable_caption(tiny):
    with pytest.raises(ValueError, match="not usable .unmodelled attribute"):
        caption_truth([match_caption("has black laces")], tiny.params, np.array([0]), np.array([1]))


def test_the_grammars_own_captions_are_never_misread(tiny, tiny_pairs):
    """The grammar only says true claims: wherever the matcher reads one of its captions as usable, the
    claims it reads are among the grammar's and hold of the pair, the shown image's ones of the shown image."""
    targets, references = tiny_pairs
    grammar = CaptionGrammar(seed=3)
    captions = grammar.describe_with_claims(tiny.params, targets, references)
    matches = match_captions(c.text for c in captions)
    usable = [b for b, m in enumerate(matches) if m.usable]
    for b in usable:
        assert set(matches[b].claims) <= set(captions[b].claims), captions[b].text
    holds, _ = caption_truth([matches[b] for b in usable], tiny.params, targets[usable], references[usable])
    assert holds.diagonal().all()  # caption b is true of its own pair b
    assert len(usable) >= 0.7 * len(captions)
    for caption in grammar.describe_single(tiny.params, np.arange(len(tiny))):
        match = match_caption(caption.text)
        assert not match.usable or set(match.claims) <= set(caption.claims), caption.text
