"""Catalogs from files: the Shoes and Fashion IQ readers on small files of our own, the base-name image index and
every refusal (missing, ambiguous or unreadable images, unknown names, empty or overlapping splits, the Fashion IQ
test split), and a catalog built from a handful of images end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simulators import datasets, registry
from simulators.cache import ArtifactCache
from simulators.catalog.images import ImageFileError, ImageIndex, base_name, read_image
from simulators.datasets import DatasetError, FileCatalogConfig, read_fashion_iq, read_shoes
from simulators.human_captions import CaptionFileError
from simulators.replay import PairReplayUser
from simulators.users import SAME_ITEM_PHRASE, GrammarUser

SMALL = {"image_size": 32, "feature_dim": 4, "spatial_channels": 4, "detail_channels": 2, "refs_per_single": 2}
"""Feature sizes small enough for a dozen images."""


def _image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _shoes(root: Path, n_train: int = 8, n_test: int = 4) -> tuple[Path, Path]:
    """A Shoes-layout dataset of plain-colour images in nested folders: (image root, dataset folder)."""
    names = [f"img_womens_{'clogs' if i % 2 else 'pumps'}_{i}.jpg" for i in range(n_train + n_test)]
    for i, name in enumerate(names):
        folder = "womens_clogs" if i % 2 else "womens_pumps"
        _image(root / "photos" / folder / "sub" / name.replace(".jpg", ".png"), (20 * i, 255 - 20 * i, 7 * i))
    data = root / "dataset"
    data.mkdir(parents=True)
    train, test = names[:n_train], names[n_train:]
    (data / "train_im_names.txt").write_text("\n".join(train) + "\n")
    (data / "eval_im_names.txt").write_text("\n".join(test) + "\n")
    relative = [{"ImageName": train[i], "ReferenceImageName": train[i + 1], "RelativeCaption": f"is darker {i}"}
                for i in range(n_train - 1)]
    relative += [{"ImageName": test[0], "ReferenceImageName": test[1], "RelativeCaption": "has a strap"},
                 {"ImageName": train[0], "ReferenceImageName": test[0], "RelativeCaption": "crosses the splits"}]
    (data / "relative_captions_shoes.json").write_text(json.dumps(relative))
    (data / "captions_shoes.json").write_text(json.dumps([{"ImageName": train[2], "Caption": "are red pumps"}]))
    return root / "photos", data


def _fashion_iq(root: Path, category: str = "dress") -> tuple[Path, Path]:
    ids = [f"B00{i:04d}" for i in range(10)]
    for i, name in enumerate(ids):
        _image(root / "images" / f"{name}.jpg", (25 * i, 10, 200 - 15 * i), size=(30, 50))
    (root / "image_splits").mkdir(parents=True)
    (root / "captions").mkdir()
    for split, part in (("train", ids[:6]), ("val", ids[6:]), ("test", ids[6:])):
        (root / "image_splits" / f"split.{category}.{split}.json").write_text(json.dumps(part))
    train = [{"candidate": ids[i], "target": ids[i + 1], "captions": ["is longer", "is more blue"]} for i in range(5)]
    val = [{"candidate": ids[6], "target": ids[7], "captions": ["is shorter", ""]}]
    test = [{"candidate": ids[6], "captions": ["is red", "has sleeves"]}]
    for split, rows in (("train", train), ("val", val), ("test", test)):
        (root / "captions" / f"cap.{category}.{split}.json").write_text(json.dumps(rows))
    return root / "images", root


# ---------------------------------------------------------------- the image index


def test_base_names_drop_folders_and_image_extensions_only():
    assert base_name("a/b/img_womens_clogs_851.jpg") == "img_womens_clogs_851"
    assert base_name("B008BHCT58") == "B008BHCT58"
    assert base_name("x.PNG") == "x" and base_name("v1.2") == "v1.2"


def test_index_finds_images_by_base_name_in_nested_folders(tmp_path):
    _image(tmp_path / "a" / "b" / "one.png", (1, 2, 3))
    _image(tmp_path / "two.jpg", (4, 5, 6))
    index = ImageIndex.scan(tmp_path)
    assert index.resolve(["one.jpg", "two"]) == [tmp_path / "a" / "b" / "one.png", tmp_path / "two.jpg"]


def test_index_refuses_ambiguous_and_missing_names_counting_them(tmp_path):
    _image(tmp_path / "x" / "dup.png", (1, 2, 3))
    _image(tmp_path / "y" / "dup.jpg", (1, 2, 3))
    index = ImageIndex.scan(tmp_path)
    with pytest.raises(ImageFileError, match=r"1 base names are held by more than one file.*dup"):
        index.resolve(["dup.jpg"])
    with pytest.raises(ImageFileError, match=r"3 of 3 images have no file.*'m0', 'm1', 'm2'"):
        index.resolve(["m0", "m1", "m2"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageIndex.scan(tmp_path / "nowhere")


def test_images_are_padded_to_a_square_with_white_then_resized(tmp_path):
    _image(tmp_path / "wide.png", (0, 0, 0), size=(40, 20))
    image = read_image(tmp_path / "wide.png", 20)
    assert image.shape == (20, 20, 3) and image.dtype == np.uint8
    assert (image[0, :] == 255).all() and (image[10, :] == 0).all()  # white bands above and below the photo


# ---------------------------------------------------------------- the readers


def test_shoes_reader_reads_the_four_files(tmp_path):
    _, data = _shoes(tmp_path)
    files = read_shoes(data)
    assert len(files.train) == 8 and len(files.test) == 4
    assert files.relative[0].target == "img_womens_pumps_0.jpg" and files.relative[0].text == "is darker 0"
    assert files.single[0].text == "are red pumps" and len(files.inputs) == 4


def test_shoes_reader_names_a_missing_file_and_where_to_get_it(tmp_path):
    _, data = _shoes(tmp_path)
    (data / "eval_im_names.txt").unlink()
    with pytest.raises(FileNotFoundError, match="eval_im_names.txt.*fashion-retrieval"):
        read_shoes(data)


def test_fashion_iq_reader_makes_one_row_per_caption_and_skips_empty_ones(tmp_path):
    _, root = _fashion_iq(tmp_path)
    files = read_fashion_iq(root, "dress")
    assert len(files.train) == 6 and len(files.test) == 4
    assert len(files.relative) == 11  # 5 train pairs x 2 captions, and the val pair's one non-empty caption
    assert files.relative[0].target == "B000001" and files.relative[0].reference == "B000000"


def test_fashion_iq_test_split_is_refused_as_a_protocol_split(tmp_path):
    _, root = _fashion_iq(tmp_path)
    with pytest.raises(DatasetError, match="no targets"):
        FileCatalogConfig(format="fashion-iq", images=str(tmp_path), captions=str(root), category="dress",
                          test_split="test")
    with pytest.raises(CaptionFileError, match="no target.*cannot be a protocol split"):
        datasets.read_fashion_iq_captions(root / "captions" / "cap.dress.test.json")


def test_fashion_iq_reader_refuses_malformed_files(tmp_path):
    _, root = _fashion_iq(tmp_path)
    (root / "captions" / "cap.dress.train.json").write_text("[{\"candidate\": \"a\", \"target\": \"b\"}]")
    with pytest.raises(CaptionFileError, match="record 0.*missing key 'captions'"):
        read_fashion_iq(root, "dress")
    (root / "captions" / "cap.dress.train.json").write_text("{oops")
    with pytest.raises(CaptionFileError, match="not JSON"):
        read_fashion_iq(root, "dress")


def test_splits_must_be_non_empty_and_disjoint():
    with pytest.raises(DatasetError, match="the test split names no images"):
        datasets.check_splits(["a.jpg"], [])
    with pytest.raises(DatasetError, match="1 images are in both.*'b'"):
        datasets.check_splits(["a.jpg", "b.jpg"], ["b.png"])
    with pytest.raises(DatasetError, match="more than once"):
        datasets.check_splits(["a.jpg", "a.png"], ["c"])


def test_config_refuses_unknown_formats_and_missing_categories():
    with pytest.raises(ValueError, match="unknown format"):
        FileCatalogConfig(format="coco", images=".", captions=".")
    with pytest.raises(ValueError, match="needs a category"):
        FileCatalogConfig(format="fashion-iq", images=".", captions=".")


# ---------------------------------------------------------------- building


def _config(tmp_path: Path, **overrides) -> FileCatalogConfig:
    images, data = _shoes(tmp_path)
    return FileCatalogConfig(format="shoes", images=str(images), captions=str(data), **{**SMALL, **overrides})


def test_a_shoes_catalog_builds_with_its_captions_as_corpora(tmp_path):
    cache = ArtifactCache(tmp_path / "home")
    catalog, _ = datasets.build_file_catalog(_config(tmp_path), cache, progress=False)
    assert len(catalog) == 12 and list(catalog.train_ids) == list(range(8)) and catalog.feature_dim == 4
    assert catalog.item_names[8] == "img_womens_pumps_8.jpg" and not catalog.has_attributes
    assert catalog.meta["captions"] == {"relative": 8, "crossing": 1, "same_image": 0, "single": 1}
    train = datasets.file_corpus(catalog, "train")
    assert len(train) == 7 + 2 and train.captions[-1] == "are red pumps"  # the single caption, twice
    far = train.reference_ids[-2:]
    assert 2 not in far and set(far) <= set(range(8))  # distinct references from its own split
    assert catalog.render(3).shape == (32, 32, 3)
    again, _ = datasets.build_file_catalog(_config(tmp_path / "again"), cache, progress=False)
    assert again.name != catalog.name  # other files (paths, times): another artifact


def test_captions_naming_unknown_images_are_refused_before_any_feature_is_computed(tmp_path):
    config = _config(tmp_path)
    rows = json.loads((Path(config.captions) / "relative_captions_shoes.json").read_text())
    rows.append({"ImageName": "img_ghost_1.jpg", "ReferenceImageName": "img_ghost_2.jpg", "RelativeCaption": "x"})
    (Path(config.captions) / "relative_captions_shoes.json").write_text(json.dumps(rows))
    cache = ArtifactCache(tmp_path / "home")
    with pytest.raises(DatasetError, match=r"name 2 images that are in neither split: 'img_ghost_1.jpg'"):
        datasets.build_file_catalog(config, cache, progress=False)
    assert not (cache.root / datasets.KIND).exists() or not any((cache.root / datasets.KIND).iterdir())


def test_unreadable_and_missing_images_are_refused_and_nothing_is_written(tmp_path):
    config = _config(tmp_path)
    victim = next(Path(config.images).rglob("img_womens_pumps_4.png"))
    victim.write_bytes(b"not an image")
    cache = ArtifactCache(tmp_path / "home")
    with pytest.raises(ImageFileError, match=r"1 of 12 image files cannot be read as images.*img_womens_pumps_4"):
        datasets.build_file_catalog(config, cache, progress=False)
    victim.unlink()
    with pytest.raises(ImageFileError, match=r"1 of 12 images have no file.*img_womens_pumps_4.jpg"):
        datasets.build_file_catalog(config, cache, progress=False)
    kind = cache.root / datasets.KIND
    assert not kind.exists() or not [p for p in kind.iterdir() if not p.name.startswith(".")]


def test_attribute_users_need_an_attribute_file(tmp_path):
    config = _config(tmp_path)
    catalog, _ = datasets.build_file_catalog(config, ArtifactCache(tmp_path / "home"), progress=False)
    with pytest.raises(ValueError, match="has none: build it with an attribute file"):
        registry.make_user("attributes-3", catalog)
    with pytest.raises(ValueError, match="needs SynthShoes"):
        registry.make_user("grammar", catalog)
    scores = {name: [float(i + j) for j in range(10)] for i, name in enumerate(catalog.item_names)}
    (tmp_path / "attributes.json").write_text(json.dumps(scores))
    with_scores, _ = datasets.build_file_catalog(
        FileCatalogConfig(**{**config.to_json(), "attributes": str(tmp_path / "attributes.json")}),
        ArtifactCache(tmp_path / "home"), progress=False)
    assert with_scores.has_attributes and with_scores.attributes.min() == 0 and with_scores.attributes.max() == 1
    user = registry.make_user("attributes-1", with_scores)
    assert user.describe(np.array([5]), np.array([1]))[0].startswith("more")
    del scores[catalog.item_names[0]]
    (tmp_path / "attributes.json").write_text(json.dumps(scores))
    with pytest.raises(DatasetError, match="1 of 12 images have no attribute scores"):
        datasets.build_file_catalog(
            FileCatalogConfig(**{**config.to_json(), "attributes": str(tmp_path / "attributes.json")}),
            ArtifactCache(tmp_path / "home"), progress=False)


def test_named_catalogs_load_through_the_registry_and_unknown_names_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOE_RETRIEVAL_HOME", str(tmp_path / "home"))
    config = _config(tmp_path)
    catalog, key = datasets.build_file_catalog(config, progress=False)
    entry = datasets.register("my-shoes", config, key)
    assert registry.load_catalog("my-shoes").name == catalog.name
    assert registry.load_catalog(str(entry)).name == catalog.name
    assert "my-shoes" in registry.catalog_names() and registry.default_users(catalog) == ["captioner", "human-replay"]
    with pytest.raises(ValueError, match="unknown catalog 'nope'.*my-shoes"):
        registry.load_catalog("nope")
    with pytest.raises(ValueError, match="catalog name"):
        datasets.register("Bad Name", config, key)


def test_pair_replay_says_the_pairs_caption_and_falls_back_elsewhere(tiny_catalog):
    from simulators.language.corpus import RELATIVE, Corpus

    corpus = Corpus(np.array([3, 3]), np.array([5, 5]), np.array([RELATIVE, RELATIVE]), ["is red", "is blue"],
                    [(), ()])
    fallback = GrammarUser(tiny_catalog.params, seed=0)
    user = PairReplayUser([corpus], fallback, len(tiny_catalog), seed=0)
    said = user.describe(np.array([3, 3, 3, 4]), np.array([5, 5, 3, 9]),
                         rngs=[np.random.default_rng(i) for i in range(4)])
    assert said[0] in ("is red", "is blue") and said[2] == SAME_ITEM_PHRASE
    assert said[3] == fallback.describe(np.array([4]), np.array([9]), rngs=[np.random.default_rng(3)])[0]
    assert (user.answers, user.fallbacks) == (3, 1)
