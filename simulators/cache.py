"""The one artifact cache: built things (catalog, corpus, vocabulary, trained simulator) live here.

An artifact is a directory `<data home>/<kind>/<key>/` holding its files and a `manifest.json`
with the config that built it, each file's size and sha256, and library versions. The key is
a hash of (kind, config, format version), so a changed config builds a new artifact instead of
reusing a stale one. Artifacts are staged in a temporary directory and renamed into place, so a
crash never leaves a half-written artifact under its final name; every load verifies sizes and
checksums, so a truncated or corrupted file is detected instead of silently used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
DATA_HOME_ENV = "SHOE_RETRIEVAL_HOME"
MANIFEST = "manifest.json"


class CorruptArtifactError(RuntimeError):
    """An artifact on disk is incomplete, altered or does not match what was asked for."""


def data_home() -> Path:
    """`$SHOE_RETRIEVAL_HOME`, else `$XDG_CACHE_HOME/shoe-retrieval`, else `~/.cache/shoe-retrieval`."""
    explicit = os.environ.get(DATA_HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base).expanduser() / "shoe-retrieval"


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-able dict of a dataclass config (or a dict), for hashing and manifests."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    raise TypeError(f"config must be a dataclass instance or a dict, got {type(config).__name__}")


def config_key(kind: str, config: Any) -> str:
    payload = json.dumps({"kind": kind, "format": FORMAT_VERSION, "config": config_dict(config)},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def content_hash(path: str | Path) -> str:
    """An artifact's identity: sha256 over its files' names and sha256s as its manifest lists them.

    Unlike the manifest's own bytes it leaves out when and where the artifact was built, so two
    builds with identical files have the same hash. The files are not re-hashed here: call it on an
    artifact that was verified when loaded.
    """
    try:
        files = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))["files"]
        listing = {name: entry["sha256"] for name, entry in files.items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CorruptArtifactError(f"artifact {path} has no readable {MANIFEST} ({err})") from None
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
    return out


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A verified artifact directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise CorruptArtifactError(f"artifact {self.path} has no file {name!r} in its manifest")
        return self.path / name

    def array(self, name: str) -> np.ndarray:
        """Load `<name>.npy` (never pickled objects)."""
        return np.load(self.file(f"{name}.npy"), allow_pickle=False)

    def json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text(encoding="utf-8"))

    @property
    def meta(self) -> dict[str, Any]:
        return self.manifest.get("meta", {})


class ArtifactCache:
    """Build-once, verify-on-load storage under one data home."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else data_home()

    def path_for(self, kind: str, config: Any) -> Path:
        return self.root / kind / config_key(kind, config)

    def load(self, kind: str, config: Any) -> Artifact | None:
        """The verified artifact, None if it was never built; CorruptArtifactError if it is damaged."""
        path = self.path_for(kind, config)
        if not path.exists():
            return None
        return verify_artifact(path, kind, config)

    def write(self, kind: str, config: Any, writer: Callable[[Path], dict[str, Any] | None]) -> Artifact:
        """Stage files with `writer(staging_dir) -> meta`, checksum them, then move into place atomically."""
        return write_artifact(self.path_for(kind, config), kind, config, writer)

    def load_or_build(self, kind: str, config: Any, writer: Callable[[Path], dict[str, Any] | None],
                      on_corrupt: str = "rebuild") -> Artifact:
        """Load the artifact for `config`, building it first if absent.

        on_corrupt: "rebuild" warns and rebuilds a damaged artifact; "raise" refuses it.
        """
        if on_corrupt not in ("rebuild", "raise"):
            raise ValueError(f"on_corrupt must be 'rebuild' or 'raise', got {on_corrupt!r}")
        try:
            art = self.load(kind, config)
        except CorruptArtifactError as err:
            if on_corrupt == "raise":
                raise
            warnings.warn(f"{err}; rebuilding it", stacklevel=2)
            art = None
        return art if art is not None else self.write(kind, config, writer)


def write_artifact(final: str | Path, kind: str, config: Any,
                   writer: Callable[[Path], dict[str, Any] | None]) -> Artifact:
    """Write an artifact directory at `final` atomically: `writer(staging_dir) -> meta` stages the files, every
    file is fsynced and checksummed into the manifest, then the directory is renamed into place (replacing an
    older one at `final`). Used by the artifact cache and by training checkpoints; read back with
    `verify_artifact`."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{final.name}-", dir=final.parent))
    try:
        meta = writer(staging) or {}
        files = {}
        for p in sorted(staging.iterdir()):
            if p.name == MANIFEST or not p.is_file():
                continue
            _fsync(p)
            files[p.name] = {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        manifest = {
            "kind": kind,
            "key": final.name,
            "format": FORMAT_VERSION,
            "config": config_dict(config),
            "files": files,
            "meta": meta,
            "versions": _versions(),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json(manifest, staging / MANIFEST)
        if final.exists():
            # An older (or damaged) artifact under the final name: move it aside, then take its place.
            trash = final.with_name(f".trash-{final.name}-{uuid.uuid4().hex[:8]}")
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.exists():
                raise
            # Another process finished the same artifact first; keep theirs.
            shutil.rmtree(staging, ignore_errors=True)
            return verify_artifact(final, kind, config)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Artifact(final, manifest)


def verify_artifact(path: Path, kind: str | None = None, config: Any = None) -> Artifact:
    """Check the manifest, every file's size and sha256, and (optionally) kind and config."""
    hint = f"delete {path} (or the whole data home) to rebuild it"
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptArtifactError(f"artifact {path} has no {MANIFEST} (an interrupted build?); {hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptArtifactError(f"artifact {path} has an unreadable {MANIFEST} ({err}); {hint}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CorruptArtifactError(f"artifact {path} has a malformed {MANIFEST}; {hint}")
    if kind is not None and manifest.get("kind") != kind:
        raise CorruptArtifactError(f"artifact {path} is a {manifest.get('kind')!r}, expected {kind!r}; {hint}")
    if config is not None and manifest.get("config") != json.loads(json.dumps(config_dict(config), default=str)):
        raise CorruptArtifactError(f"artifact {path} was built from a different config; {hint}")
    for name, entry in manifest["files"].items():
        f = path / name
        if not f.is_file():
            raise CorruptArtifactError(f"artifact {path} is missing {name}; {hint}")
        size = f.stat().st_size
        if size != entry.get("bytes"):
            raise CorruptArtifactError(
                f"{f} has {size} bytes, its manifest says {entry.get('bytes')} (truncated or altered); {hint}")
        if file_sha256(f) != entry.get("sha256"):
            raise CorruptArtifactError(f"{f} fails its sha256 check (corrupted or altered); {hint}")
    return Artifact(path, manifest)


def save_array(directory: Path, name: str, array: np.ndarray) -> None:
    np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def save_json(directory: Path, name: str, obj: Any) -> None:
    write_json(obj, directory / name)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_text(text: str, path: str | Path) -> Path:
    """The one atomic text writer: staged beside `path`, fsynced, then renamed over it (folders created).

    Readers see the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(obj: Any, path: str | Path, sort_keys: bool = True) -> Path:
    """The one atomic JSON writer (through `write_text`). Numpy scalars are written as floats."""
    return write_text(json.dumps(obj, indent=1, sort_keys=sort_keys, default=_json_default), path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
