"""Catalogs from files: the paper's Shoes data and Fashion IQ, behind the same `Catalog` interface as SynthShoes.

A real catalog is a folder of images and a dataset's published caption and split files. Building it runs the
same ImageNet CNN, preprocessing and PCA projections as SynthShoes (`simulators.catalog.features`) over the
image files and stores the result as one artifact of the data home with its manifest, together with the
dataset's captions as the catalog's train and test caption corpora. After that, the environment, the users,
the agents, the protocol and the leaderboard take it unchanged:

    python -m simulators.build catalog --format shoes --images ~/shoes/photos --captions ~/fashion-retrieval/dataset
    python -m simulators.build captioner --catalog shoes       # the relative captioner, taught with the captions
    python -m benchmarks.main --catalog shoes                  # the main job on it

The two layouts, as published:

- **Shoes** (`XiaoxiaoGuo/fashion-retrieval`, folder `dataset/`): `relative_captions_shoes.json` (a list of
  `{"ImageName", "ReferenceImageName", "RelativeCaption"}`), `captions_shoes.json` (`{"ImageName",
  "Caption"}`), `train_im_names.txt` and `eval_im_names.txt` (one file name per line). The photographs are the
  Attribute Discovery dataset's `womens_*` folders, nested; images are found by base name.
- **Fashion IQ** (`XiaoxiaoGuo/fashion-iq`): `captions/cap.<category>.<split>.json` (a list of `{"candidate",
  "target", "captions": [two strings]}`; the public test files have no `target`) and
  `image_splits/split.<category>.<split>.json` (a list of image ids, that split's gallery); images are
  `<id>.jpg` or `.png`. The train split is the catalog's train split and the val split its test split: the
  test split's targets are withheld, so it cannot be a protocol split.

Items are the train split's images in file order, then the test split's. A caption row belongs to the split
that holds both its images (a row across the two splits is left out and counted); single-image captions
(Shoes) are paired with `refs_per_single` visually distinct references of their split, as the paper did:
references drawn from the half of the split farthest from the image in the retrieval space.

Built catalogs get a name (`--name`, default the format, "fashion-iq-<category>" for Fashion IQ) recorded in
`<data home>/catalogs/<name>.json`, which `simulators.registry.load_catalog` reads.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from simulators.cache import (
    Artifact,
    ArtifactCache,
    CorruptArtifactError,
    file_sha256,
    save_array,
    save_json,
    write_json,
)
from simulators.catalog.attributes import ATTRIBUTES
from simulators.catalog.catalog import Catalog
from simulators.catalog.features import BACKBONES, FeatureConfig, extract_catalog_features
from simulators.catalog.images import ImageFileError, ImageIndex, base_name, check_readable, listing, load_images
from simulators.human_captions import (
    CaptionFileError,
    ImageCaption,
    RelativeCaption,
    read_image_captions,
    read_relative_captions,
)
from simulators.language.corpus import PAPER_REFS_PER_SINGLE, RELATIVE, SINGLE, Corpus
from simulators.seeding import make_rng

FORMATS: tuple[str, ...] = ("shoes", "fashion-iq")
KIND = "catalog-files"
"""Artifact kind of a catalog built from files."""
SHOES_FILES = {"relative": "relative_captions_shoes.json", "single": "captions_shoes.json",
               "train": "train_im_names.txt", "test": "eval_im_names.txt"}
"""The Shoes files in the `--captions` folder (`dataset/` of XiaoxiaoGuo/fashion-retrieval)."""
FASHION_IQ_CATEGORIES = ("dress", "shirt", "toptee")
"""Fashion IQ's published categories (any category whose files exist is accepted)."""
SOURCES = {
    "shoes": "relative captions and splits: github.com/XiaoxiaoGuo/fashion-retrieval (folder dataset/); photographs: "
             "the Attribute Discovery dataset (Berg et al. 2010), its womens_* folders",
    "fashion-iq": "captions and image splits: github.com/XiaoxiaoGuo/fashion-iq; images: the image URLs listed there",
}
"""Where a user gets each dataset's files (nothing is downloaded here)."""
CATALOGS_DIR = "catalogs"
"""Folder of the data home holding the named catalog entries."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENTRY_FORMAT = "catalog-entry-v1"
_FORMAT_VERSION = 1
"""Bumped when the way a file catalog is built from its files changes."""


class DatasetError(ValueError):
    """A dataset's files do not form a catalog (empty or overlapping splits, captions naming unknown images...)."""


