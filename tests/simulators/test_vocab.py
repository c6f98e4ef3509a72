import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.language.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, Vocabulary, tokenize

CAPTIONS = ["are red with a higher heel", "is darker", "has laces and a thicker sole", "are slip-on"]


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary.build(CAPTIONS)


def test_tokenize_lowercases_and_keeps_inner_hyphens_and_apostrophes():
    assert tokenize("Is DARKER, with a Slip-On!  don\u2019t") == ["is", "darker", "with", "a", "slip-on", "don't"]
    assert tokenize("knee-high,stiletto") == ["knee-high", "stiletto"]
    assert tokenize("") == []
    assert tokenize("-- , !!") == []


@pytest.mark.parametrize("text", ["", "\x00\x01\x1f\x7f", "😀" * 1000, "\ud800\udfff lone surrogates", "a " * 100_000,
                                  "\u202e\u200b zero-width", "ＦＵＬＬＷＩＤＴＨ red", "\n\t\r"])
def test_tokenize_survives_hostile_strings(text):
    tokens = tokenize(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_any_unicode_string_tokenizes_and_encodes(text):
    vocab = Vocabulary.build(CAPTIONS)
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t == t.lower() and t.strip() == t and t for t in tokens)
    ids = vocab.encode(text)
    assert ids.shape == (1, 16) and ids.dtype == np.int64
    assert ids.min() >= 0 and ids.max() < len(vocab)


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), max_size=5))
@settings(max_examples=100, deadline=None)
def test_encode_decode_round_trip_on_known_words(texts):
    vocab = Vocabulary.build(texts)
    for text, row in zip(texts, vocab.encode(texts, max_len=64), strict=True):
        assert vocab.decode(row) == " ".join(tokenize(text)[:64])


def test_special_tokens_come_first(vocab):
    assert vocab.words[:4] == list(SPECIAL_TOKENS)
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert vocab.index["<pad>"] == 0


def test_encode_pads_truncates_and_marks_unknown_words(vocab):
    ids = vocab.encode(["is darker", "is purple", " ".join(["darker"] * 40)], max_len=16)
    assert ids.shape == (3, 16) and ids.dtype == np.int64
    assert ids[0, 2:].tolist() == [PAD_ID] * 14
    assert ids[1, 1] == UNK_ID
    assert (ids[2] == vocab.index["darker"]).all()
    assert vocab.encode("is darker").shape == (1, 16)
    assert vocab.encode([]).shape == (0, 16)


def test_bos_and_eos_survive_truncation(vocab):
    row = vocab.encode(" ".join(["red"] * 30), max_len=8, bos=True, eos=True)[0]
    assert row[0] == BOS_ID and row[-1] == EOS_ID and len(row) == 8
    short = vocab.encode("is red", max_len=8, bos=True, eos=True)[0]
    assert short.tolist()[:4] == [BOS_ID, vocab.index["is"], vocab.index["red"], EOS_ID]
    assert vocab.decode(short) == "is red"
    with pytest.raises(ValueError):
        vocab.encode("red", max_len=2, bos=True, eos=True)


def test_decode_stops_at_eos_and_skips_padding(vocab):
    ids = [BOS_ID, vocab.index["is"], vocab.index["darker"], EOS_ID, vocab.index["red"], PAD_ID]
    assert vocab.decode(ids) == "is darker"
    assert vocab.decode_batch(vocab.encode(["is darker", "are red"])) == ["is darker", "are red"]
    assert vocab.decode([10_000]) == "<unk>"


def test_build_orders_by_frequency_and_respects_min_count():
    vocab = Vocabulary.build(["red red blue", "red blue green"], min_count=2)
    assert vocab.words == [*SPECIAL_TOKENS, "red", "blue"]
    vocab = Vocabulary.build(["red red blue"], extra_words=["zebra", "Blue", "high-heeled"])
    assert vocab.words == [*SPECIAL_TOKENS, "red", "blue", "high-heeled", "zebra"]


def test_json_round_trip_and_hash(vocab, tmp_path):
    text = vocab.to_json()
    again = Vocabulary.from_json(text)
    assert again.words == vocab.words and again.content_hash == vocab.content_hash
    assert len(vocab.content_hash) == 64
    assert Vocabulary.build(CAPTIONS).content_hash == vocab.content_hash
    assert Vocabulary.build([*CAPTIONS, "are blue"]).content_hash != vocab.content_hash
    doc = json.loads(text)
    doc["words"].append("extra")
    with pytest.raises(ValueError, match="sha256"):
        Vocabulary.from_json(json.dumps(doc))
    with pytest.raises(ValueError):
        Vocabulary.from_json(json.dumps({"words": ["a"]}))


def test_vocabulary_rejects_bad_word_lists():
    with pytest.raises(ValueError):
        Vocabulary(["red", "<pad>", "<unk>", "<bos>", "<eos>"])
    with pytest.raises(ValueError):
        Vocabulary([*SPECIAL_TOKENS, "red", "red"])
