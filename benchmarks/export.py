"""SynthShoes written out as a real dataset's files, to test and time the path a real catalog takes.

The Shoes photographs and Fashion IQ's images cannot be fetched on the project's machines, so the real path
(`simulators.datasets`) is exercised on an export: every item's render saved as a lossless PNG in the dataset's
folder layout, the catalog's caption corpora written in the dataset's caption format, and its split in the
dataset's split files. Building a catalog from the export must give SynthShoes's own features for the same
renders (same CNN, preprocessing and PCA fits), within float tolerance.

    configs = export_catalog(catalog, "export/", {"train": train_corpus, "test": test_corpus})
    real = registry.load_catalog(configs["shoes"])          # through the files, as a user with the photos would

Layouts (file names as the datasets spell them; the files are PNG, which the base-name lookup finds):

- shoes: `<root>/shoes/images/womens_<category>/img_womens_<category>_<i>.png` and `<root>/shoes/dataset/`
  with `relative_captions_shoes.json`, `captions_shoes.json`, `train_im_names.txt`, `eval_im_names.txt`;
- fashion-iq: `<root>/fashion-iq/images/<id>.png`, `captions/cap.<category>.{train,val,test}.json` (two
  captions per pair: the corpus's and a second one from the caption grammar; the test file without targets,
  as published) and `image_splits/split.<category>.{train,val,test}.json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from simulators.cache import write_json, write_text
from simulators.catalog.catalog import Catalog
from simulators.catalog.params import CATEGORIES
from simulators.datasets import FORMATS, FileCatalogConfig
from simulators.language.corpus import RELATIVE, SINGLE, Corpus
from simulators.users import GrammarUser

FASHION_IQ_CATEGORY = "shoes"
"""The category name the Fashion IQ export files use (Fashion IQ itself has dress, shirt and toptee)."""


def item_names(catalog: Catalog, format: str) -> list[str]:
    """Each item's image name as the dataset's files would spell it."""
    if format == "shoes":
        slugs = [CATEGORIES[int(c)].replace(" ", "_") for c in catalog.params["category"]]
        return [f"img_womens_{slug}_{i}.jpg" for i, slug in enumerate(slugs)]
    if format == "fashion-iq":
        return [f"SYN{i:05d}" for i in range(len(catalog))]
    raise ValueError(f"unknown format {format!r}; expected one of {FORMATS}")


def image_relpath(name: str, format: str) -> str:
    stem = name.removesuffix(".jpg")
    return f"{stem.rsplit('_', 1)[0].removeprefix('img_')}/{stem}.png" if format == "shoes" else f"{stem}.png"


def export_catalog(catalog: Catalog, root: str | Path, corpora: Mapping[str, Corpus], formats: Sequence[str] = FORMATS,
                   batch: int = 256, progress: bool = True) -> dict[str, FileCatalogConfig]:
    """Write `catalog` (SynthShoes) under `root` in each of `formats`; {format: the FileCatalogConfig reading it}.

    `corpora` holds the "train" and "test" corpora to write as captions. The configs carry the catalog's own
    image size, backbone and feature dimensions, so a build from the export is comparable with the native one.
    """
    from PIL import Image

    if catalog.params is None or catalog.config is None:
        raise ValueError("export_catalog exports a SynthShoes catalog (it renders the images)")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown formats {unknown}; expected some of {FORMATS}")
    root = Path(root)
    names = {f: item_names(catalog, f) for f in formats}
    folders = {f: root / f / "images" for f in formats}
    size = catalog.config.image_size
    bar = tqdm(total=len(catalog), disable=not progress, desc="export images", unit="img")
    for start in range(0, len(catalog), batch):
        ids = np.arange(start, min(start + batch, len(catalog)))
        for i, image in zip(ids, catalog.render(ids, size), strict=True):
            for f in formats:
                path = folders[f] / image_relpath(names[f][i], f)
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path, compress_level=1)
        bar.update(len(ids))
    bar.close()
    configs = {}
    common = {"image_size": size, "backbone": catalog.config.backbone, "feature_dim": catalog.config.feature_dim,
              "spatial_channels": catalog.config.spatial_channels, "detail_channels": catalog.config.detail_channels}
    for f in formats:
        if f == "shoes":
            captions = _write_shoes(root / f / "dataset", catalog, names[f], corpora)
            configs[f] = FileCatalogConfig(format=f, images=str(folders[f]), captions=str(captions), **common)
        else:
            captions = _write_fashion_iq(root / f, catalog, names[f], corpora)
            configs[f] = FileCatalogConfig(format=f, images=str(folders[f]), captions=str(captions),
                                           category=FASHION_IQ_CATEGORY, **common)
    return configs


def _dump(obj: object, path: Path) -> None:
    write_text(json.dumps(obj), path)


def _write_shoes(folder: Path, catalog: Catalog, names: list[str], corpora: Mapping[str, Corpus]) -> Path:
    relative, single, seen = [], [], set()
    for corpus in (corpora["train"], corpora["test"]):
        for t, s, k, text in zip(corpus.target_ids, corpus.reference_ids, corpus.kind, corpus.captions, strict=True):
            if k == RELATIVE:
                relative.append({"ImageName": names[t], "ReferenceImageName": names[s], "RelativeCaption": text})
            elif k == SINGLE and (t, text) not in seen:
                seen.add((t, text))
                single.append({"ImageName": names[t], "Caption": text})
    _dump(relative, folder / "relative_captions_shoes.json")
    _dump(single, folder / "captions_shoes.json")
    write_text("".join(f"{names[i]}\n" for i in catalog.train_ids), folder / "train_im_names.txt")
    write_text("".join(f"{names[i]}\n" for i in catalog.test_ids), folder / "eval_im_names.txt")
    return folder


def _write_fashion_iq(folder: Path, catalog: Catalog, names: list[str], corpora: Mapping[str, Corpus]) -> Path:
    grammar = GrammarUser(catalog.params, seed=1)
    cat = FASHION_IQ_CATEGORY
    for split, corpus in (("train", corpora["train"]), ("val", corpora["test"])):
        rows = np.flatnonzero(corpus.kind == RELATIVE)
        t, s = corpus.target_ids[rows], corpus.reference_ids[rows]
        second = grammar.describe(t, s)
        records = [{"candidate": names[b], "target": names[a], "captions": [corpus.captions[r], other]}
                   for a, b, r, other in zip(t, s, rows, second, strict=True)]
        _dump(records, folder / "captions" / f"cap.{cat}.{split}.json")
    rows = np.flatnonzero(corpora["test"].kind == RELATIVE)[:50]
    _dump([{"candidate": names[corpora["test"].reference_ids[r]], "captions": [corpora["test"].captions[r], ""]}
           for r in rows], folder / "captions" / f"cap.{cat}.test.json")
    for split, ids in (("train", catalog.train_ids), ("val", catalog.test_ids), ("test", catalog.test_ids)):
        write_json([names[i] for i in ids], folder / "image_splits" / f"split.{cat}.{split}.json")
    return folder
