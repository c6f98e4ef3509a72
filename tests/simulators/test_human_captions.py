"""The human caption files' reader and the matcher from a human caption to claims, on small files of our own."""

from __future__ import annotations

import json

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
