"""Face and head cues per candidate from their video, with mediapipe's bundled face mesh.

A plain synchronous stage, called off the event loop (an executor) at 2-5 fps per
candidate: `push_frame(who, at, frame)` returns a `FaceCue` each time a candidate's
`window_s` of frames is complete; `check_silence(at)` reports cameras that stopped sending;
`flush()` closes the open windows. It never reads the clock.

Everything is geometry of the 478 landmarks, in units of the candidate's inter-ocular
distance (IOD) so it does not depend on camera distance, and relative to the candidate's
own reference (median of their first `reference_frames` frames) where a neutral face is
needed. A window is `ok` only when most of its frames hold exactly one face; otherwise its
status says why (camera_off | dark | no_face | several_faces) and its cues are empty.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from core.events import FaceCue
from diarize.config import FaceConfig
from diarize.face_geometry import REF_KEYS, Swing, measure_face


@dataclass(slots=True)
class _Frame:
    at: float
    faces: int
    luma: float
    m: dict[str, float] = field(default_factory=dict)  # measures of the one face


@dataclass(slots=True)
class _Candidate:
    mesh: object | None = None
    window_start: float | None = None
    frames: list[_Frame] = field(default_factory=list)
    last_at: float | None = None
    silent_reported: float | None = None  # when camera_off was last reported
    ref: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in REF_KEYS})
    nod: Swing = field(default_factory=lambda: Swing())
    shake: Swing = field(default_factory=lambda: Swing())
    eyes_closed: bool = False
    #: one frame at a time per candidate (a mesh graph is not re-entrant); candidates run
    #: in parallel, and check_silence from the audio thread waits at most one frame.
    lock: threading.Lock = field(default_factory=threading.Lock)

    # A snapshot (analysis/snapshot.py) keeps the windows and references, never the mesh (a
    # mediapipe graph: made again on the next frame; static-image mode keeps no tracking
    # state) or the lock.
    def __getstate__(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("mesh", "lock")}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.mesh, self.lock = None, threading.Lock()


class FaceAnalyzer:
    def __init__(self, ids: list[str], config: FaceConfig | None = None) -> None:
        self.ids = list(ids)
        self.config = config or FaceConfig()
        self._c = {pid: _Candidate() for pid in self.ids}
        self.frames_analysed = 0

    def _mesh(self, c: _Candidate):
        if c.mesh is None:
            from mediapipe.python.solutions import face_mesh  # bundled model, no download

            c.mesh = face_mesh.FaceMesh(
                static_image_mode=True,  # at 2-5 fps, tracking from the last frame lags
                max_num_faces=2,  # to notice a second person, not to analyse them
                refine_landmarks=False,
                min_detection_confidence=self.config.min_confidence,
                min_tracking_confidence=self.config.min_confidence,
            )
        return c.mesh

    def push_frame(self, who: str, at: float, frame: np.ndarray) -> list[FaceCue]:
        """frame: (H, W, 3) uint8 RGB, the candidate's camera at session time `at`."""
        if who not in self._c:
            raise ValueError(f"unknown participant {who!r}")
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
        c = self._c[who]
        with c.lock:
            return self._push(who, c, at, frame)

    def _push(self, who: str, c: _Candidate, at: float, frame: np.ndarray) -> list[FaceCue]:
        out = self._close_window(who, at) if c.window_start is not None else []
        if c.window_start is None:
            c.window_start = at
        c.last_at, c.silent_reported = at, None
        result = self._mesh(c).process(np.ascontiguousarray(frame))  # type: ignore[attr-defined]
        self.frames_analysed += 1
        faces = result.multi_face_landmarks or []
        f = _Frame(at, len(faces), float(frame.mean()))
        if len(faces) == 1:
            h, w = frame.shape[:2]
            pts = np.array([(q.x * w, q.y * h, q.z * w) for q in faces[0].landmark])
            f.m = measure_face(pts)
        c.frames.append(f)
        return out

    def check_silence(self, at: float) -> list[FaceCue]:
        """camera_off for every candidate without a frame for `camera_off_s` (once per
        window while it lasts); also closes the open windows that `at` has passed."""
        cfg, out = self.config, []
        for who, c in self._c.items():
            with c.lock:
                late = cfg.window_s + cfg.camera_off_s
                if c.window_start is not None and at - c.window_start >= late:
                    out += self._close_window(who, at)
                since = c.last_at if c.last_at is not None else 0.0
                if at - since >= cfg.camera_off_s and (
                    c.silent_reported is None or at - c.silent_reported >= cfg.window_s
                ):
                    c.silent_reported = at
                    out.append(FaceCue(who, round(at, 2), "camera_off", {}))
        return out

    def flush(self) -> list[FaceCue]:
        out: list[FaceCue] = []
        for who, c in self._c.items():
            with c.lock:
                if c.frames:
                    out.append(self._cue(who, c.frames[-1].at, c.frames))
                c.frames, c.window_start = [], None
        return out

    def _close_window(self, who: str, now: float) -> list[FaceCue]:
        c = self._c[who]
        assert c.window_start is not None
        if now - c.window_start < self.config.window_s:
            return []
        frames, c.frames = c.frames, []
        c.window_start = None
        return [self._cue(who, frames[-1].at, frames)] if frames else []

    def _cue(self, who: str, at: float, frames: list[_Frame]) -> FaceCue:
        cfg, c = self.config, self._c[who]
        one = [f for f in frames if f.faces == 1]
        if len(one) * 2 < len(frames):
            several = sum(f.faces > 1 for f in frames)
            if several * 2 >= len(frames):
                status = "several_faces"
            elif np.mean([f.luma for f in frames]) < cfg.dark_luma:
                status = "dark"
            else:
                status = "no_face"
            return FaceCue(who, round(at, 2), status, {"present": len(one) / len(frames)})
        cues: dict[str, float] = {"present": round(len(one) / len(frames), 3)}
        looking = [abs(f.m["yaw"]) <= cfg.looking_max_deg and abs(f.m["pitch"]) <=
                   cfg.looking_max_deg for f in one]
        cues["looking"] = round(float(np.mean(looking)), 3)
        nods = shakes = blinks = 0
        for f in one:
            nods += c.nod.add(f.at, f.m["nose_y"], cfg.nod_min_iod, cfg.nod_max_s)
            shakes += c.shake.add(f.at, f.m["nose_x"], cfg.nod_min_iod, cfg.nod_max_s)
            closed = f.m["ear"] < cfg.blink_ear
            blinks += int(closed and not c.eyes_closed)
            c.eyes_closed = closed
            if len(c.ref["smile"]) < cfg.reference_frames:
                for k in REF_KEYS:
                    c.ref[k].append(f.m[k])
        cues["nod"], cues["shake"] = float(nods), float(shakes)
        span = max(cfg.window_s, frames[-1].at - frames[0].at)
        cues["blink_rate"] = round(blinks * 60.0 / span, 2)  # a lower bound at 2-5 fps
        ref = {k: float(np.median(v)) for k, v in c.ref.items()}
        mean = {k: float(np.mean([f.m[k] for f in one])) for k in REF_KEYS}
        # Relative changes against the candidate's own reference face, mapped to 0..1 at
        # changes typical of a clear expression (smile widens the mouth ~15 %, a frown
        # lowers and draws the brows ~10 %, pressed lips thin ~20 %).
        cues["smile"] = _unit((mean["smile"] / ref["smile"] - 1) / 0.15)
        cues["brow_tension"] = _unit(
            ((1 - mean["brow_gap"] / ref["brow_gap"]) + (1 - mean["brow_dist"] / ref["brow_dist"]))
            / 0.10
        )
        cues["jaw_tension"] = _unit((1 - mean["lips"] / max(ref["lips"], 1e-6)) / 0.20)
        return FaceCue(who, round(at, 2), "ok", cues)


def _unit(x: float) -> float:
    return round(float(np.clip(x, 0.0, 1.0)), 3)