@dataclass(frozen=True)
class FileCatalogConfig:
    """Where a real catalog's files are and how its features are computed; a change builds a new artifact."""

    format: str
    """ "shoes" or "fashion-iq" (the layout of the caption and split files)."""
    images: str
    """Folder under which every image is found by base name (nested folders; .jpg, .jpeg or .png)."""
    captions: str
    """Shoes: the folder of the four dataset files. Fashion IQ: the folder holding `captions/` and `image_splits/`."""
    category: str = ""
    """Fashion IQ's category (dress, shirt, toptee); empty for Shoes."""
    test_split: str = "val"
    """Fashion IQ split that is the catalog's test split; "test" is refused (its targets are withheld)."""
    attributes: str = ""
    """Optional JSON file of relative-attribute scores, {image name: [ten numbers in ATTRIBUTES order]}; without it
    the catalog has no attribute values and the attribute users are refused."""
    image_size: int = 128
    """Side in pixels the images are brought to (padded to a square with white, then resized) for the CNN."""
    backbone: str = "efficientnet-lite0"
    feature_dim: int = 256
    spatial_channels: int = 96
    detail_channels: int = 64
    refs_per_single: int = PAPER_REFS_PER_SINGLE
    """Visually distinct references each single-image caption is paired with (Shoes)."""
    seed: int = 0
    """Seeds the references of the single-image captions."""
    batch_size: int = 64
    """Images per CNN forward pass (does not change the result)."""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; expected one of {FORMATS}")
        if self.format == "fashion-iq" and not self.category:
            raise ValueError(f"Fashion IQ needs a category (e.g. one of {FASHION_IQ_CATEGORIES})")
        if self.format == "shoes" and self.category:
            raise ValueError("the Shoes format has no categories; leave category empty")
        if self.format == "fashion-iq" and self.test_split == "test":
            raise DatasetError("Fashion IQ's test split cannot be a protocol split: its public caption files have no "
                               "targets (the benchmark withholds them), so no dialog could be scored; use the val "
                               "split (test_split='val', the default)")
        if self.format == "fashion-iq" and self.test_split == "train":
            raise ValueError("test_split must differ from the train split")
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {BACKBONES}")
        if self.image_size < 32:
            raise ValueError(f"image_size must be at least 32 pixels, got {self.image_size}")
        if self.feature_dim < 2 or self.spatial_channels < 1 or self.detail_channels < 0 or self.refs_per_single < 0:
            raise ValueError("need feature_dim >= 2, spatial_channels >= 1, detail_channels >= 0, refs_per_single >= 0")

    @property
    def default_name(self) -> str:
        """The name the catalog is registered under when none is given: "shoes", "fashion-iq-dress"."""
        return self.format if self.format == "shoes" else f"fashion-iq-{self.category}"

    def feature_config(self, n_train: int) -> FeatureConfig:
        return FeatureConfig(backbone=self.backbone, retrieval_dim=min(self.feature_dim, n_train),
                             spatial_dim=self.spatial_channels, detail_dim=self.detail_channels,
                             batch_size=self.batch_size)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileCatalogConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown catalog config fields {unknown}; known: {sorted(known)}")
        return cls(**data)


# ---------------------------------------------------------------- reading a dataset's files


@dataclass
class DatasetFiles:
    """What a dataset's files say, by image name: the two splits and the captions."""

    train: list[str]
    test: list[str]
    relative: list[RelativeCaption]
    """One row per caption (a Fashion IQ record's two captions are two rows of one pair)."""
    single: list[ImageCaption] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    """Input file -> sha256: what the artifact key rests on besides the images."""


