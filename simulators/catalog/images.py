"""Image files of a real catalog: found by base name under a root, read as the CNN's square uint8 input.

Published datasets name an image by its file name ("img_womens_clogs_851.jpg") or by an id ("B008BHCT58")
while the copy on disk may sit in nested folders, as `.jpg` or `.png`. `ImageIndex` maps each base name
(the file name without its extension) to its file; a base name held by two files is ambiguous and reported
as such rather than resolved by chance.

    >>> index = ImageIndex.scan("photos/")  # doctest: +SKIP
    >>> files = index.resolve(["img_womens_clogs_851.jpg", "img_womens_pumps_7.jpg"])  # doctest: +SKIP
    >>> images = load_images(files, size=128)  # (2, 128, 128, 3) uint8  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
"""File extensions an image may have (any case)."""
SHOWN = 5
"""How many offending names an error message lists."""


class ImageFileError(ValueError):
    """Images that are missing, ambiguous or unreadable: the message counts them and names the first few."""


def base_name(name: str) -> str:
    """The name without folders and without an image extension: "a/b/img_1.jpg" -> "img_1", "B00X" -> "B00X"."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    root, ext = os.path.splitext(stem)
    return root if ext.lower() in IMAGE_SUFFIXES else stem


def listing(names: Sequence[str], shown: int = SHOWN) -> str:
    """The first `shown` names, quoted, and how many more there are."""
    head = ", ".join(repr(n) for n in names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


@dataclass(frozen=True)
class ImageIndex:
    """Base name -> image files under `root` (more than one file: an ambiguous name)."""

    root: Path
    files: dict[str, tuple[Path, ...]]

    @classmethod
    def scan(cls, root: str | Path) -> ImageIndex:
        """Every image file under `root`, nested folders included (symbolic links to folders are followed)."""
        root = Path(root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist or is not a folder")
        found: dict[str, list[Path]] = {}
        for folder, _, names in os.walk(root, followlinks=True):
            for name in names:
                if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                    found.setdefault(base_name(name), []).append(Path(folder) / name)
        return cls(root, {k: tuple(sorted(v)) for k, v in found.items()})

    def __len__(self) -> int:
        return len(self.files)

    def resolve(self, names: Sequence[str]) -> list[Path]:
        """The one file of each name (found by base name); ImageFileError listing every missing or ambiguous one."""
        missing, ambiguous, out = [], [], []
        for name in names:
            hits = self.files.get(base_name(name), ())
            if not hits:
                missing.append(name)
            elif len(hits) > 1:
                ambiguous.append(f"{name} ({', '.join(str(h.relative_to(self.root)) for h in hits)})")
            else:
                out.append(hits[0])
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {len(names)} images have no file ({'/'.join(IMAGE_SUFFIXES)}) "
                            f"under {self.root}: {listing(missing)}")
        if ambiguous:
            problems.append(f"{len(ambiguous)} base names are held by more than one file, so which image is meant "
                            f"is ambiguous (rename or remove the copies): {listing(ambiguous)}")
        if problems:
            raise ImageFileError("; ".join(problems))
        return out


def read_image(path: str | Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8 RGB: the image padded to a square with white (product photos' background), then
    resized (bilinear); an image already `size` x `size` is returned pixel for pixel."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        if w != h:
            side = max(w, h)
            square = Image.new("RGB", (side, side), (255, 255, 255))
            square.paste(img, ((side - w) // 2, (side - h) // 2))
            img = square
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        return np.asarray(img, dtype=np.uint8)


def check_readable(paths: Sequence[Path]) -> None:
    """Open every file's header (fast: no pixels decoded); ImageFileError listing the ones that are not images."""
    from PIL import Image, UnidentifiedImageError

    bad = []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.size  # noqa: B018 - reading the header is the check
        except (OSError, UnidentifiedImageError, ValueError) as err:
            bad.append(f"{path} ({type(err).__name__}: {err})")
    if bad:
        raise ImageFileError(f"{len(bad)} of {len(paths)} image files cannot be read as images: {listing(bad)}")


def load_images(paths: Sequence[Path], size: int) -> np.ndarray:
    """(B, size, size, 3) uint8 for the files `paths`; ImageFileError listing the ones that fail to decode."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    bad = []
    for i, path in enumerate(paths):
        try:
            images[i] = read_image(path, size)
        except (OSError, ValueError) as err:
            bad.append(f"{path} ({type(err).__name__}: {err})")
    if bad:
        raise ImageFileError(f"{len(bad)} of {len(paths)} image files could not be decoded: {listing(bad)}")
    return images
