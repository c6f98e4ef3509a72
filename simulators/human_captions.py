"""The published human caption files of Shoes (Guo et al. 2018), read at run time from a path the user gives.

Two formats, both a JSON list of objects, as the `XiaoxiaoGuo/fashion-retrieval` repository publishes them
(folder `dataset/`, MIT licence):

- relative captions: `{"ImageName": target, "ReferenceImageName": shown, "RelativeCaption": text}`, each
  completing "Unlike the provided image, the one I want ...";
- single-image captions: `{"ImageName": image, "Caption": text}`.

Nothing here knows SynthShoes (the image names are the photographs' file names), so a real catalog can read
the same files. No human sentence is in this repository: the files are found from an explicit path, else
`$SHOE_RETRIEVAL_HUMAN_CAPTIONS` (a file or the folder holding it), else the `shared/data/shoes-relative-captions/`
folder beside the checkout where the project's machines keep the training half.

    >>> captions = read_relative_captions(find_caption_file("relative"))  # doctest: +SKIP
    >>> captions.records[0].target, len(captions.duplicates)  # doctest: +SKIP
    ('img_womens_clogs_851.jpg', 0)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HUMAN_CAPTIONS_ENV = "SHOE_RETRIEVAL_HUMAN_CAPTIONS"
"""A caption file, or the folder holding the caption files."""
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "shoes-relative-captions"
"""Where the project's machines keep the training half of the captions (a `shared/data/` folder beside the checkout)."""
SOURCE = "the XiaoxiaoGuo/fashion-retrieval repository on GitHub (folder dataset/, MIT licence; Guo et al. 2018)"
"""Where a user gets the original files."""

Kind = Literal["relative", "single"]
FILE_NAMES: dict[str, tuple[str, ...]] = {
    "relative": ("relative_captions_shoes.train.json", "relative_captions_shoes.json"),
    "single": ("captions_shoes.train.json", "captions_shoes.json"),
}
"""The names a caption file of each kind may have inside a folder, looked for in this order."""
_KEYS: dict[str, tuple[str, ...]] = {
    "relative": ("ImageName", "ReferenceImageName", "RelativeCaption"),
    "single": ("ImageName", "Caption"),
}


class CaptionFileError(ValueError):
    """A caption file that does not hold what the published format says; names the file and the record."""

    def __init__(self, path: Path, problem: str, record: int | None = None):
        where = f"{path}" if record is None else f"{path}, record {record}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.record = record


@dataclass(frozen=True)
class RelativeCaption:
    """One relative caption: what distinguishes `target` (ImageName) from the shown `reference` (ReferenceImageName)."""

    target: str
    reference: str
    text: str


@dataclass(frozen=True)
class ImageCaption:
    """One single-image caption: an outright description of `image`."""

    image: str
    text: str


@dataclass(frozen=True)
class CaptionFile:
    """The records of one caption file, in file order, and the duplicates among them.

    A duplicate is a record equal to an earlier one (same image names and same caption, surrounding
    whitespace aside). Duplicates are kept in `records` and reported, never fatal: what to do with them is
    the caller's choice (`unique` drops them).
    """

    path: Path
    kind: Kind
    records: tuple[RelativeCaption, ...] | tuple[ImageCaption, ...]
    duplicates: tuple[int, ...]
    """Indices into `records` of the records that repeat an earlier one."""

    def __len__(self) -> int:
        return len(self.records)

    def unique(self) -> list[RelativeCaption] | list[ImageCaption]:
        """The records without their duplicates, in file order."""
        repeated = set(self.duplicates)
        return [r for i, r in enumerate(self.records) if i not in repeated]


