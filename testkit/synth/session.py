"""Synthetic sessions: script -> dry per-speaker tracks -> truth -> room -> mic tracks."""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .mics import warp_truth
from .room import DEFAULT_ROOM, RoomConfig, apply_room
from .script import Script, ScriptBuilder, quotas
from .texts import NAMES
from .truth import build_truth, speech_intervals
from .voices import pick_voices

MAX_ATTEMPTS = 20


@dataclass
class Session:
    participants: list[tuple[str, str]]  # (id, display name)
    tracks: dict[str, np.ndarray]  # per-mic float32 in [-1, 1], equal length
    truth: dict  # report-shaped truth (see truth.build_truth) + "room", "script", "voices"
    duration_s: float
    language: str
    sample_rate: int = 16000  # extra field (defaulted): tracks are at this rate


def mix_dry(script: Script, pids: list[str], n: int, sr: int) -> dict[str, np.ndarray]:
    """Each speaker's clean signal: their clips summed at their placed sample offsets."""
    dry = {p: np.zeros(n, np.float32) for p in pids}
    for c in script.clips:
        k = int(round(c.start * sr))
        m = min(len(c.audio), n - k)
        dry[c.who][k : k + m] += c.audio[:m]
    return dry


def synthesize_session(
    n_speakers: int,
    lang: str,
    seed: int,
    room: RoomConfig = DEFAULT_ROOM,
    duration_s: float = 90.0,
    voice_shift: int = 0,
) -> Session:
    """A scripted espeak-ng discussion between n_speakers (3..8) in "zh" or "en".

    Bit-for-bit reproducible per seed. If a script misses the event quotas (>= 3 successful,
    3 failed interruptions and 4 backchannels per 90 s) or leaves someone without a turn,
    the next attempt's seed is derived from the same seed, so the result stays deterministic.
    `voice_shift` rotates the drawn voices among the candidates (voices permuted: the same
    room and mics, each seat with another candidate's voice).
    """
    if not 3 <= n_speakers <= 8:
        raise ValueError("n_speakers must be in 3..8")
    if lang not in ("zh", "en"):
        raise ValueError("lang must be 'zh' or 'en'")
    sr = room.sample_rate
    voice_ss, script_ss, room_ss = np.random.SeedSequence(seed).spawn(3)
    voice_rng = np.random.default_rng(voice_ss)
    pids = [chr(ord("A") + i) for i in range(n_speakers)]
    drawn = pick_voices(lang, n_speakers, voice_rng)
    k = voice_shift % n_speakers
    voices = dict(zip(pids, drawn[k:] + drawn[:k], strict=True))
    names: dict[str, list[str]] = {g: list(v) for g, v in NAMES[lang].items()}
    for g in names:
        voice_rng.shuffle(names[g])
    participants = [(p, names[v.gender].pop()) for p, v in voices.items()]
    need = quotas(duration_s)
    for attempt_ss in script_ss.spawn(MAX_ATTEMPTS):
        script = ScriptBuilder(
            lang, voices, np.random.default_rng(attempt_ss), duration_s, sr
        ).build()
        everyone = {f.who for f in script.floors} == set(pids)
        if everyone and all(script.counts()[k] >= v for k, v in need.items()):
            break
    n = int(round(duration_s * sr))
    dry = mix_dry(script, pids, n, sr)
    speech = {p: speech_intervals(dry[p], sr) for p in pids}
    truth = build_truth(speech, script.floors, script.events)
    truth["script"] = [
        {
            "who": c.who,
            "kind": c.kind,
            "start": round(c.start, 2),
            "end": round(c.start + len(c.audio) / sr, 2),
            "text": c.text,
        }
        for c in sorted(script.clips, key=lambda c: c.start)
    ]
    truth["voices"] = {p: f"{v.voice} -p {v.pitch} -s {v.speed}" for p, v in voices.items()}
    tracks, truth["room"] = apply_room(dry, speech, room, np.random.default_rng(room_ss))
    # capture offsets/drift: each candidate's truth on their own track's clock
    warp_truth(truth, {q: (o, d * 1e-6) for q, (o, d) in truth["room"]["warp"].items()})
    return Session(participants, tracks, truth, n / sr, lang, sr)


def write_session(session: Session, out_dir: Path) -> dict[str, Path]:
    """{id}.wav (16-bit PCM mono) per mic plus truth.json (with participants); id -> wav path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sr = session.sample_rate
    paths = {}
    for pid, x in session.tracks.items():
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
        path = out_dir / f"{pid}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(pcm.tobytes())
        paths[pid] = path
    doc = {
        "participants": [{"id": p, "name": nm} for p, nm in session.participants],
        "duration_s": round(session.duration_s, 2),
        "language": session.language,
        **session.truth,
    }
    (out_dir / "truth.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    return paths
