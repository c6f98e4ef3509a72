"""The human-caption report on files of our own: its counts add up, and no caption text leaves it."""

from __future__ import annotations

import json

from benchmarks.reports.human_captions import main

CAPTIONS = ["is darker with a higher heel", "has black laces", "is taupe", "has ruffles", "are identical",
            "is not as shiny", "are identical"]


def test_report_counts_every_caption_once_and_writes_no_caption(tmp_path, capsys):
    records = [{"ImageName": f"img_{i}.jpg", "ReferenceImageName": "img_x.jpg", "RelativeCaption": text}
               for i, text in enumerate(CAPTIONS)]
    (tmp_path / "relative_captions_shoes.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "captions_shoes.json").write_text(
        json.dumps([{"ImageName": "img_0.jpg", "Caption": "red suede pumps"}]), encoding="utf-8")
    out = tmp_path / "report.json"
    report = main(["--captions", str(tmp_path), "--catalog", "tiny", "--pairs", "50", "--repeats", "1",
                   "--out", str(out)])
    relative = report["files"]["relative"]
    assert relative["captions"] == 7 and relative["usable"] == 2
    assert relative["usable"] + sum(relative["first_cause"].values()) == 7
    assert relative["first_cause"]["no claim"] == 2 and relative["first_cause"]["unknown word"] == 1
    assert report["files"]["single"]["usable"] == 1
    assert report["truth"]["relative"]["distinct_usable"] == 2
    written = out.read_text(encoding="utf-8") + capsys.readouterr().out
    for text in CAPTIONS[:3] + ["red suede pumps"]:
        assert text not in written
