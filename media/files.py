"""Offline audio input: decode per-candidate recordings to 16 kHz mono float32 tracks.

`decode_audio` reads any file PyAV's ffmpeg reads (wav, flac, ogg/opus, webm, mp4/m4a, mp3);
`load_tracks` decodes a set of them and checks they can share one session clock.
Every problem with the input is an `AudioInputError` whose message names the file.
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from core.clock import FRAME_SAMPLES, SAMPLE_RATE

MAX_DURATION_S = 4 * 3600.0  #: default oversize guard (4 h of one track ≈ 0.9 GB at 16 kHz)

# Sample formats PyAV can hand to numpy, and the scale that maps them to [-1, 1).
_INT_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "u8": 128.0}
_FLOAT_FORMATS = {"flt", "dbl"}
# Forward timestamp jumps above this are gaps to fill; below it is container rounding
# (WebM stores milliseconds, so 23.2 ms AAC frames jitter by up to 1 ms).
_GAP_MIN_S = 0.01
_BATCH_SAMPLES = 16384  # native samples per resampler call (~0.34 s at 48 kHz)
# Demuxers whose headers record the real duration. Others (ADTS .aac, MPEG-TS) make ffmpeg
# guess from the bit rate: 10.2 s announced for a 3 s ADTS file, measured.
_EXACT_DURATION_FORMATS = {"wav", "flac", "ogg", "mp3", "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2"}


class AudioInputError(ValueError):
    """An input recording (or the set of them) cannot be used; the message says which and why."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path  #: the offending file, when there is one


@dataclass(frozen=True, slots=True, eq=False)
class DecodedAudio:
    """One file decoded to the analysis format."""

    samples: np.ndarray  #: (n,) float32 mono at SAMPLE_RATE
    native_rate: int  #: the decoder's sample rate (Opus always decodes at 48000)
    native_channels: int
    duration_s: float  #: len(samples) / SAMPLE_RATE
    path: Path
    codec: str = ""  #: ffmpeg decoder name, e.g. "pcm_s16le", "opus", "aac"
    truncated: bool = False  #: the file ended early; `samples` holds what was there
    notes: tuple[str, ...] = ()  #: human-readable warnings about this file


@dataclass(frozen=True, slots=True, eq=False)
class TrackInfo:
    """What a track was before it was put on the session clock."""

    id: str
    path: Path
    native_rate: int
    native_channels: int
    codec: str
    decoded_s: float  #: decoded length, before padding
    padded_s: float  #: silence appended at the end to match the longest track
    truncated: bool


@dataclass(frozen=True, slots=True, eq=False)
class LoadedTracks:
    """All candidates' tracks, equal length, on one clock starting at sample 0."""

    ids: list[str]  #: in the order given
    samples: np.ndarray  #: (n_tracks, n_samples) float32 at SAMPLE_RATE
    duration_s: float
    tracks: list[TrackInfo]  #: native info, same order as `ids`
    notes: list[str]  #: human-readable: everything padded, truncated or otherwise warned about
    sample_rate: int = SAMPLE_RATE


def decode_audio(path: Path, *, max_duration_s: float = MAX_DURATION_S) -> DecodedAudio:
    """Decode the first audio stream of `path`: channels averaged, resampled to 16 kHz."""
    path = Path(path)
    _check_file(path)
    try:
        container = av.open(str(path))
    except av.FFmpegError as e:
        if isinstance(e, OSError):  # av's FileNotFoundError/PermissionError subclass OSError
            raise AudioInputError(f"{path}: cannot be read ({e.strerror})", path) from e
        with path.open("rb") as f:
            riff = f.read(4) == b"RIFF"
        why = (
            "its WAV header is incomplete or damaged (cut off?)"
            if riff
            else "not a recognised audio file, or corrupt or cut off (an mp4/m4a cut off "
            "while recording has no index)"
        )
        raise AudioInputError(
            f"{path}: cannot be decoded as audio — {why} [ffmpeg: {e.strerror}]", path
        ) from e
    with container:
        return _decode_container(path, container, max_duration_s)


