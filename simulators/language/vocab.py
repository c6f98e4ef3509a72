"""The project's one tokenizer and word vocabulary.

Feedback text from any user (the grammar, the relative captioner, a person typing) goes through
`tokenize` and `Vocabulary.encode` before an agent sees it, so every model reads the same ids.
Tokens are lower-case words; punctuation, emoji and control characters are dropped, so any
Unicode string tokenizes without error.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
MAX_LEN = 16

# A word is a run of letters/digits, optionally joined by inner hyphens or apostrophes ("slip-on", "don't").
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2010": "-", "\u2011": "-"})


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of `text` (NFKC-normalised; everything that is not a word is dropped)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    return _WORD.findall(text)


_ROW_MEMO_SIZE = 100_000
"""Most encoded rows a vocabulary remembers (it starts over when full)."""


@dataclass
class Vocabulary:
    """Word <-> id table with the special tokens <pad>=0, <unk>=1, <bos>=2, <eos>=3 first."""

    words: list[str] = field(default_factory=lambda: list(SPECIAL_TOKENS))
    index: dict[str, int] = field(init=False, repr=False)
    _rows: dict[tuple[str, int, bool, bool], tuple[int, ...]] = field(init=False, repr=False, compare=False,
                                                                    default_factory=dict)
    """Memo of encoded rows: users repeat themselves, and the environment encodes every step."""

    def __post_init__(self) -> None:
        if tuple(self.words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with the special tokens {SPECIAL_TOKENS}")
        if len(set(self.words)) != len(self.words):
            raise ValueError("vocabulary words must be unique")
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, extra_words: Iterable[str] = ()) -> Vocabulary:
        """Vocabulary of every word seen at least `min_count` times, most frequent first (ties alphabetical),
        then any of `extra_words` not yet in it (e.g. words a user can say that the corpus happens to miss)."""
        counts = Counter(w for t in texts for w in tokenize(t))
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIAL_TOKENS),
                      key=lambda w: (-counts[w], w))
        seen = set(kept) | set(SPECIAL_TOKENS)
        extra = sorted({w for text in extra_words for w in tokenize(text)} - seen)
        return cls([*SPECIAL_TOKENS, *kept, *extra])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    tokenize = staticmethod(tokenize)

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, unknown words as <unk>, no padding."""
        get = self.index.get
        return [get(w, UNK_ID) for w in tokenize(text)]

    def encode(self, texts: str | Sequence[str], max_len: int = MAX_LEN, bos: bool = False,
               eos: bool = False) -> np.ndarray:
        """(B, max_len) int64 ids, right-padded with <pad>=0 and truncated to max_len.

        A single string gives B = 1. With `bos`/`eos` the markers are added around the words and the
        words are truncated first, so the markers always survive.
        """
        if isinstance(texts, str):
            texts = [texts]
        if max_len < 1 + int(bos) + int(eos):
            raise ValueError(f"max_len={max_len} leaves no room for words")
        if not texts:
            return np.zeros((0, max_len), dtype=np.int64)
        return np.array([self._row(text, max_len, bos, eos) for text in texts], dtype=np.int64)

    def _row(self, text: str, max_len: int, bos: bool, eos: bool) -> tuple[int, ...]:
        key = (text, max_len, bos, eos)
        row = self._rows.get(key)
        if row is None:
            ids = self.ids(text)[: max_len - int(bos) - int(eos)]
            ids = [BOS_ID] * bos + ids + [EOS_ID] * eos
            row = tuple(ids) + (PAD_ID,) * (max_len - len(ids))
            if len(self._rows) >= _ROW_MEMO_SIZE:
                self._rows.clear()
            self._rows[key] = row
        return row

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of one id sequence: stops at <eos>, skips <pad> and <bos>."""
        words = []
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            words.append(self.words[i] if 0 <= i < len(self.words) else UNK)
        return " ".join(words)

    def decode_batch(self, ids: np.ndarray) -> list[str]:
        """Texts of a (B, T) id array."""
        return [self.decode(row) for row in np.asarray(ids)]

    @property
    def content_hash(self) -> str:
        """sha256 of the word list: equal hashes mean identical id assignments."""
        return hashlib.sha256("\n".join(self.words).encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        return json.dumps({"format": "vocabulary-v1", "words": self.words, "sha256": self.content_hash})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Inverse of to_json; refuses a file whose word list does not match its recorded hash."""
        data = json.loads(text)
        words = data.get("words") if isinstance(data, dict) and data.get("format") == "vocabulary-v1" else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError("not a vocabulary-v1 JSON document")
        vocab = cls(list(words))
        if data.get("sha256") not in (None, vocab.content_hash):
            raise ValueError("vocabulary word list does not match its recorded sha256 (corrupt file?)")
        return vocab
