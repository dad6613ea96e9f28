"""A snapshot of one session's whole analysis state, so that a worker taking over a session
resumes from it instead of replaying the session's frames from the start (docs/live.md).

A snapshot is the driver (`Analysis`: every stage's state, the report fold, the ASR jobs in
flight) pickled at a frame boundary, with where it stands: the id of the last frame applied,
the frames applied and the events published. The stages drop their runtime resources when
pickled and make them again when loaded (`__getstate__`/`__setstate__`: the driver's lock,
the VAD's onnxruntime session, the voice encoder, the face meshes, the ASR process); no
model object is ever in a snapshot.

Pickle (protocol 5) is safe here only because the one writer of a snapshot is our own
worker process, into the deployment's own Redis, read back by another of our workers: never
load one from anywhere else. A snapshot is refused (`SnapshotError`, and the worker falls
back) when it is damaged (its SHA-256 does not match) or was made by other code: the code
version is a hash of the analysis packages' sources, so two workers agree only when they
run the same stages.

Layout: MAGIC (8 bytes), FORMAT (1 byte), code version (32), SHA-256 of the body (32),
body = zlib(pickle of {"frame", "frames", "published", "analysis"}).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from analysis.driver import Analysis

MAGIC = b"LGDSNAP\x00"
FORMAT = 1
#: the packages whose code makes the analysis state (not server, hr, dashboard, lgd)
_STAGES = ("core", "media", "diarize", "interaction", "analysis")
_HEAD = len(MAGIC) + 1 + 32 + 32
ZLIB_LEVEL = 1  # audio histories barely compress; level 1 gets nearly all there is, fast


class SnapshotError(ValueError):
    """A snapshot that cannot be used: why, for the log."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    frame: str  #: id of the last frame applied (the frames stream's entry id)
    frames: int  #: frames applied
    published: int  #: events published: the next event number
    analysis: Analysis  #: its sink unset: the host sets its own


@cache
def code_version() -> bytes:
    """SHA-256 of what makes the state: the stages' sources, the snapshot format, and the
    Python and numpy versions (pickle and array layouts)."""
    h = hashlib.sha256(f"{FORMAT} {sys.version_info[:2]} {np.__version__}".encode())
    root = Path(__file__).resolve().parent.parent
    for pkg in _STAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.digest()


def dump(snap: Snapshot) -> bytes:
    body = zlib.compress(pickle.dumps(
        {"frame": snap.frame, "frames": snap.frames, "published": snap.published,
         "analysis": snap.analysis}, protocol=5), ZLIB_LEVEL)
    return MAGIC + bytes([FORMAT]) + code_version() + hashlib.sha256(body).digest() + body


def load(blob: bytes | None) -> Snapshot:
    """The snapshot in `blob`; SnapshotError (saying why) if there is none, or it is damaged,
    or another code version made it."""
    if not blob:
        raise SnapshotError("no snapshot")
    if len(blob) < _HEAD or not blob.startswith(MAGIC):
        raise SnapshotError("not a snapshot")
    if blob[len(MAGIC)] != FORMAT:
        raise SnapshotError(f"snapshot format {blob[len(MAGIC)]}, this worker reads {FORMAT}")
    at = len(MAGIC) + 1
    if blob[at:at + 32] != code_version():
        raise SnapshotError("made by another code version")
    digest, body = blob[at + 32:at + 64], blob[_HEAD:]
    if hashlib.sha256(body).digest() != digest:
        raise SnapshotError("damaged (checksum mismatch)")
    # trusted: written by our own worker (see the module docstring)
    d = pickle.loads(zlib.decompress(body))  # noqa: S301
    if not isinstance(d.get("analysis"), Analysis):
        raise SnapshotError("holds no analysis")
    return Snapshot(str(d["frame"]), int(d["frames"]), int(d["published"]), d["analysis"])
