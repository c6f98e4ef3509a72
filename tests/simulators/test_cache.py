import json
from dataclasses import dataclass

import numpy as np
import pytest

from simulators.cache import ArtifactCache, CorruptArtifactError, config_key, data_home, save_array


@dataclass(frozen=True)
class Cfg:
    seed: int = 0
    n: int = 5


def _writer(calls: list):
    def write(staging):
        calls.append(1)
        save_array(staging, "x", np.arange(1000, dtype=np.float32))
        return {"note": "built"}
    return write


def test_data_home_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SHOE_RETRIEVAL_HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home"


def test_builds_once_then_loads(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []
    a = cache.load_or_build("thing", Cfg(), _writer(calls))
    b = cache.load_or_build("thing", Cfg(), _writer(calls))
    assert calls == [1]
    assert a.path == b.path
    np.testing.assert_array_equal(b.array("x"), np.arange(1000, dtype=np.float32))
    assert b.meta == {"note": "built"}
    manifest = json.loads((a.path / "manifest.json").read_text())
    assert manifest["files"]["x.npy"]["bytes"] == (a.path / "x.npy").stat().st_size
    assert not [p for p in tmp_path.rglob(".staging-*")]


def test_changed_config_builds_new_artifact(tmp_path):
    cache, calls = ArtifactCache(tmp_path), []
    a = cache.load_or_build("thing", Cfg(seed=0), _writer(calls))
    b = cache.load_or_build("thing", Cfg(seed=1), _writer(calls))
    assert calls == [1, 1]
    assert a.path != b.path
    assert config_key("thing", Cfg(seed=0)) != config_key("thing", Cfg(seed=1))


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest"])
def test_damaged_artifact_is_detected(tmp_path, damage):
    cache, calls = ArtifactCache(tmp_path), []
    art = cache.load_or_build("thing", Cfg(), _writer(calls))
    target = art.path / "x.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-10])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete":
        target.unlink()
    else:
        (art.path / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptArtifactError, match="rebuild"):
        cache.load("thing", Cfg())
    with pytest.raises(CorruptArtifactError):
        cache.load_or_build("thing", Cfg(), _writer(calls), on_corrupt="raise")
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = cache.load_or_build("thing", Cfg(), _writer(calls))
    assert calls == [1, 1]
    np.testing.assert_array_equal(rebuilt.array("x"), np.arange(1000, dtype=np.float32))


def test_failed_build_leaves_nothing(tmp_path):
    cache = ArtifactCache(tmp_path)

    def broken(staging):
        save_array(staging, "x", np.zeros(3))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.write("thing", Cfg(), broken)
    assert cache.load("thing", Cfg()) is None
    assert not list((tmp_path / "thing").iterdir())


def test_bad_on_corrupt_value(tmp_path):
    with pytest.raises(ValueError, match="on_corrupt"):
        ArtifactCache(tmp_path).load_or_build("thing", Cfg(), _writer([]), on_corrupt="ignore")