def _need(path: Path, what: str, fmt: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the {what} of the {fmt} format. Get the files from {SOURCES[fmt]}")
    return path


def read_name_list(path: Path) -> list[str]:
    """A split file with one image name per line (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: not UTF-8 text (byte {err.start})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_shoes(folder: str | Path) -> DatasetFiles:
    """The Shoes dataset files of `folder` (SHOES_FILES)."""
    folder = Path(folder).expanduser()
    paths = {k: _need(folder / name, f"file {name}", "shoes") for k, name in SHOES_FILES.items()}
    relative = read_relative_captions(paths["relative"]).unique()
    single = read_image_captions(paths["single"]).unique()
    return DatasetFiles(read_name_list(paths["train"]), read_name_list(paths["test"]), relative, single,
                        {str(p): file_sha256(p) for p in paths.values()})


def _read_json_list(path: Path) -> list:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise CaptionFileError(path, f"not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise CaptionFileError(path, f"not JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    if not isinstance(data, list):
        raise CaptionFileError(path, f"expected a JSON list, got a JSON {type(data).__name__}")
    return data


def read_fashion_iq_split(path: Path) -> list[str]:
    """An `image_splits/split.<category>.<split>.json` file: a list of image ids."""
    ids = _read_json_list(path)
    for i, value in enumerate(ids):
        if not isinstance(value, str) or not value.strip():
            raise CaptionFileError(path, f"image ids must be non-empty strings, got {value!r}", i)
    return [v.strip() for v in ids]


def read_fashion_iq_captions(path: Path) -> list[RelativeCaption]:
    """A `captions/cap.<category>.<split>.json` file: one RelativeCaption per caption of each record."""
    rows: list[RelativeCaption] = []
    for i, record in enumerate(_read_json_list(path)):
        if not isinstance(record, dict):
            raise CaptionFileError(path, f"expected an object with keys candidate, target, captions, got "
                                         f"{type(record).__name__}", i)
        if "target" not in record and "candidate" in record:
            raise CaptionFileError(path, "the record has no target: this is a test split file, whose targets "
                                         "the Fashion IQ benchmark withholds, so it cannot be a protocol split "
                                         "(use val)", i)
        missing = [k for k in ("candidate", "target", "captions") if k not in record]
        if missing:
            raise CaptionFileError(path, f"missing key {', '.join(map(repr, missing))}", i)
        candidate, target, captions = record["candidate"], record["target"], record["captions"]
        if not all(isinstance(v, str) and v.strip() for v in (candidate, target)):
            raise CaptionFileError(path, "candidate and target must be non-empty strings", i)
        if not isinstance(captions, list) or not captions:
            raise CaptionFileError(path, "captions must be a non-empty list of strings", i)
        for text in captions:
            if not isinstance(text, str):
                raise CaptionFileError(path, f"a caption must be a string, got {type(text).__name__}", i)
            if text.strip():
                rows.append(RelativeCaption(target.strip(), candidate.strip(), text.strip()))
    return rows


def read_fashion_iq(root: str | Path, category: str, test_split: str = "val") -> DatasetFiles:
    """The Fashion IQ files of `category` under `root` (`captions/` and `image_splits/`)."""
    root = Path(root).expanduser()
    paths = {}
    for split in ("train", test_split):
        paths[f"split-{split}"] = _need(root / "image_splits" / f"split.{category}.{split}.json",
                                        f"image split file of {category}/{split}", "fashion-iq")
        paths[f"cap-{split}"] = _need(root / "captions" / f"cap.{category}.{split}.json",
                                      f"caption file of {category}/{split}", "fashion-iq")
    relative = read_fashion_iq_captions(paths["cap-train"]) + read_fashion_iq_captions(paths[f"cap-{test_split}"])
    return DatasetFiles(read_fashion_iq_split(paths["split-train"]),
                        read_fashion_iq_split(paths[f"split-{test_split}"]), relative, [],
                        {str(p): file_sha256(p) for p in paths.values()})


def read_dataset(config: FileCatalogConfig) -> DatasetFiles:
    """The caption and split files `config` names, read and checked (no image is opened)."""
    files = read_shoes(config.captions) if config.format == "shoes" else read_fashion_iq(
        config.captions, config.category, config.test_split)
    check_splits(files.train, files.test)
    if config.attributes:
        path = Path(config.attributes).expanduser()
        files.inputs[str(path)] = file_sha256(_need(path, "attribute file", config.format))
    return files


def check_splits(train: Sequence[str], test: Sequence[str]) -> None:
    """DatasetError for an empty split, an image named twice, or an image in both splits (by base name)."""
    for split, names in (("train", train), ("test", test)):
        if not names:
            raise DatasetError(f"the {split} split names no images")
        counts: dict[str, int] = {}
        for n in names:
            counts[base_name(n)] = counts.get(base_name(n), 0) + 1
        repeated = [n for n, c in counts.items() if c > 1]
        if repeated:
            raise DatasetError(f"the {split} split names {len(repeated)} images more than once: {listing(repeated)}")
    both = sorted({base_name(n) for n in train} & {base_name(n) for n in test})
    if both:
        raise DatasetError(f"{len(both)} images are in both the train and the test split: {listing(both)}")


# ---------------------------------------------------------------- captions -> corpora


def caption_corpora(files: DatasetFiles, names: Sequence[str], n_train: int, features: np.ndarray,
                    refs_per_single: int, seed: int) -> tuple[Corpus, Corpus, dict[str, int]]:
    """(train corpus, test corpus, counts) of the dataset's captions over the catalog's items.

    DatasetError when a caption names an image that is in neither split. Relative rows across the splits are
    left out (counted as "crossing"); each single-image caption becomes `refs_per_single` rows against
    references from the far half of its split in the retrieval space.
    """
    item = {base_name(n): i for i, n in enumerate(names)}
    unknown = sorted({n for r in files.relative for n in (r.target, r.reference) if base_name(n) not in item}
                     | {r.image for r in files.single if base_name(r.image) not in item})
    if unknown:
        raise DatasetError(f"the captions name {len(unknown)} images that are in neither split: {listing(unknown)}")
    in_train = np.arange(len(names)) < n_train
    rows: dict[str, tuple[list[int], list[int], list[int], list[str]]] = {"train": ([], [], [], []),
                                                                           "test": ([], [], [], [])}
    counts = {"relative": 0, "crossing": 0, "same_image": 0, "single": 0}
    for r in files.relative:
        t, s = item[base_name(r.target)], item[base_name(r.reference)]
        if t == s:
            counts["same_image"] += 1
            continue
        if in_train[t] != in_train[s]:
            counts["crossing"] += 1
            continue
        part = rows["train" if in_train[t] else "test"]
        part[0].append(t), part[1].append(s), part[2].append(RELATIVE), part[3].append(r.text)
        counts["relative"] += 1
    rng = make_rng(seed, "datasets", "single-refs")
    splits = {"train": np.arange(n_train), "test": np.arange(n_train, len(names))}
    for r in files.single:
        t = item[base_name(r.image)]
        split = splits["train" if in_train[t] else "test"]
        refs = distinct_references_by_features(features, split, t, refs_per_single, rng)
        part = rows["train" if in_train[t] else "test"]
        for s in refs:
            part[0].append(t), part[1].append(int(s)), part[2].append(SINGLE), part[3].append(r.text)
        counts["single"] += 1
    corpora = tuple(Corpus(np.array(t, np.int64), np.array(s, np.int64), np.array(k, np.int8), texts,
                           [()] * len(texts), {"source": "dataset files", "split": split})
                    for split, (t, s, k, texts) in rows.items())
    return corpora[0], corpora[1], counts


def distinct_references_by_features(features: np.ndarray, split: np.ndarray, target: int, k: int,
                                    rng: np.random.Generator) -> np.ndarray:
    """`k` distinct items of `split` drawn from the half farthest from `target` in the retrieval space."""
    others = split[split != target]
    if len(others) < k:
        raise DatasetError(f"a split of {len(split)} images has too few references for {k} per single caption")
    dist = np.square(features[others] - features[target]).sum(axis=1)
    far = others[dist >= np.median(dist)]
    return rng.choice(far if len(far) >= k else others, size=k, replace=False)


def read_attribute_file(path: str | Path, names: Sequence[str]) -> np.ndarray:
    """(N, 10) float32 scores in [0, 1]: each attribute min-max scaled over the catalog's images; DatasetError for
    a malformed file or images without scores."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: not a JSON attribute file ({err})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object {{image name: [{len(ATTRIBUTES)} scores]}}")
    by_base = {base_name(k): v for k, v in data.items()}
    missing = [n for n in names if base_name(n) not in by_base]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} of {len(names)} images have no attribute scores: "
                           f"{listing(missing)}")
    rows = [by_base[base_name(n)] for n in names]
    bad = [n for n, r in zip(names, rows, strict=True)
           if not (isinstance(r, list) and len(r) == len(ATTRIBUTES)
                   and all(isinstance(v, (int, float)) and np.isfinite(v) for v in r))]
    if bad:
        raise DatasetError(f"{path}: {len(bad)} images' scores are not {len(ATTRIBUTES)} finite numbers "
                           f"(in the order {', '.join(ATTRIBUTES)}): {listing(bad)}")
    x = np.asarray(rows, dtype=np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    return ((x - lo) / np.where(hi > lo, hi - lo, 1.0)).astype(np.float32)


# ---------------------------------------------------------------- building and loading


def artifact_key(config: FileCatalogConfig, files: DatasetFiles, image_files: Sequence[Path]) -> dict[str, Any]:
    """What the artifact rests on: the config, the input files' sha256 and each image file's size and time."""
    listing_hash = hashlib.sha256()
    for p in image_files:
        st = p.stat()
        listing_hash.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    settings = {k: v for k, v in config.to_json().items() if k != "batch_size"}
    return {"config": settings, "inputs": files.inputs, "images": listing_hash.hexdigest(), "version": _FORMAT_VERSION}


def build_file_catalog(config: FileCatalogConfig, cache: ArtifactCache | None = None, device: str = "cpu",
                       progress: bool = True) -> tuple[Catalog, dict[str, Any]]:
    """The catalog of `config`'s files, built into the data home unless an artifact of the same files exists;
    (catalog, artifact key). Every check on the files runs before the CNN does, and a failure leaves nothing."""
    cache = cache or ArtifactCache()
    files = read_dataset(config)
    names = [*files.train, *files.test]
    image_files = ImageIndex.scan(config.images).resolve(names)
    key = artifact_key(config, files, image_files)
    art = cache.load(KIND, key)
    if art is None:
        check_readable(image_files)
        art = cache.write(KIND, key, lambda staging: _build_into(staging, config, files, names, image_files,
                                                                 device, progress))
    return _from_artifact(art), key


def _build_into(staging: Path, config: FileCatalogConfig, files: DatasetFiles, names: list[str],
                image_files: list[Path], device: str, progress: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    n, n_train = len(names), len(files.train)
    attributes = (read_attribute_file(config.attributes, names) if config.attributes
                  else np.full((n, len(ATTRIBUTES)), np.nan, dtype=np.float32))
    feats = extract_catalog_features(lambda ids: load_images([image_files[i] for i in ids], config.image_size), n,
                                     np.arange(n_train), config.feature_config(n_train), device=device,
                                     progress=progress)
    t_features = time.perf_counter() - t0
    train_corpus, test_corpus, counts = caption_corpora(files, names, n_train, feats.retrieval,
                                                        config.refs_per_single, config.seed)
    if not len(train_corpus):
        raise DatasetError("no caption describes a pair of train images: nothing to teach the captioner with")
    save_array(staging, "attributes", attributes)
    save_array(staging, "features", feats.retrieval)
    save_array(staging, "spatial", feats.spatial)
    save_array(staging, "train_ids", np.arange(n_train))
    save_array(staging, "test_ids", np.arange(n_train, n))
    for key, value in feats.pooled_pca.state_dict().items():
        save_array(staging, f"projection_{key}", value)
    save_json(staging, "items.json", {"names": names, "files": [str(p.resolve()) for p in image_files]})
    train_corpus.save(staging / "corpus-train.json")
    test_corpus.save(staging / "corpus-test.json")
    meta = {"source": "files", "format": config.format, "category": config.category, "config": config.to_json(),
            "image_size": config.image_size, "build_seconds": round(time.perf_counter() - t0, 1),
            "feature_seconds": round(t_features, 1), "device": device, "captions": counts,
            "corpus_rows": {"train": len(train_corpus), "test": len(test_corpus)},
            "has_attributes": bool(config.attributes), "spatial_shape": list(feats.spatial.shape[1:])}
    save_json(staging, "build.json", meta)
    return meta


def _from_artifact(art: Artifact) -> Catalog:
    meta = art.meta
    items = art.json("items.json")
    prefix = meta["format"] if meta["format"] == "shoes" else f"fashion-iq-{meta['category']}"
    projection = {f.removeprefix("projection_").removesuffix(".npy"): art.array(f.removesuffix(".npy"))
                  for f in art.manifest["files"] if f.startswith("projection_")}
    return Catalog(name=f"{prefix}-{art.path.name}", features=art.array("features"), spatial=art.array("spatial"),
                   attributes=art.array("attributes"), train_ids=art.array("train_ids"),
                   test_ids=art.array("test_ids"), projection=projection, path=art.path, meta=meta,
                   item_names=tuple(items["names"]), image_files=tuple(items["files"]))


def is_file_catalog(catalog: Catalog) -> bool:
    """Whether `catalog` was built from a dataset's files (its corpora and dialogs live beside it)."""
    return catalog.meta.get("source") == "files" and catalog.path is not None


def file_corpus(catalog: Catalog, split: str) -> Corpus:
    """The caption corpus of a file catalog's split, read from its artifact."""
    if not is_file_catalog(catalog):
        raise ValueError(f"catalog {catalog.name!r} was not built from a dataset's files")
    catalog.split_ids(split)  # checks the split's name
    return Corpus.load(catalog.path / f"corpus-{split}.json")


# ---------------------------------------------------------------- names in the data home


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise ValueError(f"catalog name {name!r} must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with "
                         "a letter or digit")
    return name


def entry_path(name: str, cache: ArtifactCache | None = None) -> Path:
    return (cache or ArtifactCache()).root / CATALOGS_DIR / f"{check_name(name)}.json"


def register(name: str, config: FileCatalogConfig, key: dict[str, Any], cache: ArtifactCache | None = None) -> Path:
    """Record `name` -> (config, artifact key) in the data home (atomically), for `load_named` to find."""
    return write_json({"format": _ENTRY_FORMAT, "name": name, "config": config.to_json(), "key": key},
                      entry_path(name, cache))


def registered_names(cache: ArtifactCache | None = None) -> list[str]:
    folder = (cache or ArtifactCache()).root / CATALOGS_DIR
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_named(name_or_path: str, cache: ArtifactCache | None = None, device: str = "cpu",
               progress: bool = True) -> Catalog:
    """A file catalog by its registered name, or from a catalog entry / config JSON file at a path.

    The entry pins the artifact that was built; if it is gone (a cleaned data home) the catalog is built again
    from the files the entry names, and the entry is updated.
    """
    cache = cache or ArtifactCache()
    path = Path(name_or_path).expanduser()
    if path.suffix == ".json" and path.is_file():
        source, name = path, None
    else:
        source, name = entry_path(name_or_path, cache), name_or_path
        if not source.is_file():
            known = registered_names(cache)
            raise ValueError(f"unknown catalog {name_or_path!r}: not 'full' or 'tiny', not a built catalog of this "
                             f"data home ({', '.join(known) if known else 'none built yet'}) and not a catalog JSON "
                             "file; build one with python -m simulators.build catalog --format shoes|fashion-iq ...")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        entry = data if data.get("format") == _ENTRY_FORMAT else {"config": data}
        config = FileCatalogConfig.from_json(entry["config"])
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError) as err:
        raise ValueError(f"{source} is not a catalog entry or a catalog config JSON ({err})") from None
    if "key" in entry:
        try:
            art = cache.load(KIND, entry["key"])
        except CorruptArtifactError:
            art = None
        if art is not None:
            return _from_artifact(art)
    catalog, key = build_file_catalog(config, cache, device, progress)
    if name is not None:
        register(name, config, key, cache)
    return catalog


__all__ = ["FASHION_IQ_CATEGORIES", "FORMATS", "SOURCES", "DatasetError", "DatasetFiles", "FileCatalogConfig",
           "ImageFileError", "build_file_catalog", "caption_corpora", "file_corpus", "is_file_catalog", "load_named",
           "read_dataset", "register", "registered_names"]