def load_tracks(
    tracks: dict[str, Path],
    *,
    max_length_mismatch_s: float = 1.0,
    allow_rate_mismatch: bool = False,
    pad_short: bool = False,
    max_duration_s: float = MAX_DURATION_S,
) -> LoadedTracks:
    """Decode every candidate's file (in parallel) and check they form one session.

    Tracks are assumed to start together; short ones are padded with silence at the end.
    """
    if not tracks:
        raise AudioInputError("no tracks given: pass one --track ID=PATH per candidate")
    ids = list(tracks)
    paths = [Path(tracks[i]) for i in ids]
    _check_distinct(ids, paths)
    decoded, errors = _decode_all(paths, max_duration_s)
    if errors:
        raise AudioInputError("; ".join(str(e) for e in errors), errors[0].path)

    notes = [f"track {i}: {n}" for i, d in zip(ids, decoded, strict=True) for n in d.notes]
    notes += _check_rates(decoded, allow_rate_mismatch)
    n_samples = max(len(d.samples) for d in decoded)
    notes += _check_lengths(ids, decoded, n_samples, max_length_mismatch_s, pad_short)

    samples = np.zeros((len(ids), n_samples), dtype=np.float32)  # (n_tracks, n_samples) float32
    infos: list[TrackInfo] = []
    for row, i in enumerate(ids):
        d = decoded[row]
        samples[row, : len(d.samples)] = d.samples
        pad_s = (n_samples - len(d.samples)) / SAMPLE_RATE
        infos.append(
            TrackInfo(
                id=i,
                path=d.path,
                native_rate=d.native_rate,
                native_channels=d.native_channels,
                codec=d.codec,
                decoded_s=d.duration_s,
                padded_s=pad_s,
                truncated=d.truncated,
            )
        )
        if d.samples.size and not np.any(d.samples):
            notes.append(f"track {i} ({d.path}): digital silence throughout — check the microphone")
    return LoadedTracks(ids, samples, n_samples / SAMPLE_RATE, infos, notes)


def _check_rates(decoded: list[DecodedAudio], allow: bool) -> list[str]:
    """Different native rates mean different recorders, so the clocks may not line up."""
    if len({d.native_rate for d in decoded}) == 1:
        return []
    listing = ", ".join(f"{d.path} {d.native_rate} Hz" for d in decoded)
    if not allow:
        raise AudioInputError(
            f"tracks come from different recording setups: {listing}; "
            "pass --allow-rate-mismatch to resample anyway",
            decoded[0].path,
        )
    return [f"tracks had different sample rates ({listing}); all resampled to 16 kHz"]


def _check_lengths(
    ids: list[str], decoded: list[DecodedAudio], n_samples: int, tolerance_s: float, pad: bool
) -> list[str]:
    """Tracks of one session end together; a much shorter one is likely another recording."""
    longest = next(k for k, d in enumerate(decoded) if len(d.samples) == n_samples)
    ref = f"{ids[longest]} ({decoded[longest].path}, {decoded[longest].duration_s:.2f} s)"
    too_short: list[tuple[str, Path]] = []
    notes: list[str] = []
    for i, d in zip(ids, decoded, strict=True):
        short = n_samples - len(d.samples)
        if short > tolerance_s * SAMPLE_RATE:
            why = (
                f"track {i} ({d.path}) is {d.duration_s:.2f} s long, "
                f"{short / SAMPLE_RATE:.2f} s shorter than the longest, {ref}"
            )
            too_short.append((why, d.path))
        if short >= FRAME_SAMPLES:  # less is codec rounding, not worth a note
            notes.append(
                f"track {i} ({d.path}): padded {short / SAMPLE_RATE:.2f} s of silence at the "
                f"end to match {ref}"
            )
    if too_short and not pad:
        raise AudioInputError(
            "; ".join(why for why, _ in too_short) + f" (tolerance {tolerance_s:g} s) — are "
            "these recordings of the same session? Pass --pad-short to pad short tracks with "
            "silence at the end",
            too_short[0][1],
        )
    return notes


def parse_track_args(args: list[str]) -> dict[str, Path]:
    """Parse CLI ``--track ID=PATH`` items (split at the first ``=``) into ``{id: path}``."""
    tracks: dict[str, Path] = {}
    for item in args:
        ident, sep, raw = item.partition("=")
        ident = ident.strip()
        if not sep:
            raise AudioInputError(f"--track {item!r}: expected ID=PATH, e.g. --track A=a.wav")
        if not ident:
            raise AudioInputError(f"--track {item!r}: the candidate id before '=' is empty")
        if not raw.strip():
            raise AudioInputError(f"--track {item!r}: the file path after '=' is empty")
        if ident in tracks:
            raise AudioInputError(
                f"--track {item!r}: candidate id {ident!r} is given twice "
                f"({tracks[ident]} and {raw})"
            )
        tracks[ident] = Path(raw)
        _check_distinct(list(tracks), list(tracks.values()))
    return tracks


def _check_distinct(ids: list[str], paths: list[Path]) -> None:
    """One recording per candidate: the same file under two ids is always a mistake."""
    seen: dict[Path, str] = {}
    for ident, path in zip(ids, paths, strict=True):
        key = path.expanduser().resolve()  # catches ./a.wav vs a.wav and symlinks
        if key in seen:
            raise AudioInputError(
                f"{path} is given for both {seen[key]!r} and {ident!r}; "
                "each candidate needs their own recording",
                path,
            )
        seen[key] = ident