def find_caption_file(kind: Kind, path: str | Path | None = None, *, argument: str = "--captions",
                      environ: Mapping[str, str] | None = None) -> Path:
    """The caption file of `kind` ("relative" or "single"): `path` if given, else `$SHOE_RETRIEVAL_HUMAN_CAPTIONS`,
    else the default folder when it exists. A path may be the file or a folder holding it (`FILE_NAMES`).

    Raises FileNotFoundError naming `argument` (the command's flag), the environment variable and `SOURCE`.
    """
    if kind not in FILE_NAMES:
        raise ValueError(f"kind must be one of {sorted(FILE_NAMES)}, got {kind!r}")
    environ = os.environ if environ is None else environ
    if path is not None:
        return _resolve(Path(path), kind, f"{argument} {path}")
    if environ.get(HUMAN_CAPTIONS_ENV):
        return _resolve(Path(environ[HUMAN_CAPTIONS_ENV]), kind, f"${HUMAN_CAPTIONS_ENV}={environ[HUMAN_CAPTIONS_ENV]}")
    if DEFAULT_FOLDER.is_dir():
        return _resolve(DEFAULT_FOLDER, kind, f"the default folder {DEFAULT_FOLDER}")
    raise FileNotFoundError(
        f"no human caption file: pass its path ({argument} PATH) or set ${HUMAN_CAPTIONS_ENV} to the file or its "
        f"folder (the default folder {DEFAULT_FOLDER} does not exist). The published files "
        f"({' or '.join(FILE_NAMES[kind])}) are in {SOURCE}.")


def _resolve(path: Path, kind: Kind, given_by: str) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        for name in FILE_NAMES[kind]:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{given_by}: the folder holds none of {', '.join(FILE_NAMES[kind])}; "
                                f"the published files are in {SOURCE}")
    raise FileNotFoundError(f"{given_by}: no such file or folder; the published files are in {SOURCE}")


def read_relative_captions(path: str | Path) -> CaptionFile:
    """The relative captions of `path` (`ImageName`, `ReferenceImageName`, `RelativeCaption`).

    Raises CaptionFileError on bytes that are not UTF-8, malformed JSON, a record that is not an object,
    a missing key, a value that is not a string, an empty image name or an empty caption.
    """
    path = Path(path)
    rows = _read_rows(path, "relative")
    records = tuple(RelativeCaption(target, reference, text) for target, reference, text in rows)
    return CaptionFile(path, "relative", records, _duplicates(rows))


def read_image_captions(path: str | Path) -> CaptionFile:
    """The single-image captions of `path` (`ImageName`, `Caption`); errors as `read_relative_captions`."""
    path = Path(path)
    rows = _read_rows(path, "single")
    records = tuple(ImageCaption(image, text) for image, text in rows)
    return CaptionFile(path, "single", records, _duplicates(rows))


def _read_rows(path: Path, kind: Kind) -> list[tuple[str, ...]]:
    """Each record's values in the order of `_KEYS[kind]`, surrounding whitespace stripped, checked."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CaptionFileError(path, f"not UTF-8 text (byte {err.start} is 0x{raw[err.start]:02x})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CaptionFileError(path, f"not JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    if not isinstance(data, list):
        raise CaptionFileError(path, f"expected a JSON list of records, got a JSON {type(data).__name__}")
    keys = _KEYS[kind]
    rows = []
    for i, record in enumerate(data):
        if not isinstance(record, dict):
            raise CaptionFileError(path, f"expected an object with keys {', '.join(keys)}, got "
                                         f"{type(record).__name__}", i)
        missing = [k for k in keys if k not in record]
        if missing:
            raise CaptionFileError(path, f"missing key {', '.join(map(repr, missing))} (a {kind} caption file has "
                                         f"{', '.join(keys)})", i)
        values = []
        for k in keys:
            value = record[k]
            if not isinstance(value, str):
                raise CaptionFileError(path, f"{k} must be a string, got {type(value).__name__}", i)
            if not value.strip():
                raise CaptionFileError(path, f"empty {'caption' if k.endswith('Caption') else k}", i)
            values.append(value.strip())
        rows.append(tuple(values))
    return rows


def _duplicates(rows: list[tuple[str, ...]]) -> tuple[int, ...]:
    seen: set[tuple[str, ...]] = set()
    repeated = []
    for i, row in enumerate(rows):
        if row in seen:
            repeated.append(i)
        seen.add(row)
    return tuple(repeated)
