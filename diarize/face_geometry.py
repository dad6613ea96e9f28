"""Face geometry from mediapipe face-mesh landmarks, and head-motion swing counting.

Pure numpy: the analyser (`diarize/face.py`) feeds it landmarks in pixels; every measure is
in inter-ocular distances (IOD) so it does not depend on camera distance.
"""

from __future__ import annotations

import numpy as np

# Face-mesh landmark indices (mediapipe canonical face model).
NOSE, FOREHEAD, CHIN = 1, 10, 152
EYE_R_OUT, EYE_R_IN, EYE_L_IN, EYE_L_OUT = 33, 133, 362, 263
CHEEK_R, CHEEK_L = 234, 454
MOUTH_R, MOUTH_L, LIP_TOP, LIP_BOTTOM, LIP_IN_TOP, LIP_IN_BOTTOM = 61, 291, 0, 17, 13, 14
BROW_R_IN, BROW_L_IN, BROW_R_MID, BROW_L_MID = 55, 285, 105, 334
LID_R_UP, LID_L_UP = 159, 386
EAR_R = (160, 144, 158, 153)  # upper/lower lid pairs of the right eye
EAR_L = (385, 380, 387, 373)

REF_KEYS = ("smile", "brow_gap", "brow_dist", "lips")  #: measures needing a neutral reference


class Swing:
    """Counts out-and-back excursions of a signal (a nod: the nose goes down and back up).

    Turning points are found with hysteresis (the signal must come back `amp` from an
    extreme); two turning points no more than `max_s` apart make one swing.
    """

    def __init__(self) -> None:
        self.dir = 0  # +1 rising (tracking a maximum), -1 falling, 0 not yet known
        self.ext = self.lo = self.hi = 0.0
        self.ext_at = self.lo_at = self.hi_at = 0.0
        self.started = False
        self.pending: float | None = None  # time of an unpaired turning point

    def add(self, at: float, v: float, amp: float, max_s: float) -> int:
        """Feed one sample; returns 1 when it completes a swing, else 0."""
        if not self.started:
            self.started = True
            self.lo = self.hi = v
            self.lo_at = self.hi_at = at
            return 0
        if self.dir == 0:
            if v < self.lo:
                self.lo, self.lo_at = v, at
            if v > self.hi:
                self.hi, self.hi_at = v, at
            if v - self.lo >= amp:
                self.dir, self.ext, self.ext_at = 1, v, at
            elif self.hi - v >= amp:
                self.dir, self.ext, self.ext_at = -1, v, at
            return 0
        if (v - self.ext) * self.dir > 0:
            self.ext, self.ext_at = v, at  # still moving away: a new extreme
            return 0
        if abs(v - self.ext) < amp:
            return 0
        turn = self.ext_at  # the extreme was a turning point
        self.dir, self.ext, self.ext_at = -self.dir, v, at
        if self.pending is not None and turn - self.pending <= max_s:
            self.pending = None
            return 1
        self.pending = turn
        return 0


def _dist(p: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(p[a, :2] - p[b, :2]))


def measure_face(p: np.ndarray) -> dict[str, float]:
    """Geometry of one face. p: (478, 3) landmarks in pixels (z scaled like x)."""
    iod = _dist(p, EYE_R_OUT, EYE_L_OUT)
    cheek = p[CHEEK_L] - p[CHEEK_R]
    vert = p[CHIN] - p[FOREHEAD]
    mid_cheek = (p[CHEEK_L, :2] + p[CHEEK_R, :2]) / 2
    ear = [
        (_dist(p, a, b) + _dist(p, c, d)) / (2 * _dist(p, o, i))
        for (a, b, c, d), o, i in ((EAR_R, EYE_R_OUT, EYE_R_IN), (EAR_L, EYE_L_IN, EYE_L_OUT))
    ]
    return {
        "iod": iod,
        "nose_y": float(p[NOSE, 1] / iod),
        "nose_x": float((p[NOSE, 0] - mid_cheek[0]) / iod),
        "yaw": float(np.degrees(np.arctan2(cheek[2], cheek[0]))),
        "pitch": float(np.degrees(np.arctan2(-vert[2], vert[1]))),
        "smile": _dist(p, MOUTH_R, MOUTH_L) / iod,
        "brow_gap": (p[LID_R_UP, 1] - p[BROW_R_MID, 1] + p[LID_L_UP, 1] - p[BROW_L_MID, 1])
        / (2 * iod),
        "brow_dist": _dist(p, BROW_R_IN, BROW_L_IN) / iod,
        "lips": (_dist(p, LIP_TOP, LIP_BOTTOM) - _dist(p, LIP_IN_TOP, LIP_IN_BOTTOM)) / iod,
        "ear": float(np.mean(ear)),
    }
