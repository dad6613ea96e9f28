"""Real speech: the two speakers of pyannote.audio's bundled sample, one dry track each.

The sample (30 s, 16 kHz, English phone call; speaker90 = Diane, speaker91 = Sheila) has a
single channel, so only the parts of each RTTM segment that overlap no other speaker's
segment are usable as a clean per-speaker signal. Those pieces are re-laid out on a new
timeline in their original order, then go through the same room model as synthetic speech.

Truth choices:
- speech = the placed RTTM spans (not the 0.05 s pads), merged across gaps < 0.25 s;
- turns = consecutive pieces of one speaker form one floor holding;
- interruptions = the 2-3 deliberate overlaps: the next speaker starts 0.5-1.0 s before the
  previous piece ends, >= 1 s into it, and goes on >= 1.5 s after it ends, so each is a
  *successful* interruption {by: next, of: previous, at: next onset};
- backchannels = none (the sample's short "Hello?" exchanges are separate turns).
"""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

import numpy as np

from .mics import warp_truth
from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .session import Session
from .truth import Event, Floor, build_truth, merge_intervals

PAD_S = 0.05
MIN_PIECE_S = 0.3  # shorter clean remnants are fragments cut by overlap, not utterances
GAP_S = (0.2, 0.8)
OVERLAP_S = (0.5, 1.0)
IDS = {"speaker90": ("A", "Diane"), "speaker91": ("B", "Sheila")}


def _sample_dir() -> Path:
    spec = importlib.util.find_spec("pyannote.audio")  # locate only: importing needs torch
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pyannote.audio is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "sample"


def load_pyannote_sample() -> tuple[np.ndarray, int, dict[str, list[tuple[float, float]]]]:
    """(audio float32 mono, sample rate, {speaker: [(start, end), ...]}) from sample.rttm."""
    d = _sample_dir()
    with wave.open(str(d / "sample.wav")) as w:
        sr = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    segs: dict[str, list[tuple[float, float]]] = {}
    for line in (d / "sample.rttm").read_text().splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start = float(f[3])
            segs.setdefault(f[7], []).append((start, round(start + float(f[4]), 3)))
    return audio, sr, {k: sorted(v) for k, v in segs.items()}


def clean_pieces(
    segs: dict[str, list[tuple[float, float]]], total_s: float
) -> list[tuple[str, float, float, float, float]]:
    """(speaker, start, end, pad_start, pad_end) of every segment part free of other speakers,
    in time order; pads extend up to PAD_S into time where no other speaker's segment is."""
    out = []
    for spk, mine in segs.items():
        others = sorted(s for o, v in segs.items() if o != spk for s in v)
        for a, b in mine:
            parts = [(a, b)]
            for oa, ob in others:  # subtract every overlapping foreign segment
                parts = [
                    q
                    for pa, pb in parts
                    for q in ((pa, min(pb, oa)), (max(pa, ob), pb))
                    if q[1] - q[0] > 1e-6
                ]
            for pa, pb in parts:
                if pb - pa < MIN_PIECE_S:
                    continue
                lo = max([0.0, pa - PAD_S] + [ob for oa, ob in others if ob <= pa])
                hi = min([total_s, pb + PAD_S] + [oa for oa, ob in others if oa >= pb])
                out.append((spk, pa, pb, lo, hi))
    return sorted(out, key=lambda p: p[1])


def realspeech_session(seed: int, room: RoomConfig = DEFAULT_ROOM) -> Session:
    """Two candidates from real speech, with deliberate overlaps, through the room model."""
    audio, src_sr, segs = load_pyannote_sample()
    sr = room.sample_rate
    if src_sr != sr:
        raise ValueError(f"pyannote sample is {src_sr} Hz; RoomConfig.sample_rate must match")
    rng_lay, rng_room = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    pieces = clean_pieces(segs, len(audio) / sr)
    # Overlap candidates: a speaker change where both pieces are long enough for the rule.
    ok = [
        k
        for k in range(1, len(pieces))
        if pieces[k][0] != pieces[k - 1][0]
        and pieces[k - 1][2] - pieces[k - 1][1] >= 2.0
        and pieces[k][2] - pieces[k][1] >= 2.5
    ]
    n_ov = min(len(ok), int(rng_lay.integers(2, 4)))
    overlap_at = set(rng_lay.choice(ok, size=n_ov, replace=False).tolist()) if n_ov else set()
    placed: list[tuple[str, float, float, float]] = []  # (speaker, start, end, source start)
    t = float(rng_lay.uniform(0.3, 0.8))
    for k, (spk, a, b, _, _) in enumerate(pieces):
        if placed:
            prev_end = placed[-1][2]
            t = (
                prev_end - rng_lay.uniform(*OVERLAP_S)
                if k in overlap_at
                else prev_end + rng_lay.uniform(*GAP_S)
            )
        placed.append((spk, t, t + (b - a), a))
    n = int(round((placed[-1][2] + 0.5) * sr))
    pids = [IDS[s][0] for s in sorted(segs)]
    dry = {p: np.zeros(n, np.float32) for p in pids}
    for (spk, start, _, a), (_, _, _, lo, hi) in zip(placed, pieces, strict=True):
        x = audio[int(round(lo * sr)) : int(round(hi * sr))]
        k = int(round((start - (a - lo)) * sr))
        dry[IDS[spk][0]][k : k + len(x)] += x
    speech = {
        p: merge_intervals([(s, e) for spk, s, e, _ in placed if IDS[spk][0] == p]) for p in pids
    }
    floors: list[Floor] = []
    for spk, s, e, _ in placed:
        if floors and floors[-1].who == IDS[spk][0]:
            floors[-1].end = e
        else:
            floors.append(Floor(IDS[spk][0], s, e))
    events = [
        Event("succ", IDS[placed[k][0]][0], IDS[placed[k - 1][0]][0], placed[k][1])
        for k in sorted(overlap_at)
    ]
    truth = build_truth(speech, floors, events)
    truth["source"] = [
        {
            "who": IDS[spk][0],
            "rttm_speaker": spk,
            "rttm_start": a,
            "rttm_end": round(a + (e - s), 3),
            "start": round(s, 2),
            "end": round(e, 2),
        }
        for spk, s, e, a in placed
    ]
    tracks, truth["room"] = apply_room(dry, speech, room, rng_room)
    # capture offsets/drift: each candidate's truth on their own track's clock
    warp_truth(truth, {q: (o, d * 1e-6) for q, (o, d) in truth["room"]["warp"].items()})
    participants = [IDS[s] for s in sorted(segs)]
    return Session(participants, tracks, truth, n / sr, "en", sr)