def _decode_all(
    paths: list[Path], max_duration_s: float
) -> tuple[list[DecodedAudio], list[AudioInputError]]:
    """Decode in threads (PyAV releases the GIL while demuxing/decoding); collect every error
    so one run reports all bad files, not the first."""
    workers = max(1, min(len(paths), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        futures = [pool.submit(decode_audio, p, max_duration_s=max_duration_s) for p in paths]
    decoded: list[DecodedAudio] = []
    errors: list[AudioInputError] = []
    for f in futures:
        exc = f.exception()
        if isinstance(exc, AudioInputError):
            errors.append(exc)
        elif exc is not None:
            raise exc
        else:
            decoded.append(f.result())
    return decoded, errors


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioInputError(f"{path}: file not found", path)
    if path.is_dir():
        raise AudioInputError(f"{path}: is a directory, not an audio file", path)
    if not path.is_file():
        raise AudioInputError(f"{path}: not a regular file", path)
    if path.stat().st_size == 0:
        raise AudioInputError(f"{path}: file is empty (0 bytes)", path)


def _decode_container(
    path: Path, container: av.container.InputContainer, max_duration_s: float
) -> DecodedAudio:
    if not container.streams.audio:
        kinds = ", ".join(f"{s.type} ({s.codec_context.name})" for s in container.streams)
        raise AudioInputError(f"{path}: has no audio stream (contains: {kinds or 'nothing'})", path)
    stream = container.streams.audio[0]
    notes: list[str] = []
    if len(container.streams.audio) > 1:
        notes.append(f"{path} has {len(container.streams.audio)} audio streams; used the first")

    expected_s = _expected_duration(container, stream)
    if expected_s is not None and expected_s > max_duration_s:
        raise AudioInputError(
            f"{path}: {_span(expected_s)} long, over the {_span(max_duration_s)} limit", path
        )

    sink = _Mono16k(path, max_duration_s)
    damaged = 0
    demux_error: av.FFmpegError | None = None
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                damaged += 1  # its time span is filled with silence from the next frame's pts
                continue
            for frame in frames:
                sink.push(frame)
    except av.FFmpegError as e:
        demux_error = e
    samples = sink.finish()  # (n,) float32
    decoded_s = len(samples) / SAMPLE_RATE

    if len(samples) == 0:
        why = f" [ffmpeg: {demux_error.strerror}]" if demux_error else ""
        raise AudioInputError(f"{path}: contains no decodable audio samples{why}", path)
    truncated = demux_error is not None
    if demux_error is not None:
        notes.append(
            f"{path}: reading stopped at {decoded_s:.2f} s ({demux_error.strerror}); "
            "used what was decoded"
        )
    if damaged:
        notes.append(f"{path}: {damaged} damaged packet(s) could not be decoded")
    if sink.gaps:
        notes.append(
            f"{path}: {sink.gaps} timestamp gap(s) ({sink.gap_s:.2f} s in all: lost "
            "packets, DTX or damage) filled with silence to keep the clock"
        )
    wav_s = _wav_declared_s(path)
    if wav_s is not None and wav_s - decoded_s > 2 * FRAME_SAMPLES / SAMPLE_RATE:
        truncated = True
        notes.append(
            f"{path}: WAV header announces {wav_s:.2f} s but the file holds only "
            f"{decoded_s:.2f} s — cut off? Using what is there"
        )
    elif expected_s is not None and expected_s - decoded_s > 0.25 + 0.01 * expected_s:
        # Headers of some formats only estimate duration (mp3 without a Xing header), hence
        # the generous margin.
        truncated = True
        notes.append(
            f"{path}: header says {expected_s:.2f} s but only {decoded_s:.2f} s "
            "could be decoded — cut off? Using what is there"
        )
    return DecodedAudio(
        samples=samples,
        native_rate=stream.codec_context.sample_rate,
        native_channels=stream.codec_context.channels,
        duration_s=decoded_s,
        path=path,
        codec=stream.codec_context.name,
        truncated=truncated,
        notes=tuple(notes),
    )


class _Mono16k:
    """Averages a decoded frame's channels and resamples with ffmpeg to SAMPLE_RATE.

    Averaging in numpy (not ffmpeg's layout-aware downmix) treats every channel alike and
    works for unnamed layouts ("2 channels" WAVs) too. Where frame timestamps jump forward
    (packets dropped by a recorder, Opus DTX, a damaged frame the parser skipped) the gap is
    filled with silence, because ffmpeg would otherwise splice the audio together and shift
    the rest of the track against the others. The resampler is rebuilt, after a flush, if
    the rate changes mid-stream (chained Ogg, spliced mp3).
    """

    def __init__(self, path: Path, limit_s: float) -> None:
        self._path = path
        self._limit_s = limit_s
        self._chunks: list[np.ndarray] = []  # each (k,) float32 at SAMPLE_RATE
        self._resampler: av.AudioResampler | None = None
        self._rate = 0  # the resampler's input rate
        self._pending: list[np.ndarray] = []  # each (k,) float32 at _pending_rate
        self._pending_n = 0
        self._pending_rate = 0
        self._next_t: float | None = None  # stream time where the next frame should start
        self.seconds = 0.0  #: native audio (and filled gaps) pushed so far
        self.gaps = 0  #: timestamp gaps filled with silence
        self.gap_s = 0.0

    def push(self, frame: av.AudioFrame) -> None:
        t = frame.time if frame.time is not None else self._next_t  # parsers lose pts after damage
        if t is not None and self._next_t is not None and t - self._next_t > _GAP_MIN_S:
            gap = t - self._next_t
            self._push_mono(np.zeros(round(gap * frame.sample_rate), np.float32), frame.sample_rate)
            self.gaps += 1
            self.gap_s += gap
        fmt = frame.format.name.removesuffix("p")  # planar and packed scale alike
        x = frame.to_ndarray()  # planar: (ch, n); packed: (1, n * ch)
        if not frame.format.is_planar:
            x = x.reshape(-1, frame.layout.nb_channels).T
        if fmt in _INT_SCALE:
            offset = 128.0 if fmt == "u8" else 0.0
            x = (x.astype(np.float32) - offset) / np.float32(_INT_SCALE[fmt])
        elif fmt not in _FLOAT_FORMATS:
            raise AudioInputError(f"{self._path}: unsupported sample format {fmt}", self._path)
        self._push_mono(x.mean(axis=0, dtype=np.float32), frame.sample_rate)  # (n,) float32
        if t is not None:
            self._next_t = t + frame.samples / frame.sample_rate

    def _push_mono(self, mono: np.ndarray, rate: int) -> None:
        if self.seconds + mono.size / rate > self._limit_s:  # checked first: a bogus pts jump
            raise AudioInputError(  # must not allocate hours of silence
                f"{self._path}: longer than the {_span(self._limit_s)} limit", self._path
            )
        if rate != self._pending_rate:
            self._drain()
            self._pending_rate = rate
        self._pending.append(mono)
        self._pending_n += mono.size
        self.seconds += mono.size / rate
        if self._pending_n >= _BATCH_SAMPLES:
            self._drain()

    def _drain(self) -> None:
        """Resample what is pending in one call: per 20 ms Opus frame, the calls cost more
        than the decoding and hold the GIL."""
        if not self._pending_n:
            return
        mono = np.concatenate(self._pending)  # (k,) float32 at self._pending_rate
        self._pending, self._pending_n = [], 0
        if self._pending_rate != self._rate:
            self._flush()
            self._resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
            self._rate = self._pending_rate
        assert self._resampler is not None
        frame = av.AudioFrame.from_ndarray(mono[None, :], format="fltp", layout="mono")
        frame.sample_rate = self._rate
        self._collect(self._resampler.resample(frame))

    def _flush(self) -> None:
        if self._resampler is not None:
            self._collect(self._resampler.resample(None))  # the filter holds a tail back

    def _collect(self, frames: list[av.AudioFrame]) -> None:
        self._chunks += [f.to_ndarray()[0] for f in frames]  # (1, k) -> (k,) float32

    def finish(self) -> np.ndarray:
        self._drain()
        self._flush()
        self._resampler = None
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks)  # (n,) float32


def _expected_duration(
    container: av.container.InputContainer, stream: av.audio.AudioStream
) -> float | None:
    """Duration the headers announce, in seconds, if any (stream first: video may be longer)."""
    if container.format.name not in _EXACT_DURATION_FORMATS:
        return None
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _wav_declared_s(path: Path) -> float | None:
    """Seconds a RIFF/WAVE header says its data chunk holds, or None.

    ffmpeg quietly clamps the data chunk to the file size, so a WAV cut off while recording
    would go unnoticed; 0 and 0xFFFFFFFF are placeholders of writers that never finalised
    the header (ffmpeg reads those to the end, which is right), so they announce nothing.
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(min(size, 16))
                if len(fmt) < 12:
                    return None
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
                f.seek(size - len(fmt) + (size & 1), os.SEEK_CUR)
            elif cid == b"data":
                if not byte_rate or size in (0, 0xFFFFFFFF):
                    return None
                return size / byte_rate
            else:
                f.seek(size + (size & 1), os.SEEK_CUR)  # chunks are word-aligned
    return None


def _span(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.1f} s"
