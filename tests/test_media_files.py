"""Offline audio front end: every fixture is generated and encoded here, with exact truth.

The test signal is 3 s of silence with a 440 Hz tone from 1.0 s to 2.0 s, so decoding can be
checked for length, tone onset/offset (codec priming), level and pitch (resampling).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from media import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioInputError,
    decode_audio,
    iter_blocks,
    load_tracks,
    parse_track_args,
)

DURATION_S = 3.0
TONE_ON_S, TONE_OFF_S, TONE_HZ = 1.0, 2.0, 440.0

# (extension, container, encoder, lossless)
FORMATS = [
    ("wav", "wav", "pcm_s16le", True),
    ("flac", "flac", "flac", True),
    ("ogg", "ogg", "libopus", False),
    ("webm", "webm", "libopus", False),
    ("m4a", "mp4", "aac", False),
    ("mp3", "mp3", "libmp3lame", False),
]


def tone(rate: int, amplitude: float = 0.5, duration_s: float = DURATION_S) -> np.ndarray:
    """(n,) float32: silence, a 440 Hz tone over [1 s, 2 s), silence."""
    t = np.arange(round(duration_s * rate)) / rate
    on = (t >= TONE_ON_S) & (t < TONE_OFF_S)
    return np.where(on, amplitude * np.sin(2 * np.pi * TONE_HZ * t), 0.0).astype(np.float32)


def write_audio(
    path: Path, x: np.ndarray, rate: int, container: str = "wav", codec: str = "pcm_s16le"
) -> Path:
    """Encode (channels, n) float32 with PyAV; skips the test if the encoder is missing."""
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"encoder {codec} not in this PyAV build")
    x = np.atleast_2d(x).astype(np.float32)  # (channels, n) float32
    layout = {1: "mono", 2: "stereo", 4: "quad"}[x.shape[0]]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        for start in range(0, x.shape[1], 1000):  # PyAV re-chunks to the codec's frame size
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[:, start : start + 1000]), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def edges_s(y: np.ndarray, threshold: float = 0.05) -> tuple[float, float]:
    """First and last time the (n,) signal exceeds `threshold`, in seconds."""
    idx = np.flatnonzero(np.abs(y) > threshold)
    return idx[0] / SAMPLE_RATE, (idx[-1] + 1) / SAMPLE_RATE


def steady_rms(y: np.ndarray) -> float:
    seg = y[int(1.1 * SAMPLE_RATE) : int(1.9 * SAMPLE_RATE)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))


def peak_hz(y: np.ndarray) -> float:
    seg = y[int(1.1 * SAMPLE_RATE) : int(1.9 * SAMPLE_RATE)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(seg))


# --- iter_blocks -----------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [0, 1, 319, 320, 50 * 320, 2 * 50 * 320 + 1000])
def test_iter_blocks_covers_every_sample_once_and_pads_tail(n_samples: int) -> None:
    tracks = np.arange(3 * n_samples, dtype=np.float32).reshape(3, n_samples) + 1  # no zeros
    blocks = list(iter_blocks(tracks, block_frames=50))
    assert [s for s, _ in blocks] == list(range(0, n_samples, 50 * FRAME_SAMPLES))
    for start, block in blocks:
        assert block.dtype == np.float32 and block.shape[0] == 3
        assert block.shape[1] % FRAME_SAMPLES == 0 and 0 < block.shape[1] <= 50 * FRAME_SAMPLES
        if start + 50 * FRAME_SAMPLES <= n_samples:
            assert block.shape[1] == 50 * FRAME_SAMPLES
            assert np.shares_memory(block, tracks)  # whole blocks are views, not copies
    joined = np.concatenate([b for _, b in blocks], axis=1) if blocks else tracks[:, :0]
    n_padded = -(-n_samples // FRAME_SAMPLES) * FRAME_SAMPLES  # whole frames, no more
    assert joined.shape == (3, n_padded)
    np.testing.assert_array_equal(joined[:, :n_samples], tracks)
    assert not joined[:, n_samples:].any()


def test_iter_blocks_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        list(iter_blocks(np.zeros(320, np.float32)))
    with pytest.raises(ValueError):
        list(iter_blocks(np.zeros((1, 320), np.float32), block_frames=0))


# --- decode_audio: formats -----------------------------------------------------------------


@pytest.mark.parametrize(("rate", "channels"), [(48000, 2), (16000, 1), (44100, 2)])
@pytest.mark.parametrize(("ext", "container", "codec", "lossless"), FORMATS)
def test_decode_formats(
    tmp_path: Path, ext: str, container: str, codec: str, lossless: bool, rate: int, channels: int
) -> None:
    if codec == "libopus" and rate == 44100:
        pytest.skip("Opus does not take 44.1 kHz input")
    x = np.stack([tone(rate)] * channels)  # (channels, n) float32
    path = write_audio(tmp_path / f"tone.{ext}", x, rate, container, codec)

    d = decode_audio(path)

    assert d.samples.dtype == np.float32 and d.samples.ndim == 1
    assert d.native_rate == (48000 if codec == "libopus" else rate)  # Opus decodes at 48 kHz
    assert d.native_channels == channels
    assert d.duration_s == len(d.samples) / SAMPLE_RATE
    # Priming is compensated by ffmpeg (Opus pre-skip, mp4 edit list, LAME gapless header);
    # AAC pads the end to a whole 1024-sample codec frame.
    assert abs(len(d.samples) - DURATION_S * SAMPLE_RATE) <= FRAME_SAMPLES
    on, off = edges_s(d.samples)
    assert abs(on - TONE_ON_S) < (0.001 if lossless else 0.03)
    assert abs(off - TONE_OFF_S) < (0.001 if lossless else 0.03)
    # libmp3lame at its default 128 kbit/s comes out 0.45 dB low (measured).
    assert steady_rms(d.samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.01 if lossless else 0.1)
    assert peak_hz(d.samples) == pytest.approx(TONE_HZ, abs=2.0)
    assert not d.truncated and d.notes == ()


@pytest.mark.parametrize(
    ("ext", "container", "codec"), [("wav", "wav", "pcm_s16le"), ("flac", "flac", "flac")]
)
def test_stereo_is_averaged(tmp_path: Path, ext: str, container: str, codec: str) -> None:
    x = np.stack([tone(48000, 0.6), tone(48000, 0.2)])  # (2, n) float32
    d = decode_audio(write_audio(tmp_path / f"lr.{ext}", x, 48000, container, codec))
    assert steady_rms(d.samples) == pytest.approx(0.4 / np.sqrt(2), rel=0.01)


def test_multichannel_is_averaged_not_downmixed(tmp_path: Path) -> None:
    # ffmpeg's own quad -> mono matrix would weight channels; every mic channel counts alike here.
    x = np.zeros((4, 3 * 48000), np.float32)
    x[3] = tone(48000, 0.8)  # (4, n) float32, only the last channel
    d = decode_audio(write_audio(tmp_path / "quad.wav", x, 48000))
    assert d.native_channels == 4
    assert steady_rms(d.samples) == pytest.approx(0.2 / np.sqrt(2), rel=0.01)


def test_timestamp_gaps_are_filled_with_silence(tmp_path: Path) -> None:
    """Packets missing from a recording (loss, DTX) must not pull later audio earlier."""
    full = write_audio(tmp_path / "full.webm", tone(48000)[None], 48000, "webm", "libopus")
    holed = tmp_path / "holed.webm"  # Ogg cannot place a gap inside a page
    with av.open(str(full)) as src, av.open(str(holed), "w", format="webm") as dst:
        out = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.pts is None or packet.time_base is None:  # the demuxer's flush packet
                continue
            if 0.3 <= float(packet.pts * packet.time_base) < 0.6:  # drop 300 ms before the tone
                continue
            packet.stream = out
            dst.mux(packet)
    d = decode_audio(holed)
    assert abs(len(d.samples) - DURATION_S * SAMPLE_RATE) <= FRAME_SAMPLES
    assert abs(edges_s(d.samples)[0] - TONE_ON_S) < 0.03
    assert any("gap" in n and "holed.webm" in n for n in d.notes)


# --- decode_audio: bad input ------------------------------------------------------------------


def assert_names_file(exc: pytest.ExceptionInfo[AudioInputError], path: Path) -> None:
    assert path.name in str(exc.value)
    assert exc.value.path == path


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioInputError, match="not found") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "dir.wav"
    path.mkdir()
    with pytest.raises(AudioInputError, match="directory") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioInputError, match="empty") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_wav_without_samples(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.wav", tone(16000)[None], 16000).read_bytes()
    data = full.index(b"data")
    header = bytearray(full[: data + 8])
    header[data + 4 : data + 8] = (0).to_bytes(4, "little")
    header[4:8] = (len(header) - 8).to_bytes(4, "little")
    path = tmp_path / "nosamples.wav"
    path.write_bytes(bytes(header))
    with pytest.raises(AudioInputError, match="no decodable audio") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


@pytest.mark.parametrize("seed", range(4))
def test_garbage_bytes(tmp_path: Path, seed: int) -> None:
    path = tmp_path / f"garbage{seed}.wav"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 20000, np.uint8).tobytes())
    with pytest.raises(AudioInputError, match="cannot be decoded") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_video_only_mp4(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8))))
        out.mux(stream.encode(None))
    with pytest.raises(AudioInputError, match="no audio stream") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_wav_cut_in_header(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.wav", tone(16000)[None], 16000).read_bytes()
    path = tmp_path / "cut_header.wav"
    path.write_bytes(full[:30])
    with pytest.raises(AudioInputError, match="WAV header") as exc:
        decode_audio(path)
    assert_names_file(exc, path)


def test_wav_cut_in_data_decodes_what_is_there(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.wav", np.stack([tone(48000)] * 2), 48000).read_bytes()
    path = tmp_path / "cut_data.wav"
    path.write_bytes(full[: len(full) * 2 // 3 + 1])  # mid-sample, too
    d = decode_audio(path)
    assert d.truncated
    assert abs(d.duration_s - 2.0) < 0.01
    assert abs(edges_s(d.samples)[0] - TONE_ON_S) < 0.001
    assert any("cut_data.wav" in n and "3.00 s" in n for n in d.notes)


def test_flac_cut_short_is_flagged(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.flac", tone(48000)[None], 48000, "flac", "flac")
    path = tmp_path / "cut.flac"
    path.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 4])
    d = decode_audio(path)
    assert d.truncated and d.duration_s < 2.9
    assert any("cut.flac" in n for n in d.notes)


@pytest.mark.parametrize(
    ("ext", "container", "codec"), [("wav", "wav", "pcm_s16le"), ("aac", "adts", "aac")]
)
def test_oversize(tmp_path: Path, ext: str, container: str, codec: str) -> None:
    # WAV is refused from its header; ADTS announces no duration and is stopped while decoding.
    path = write_audio(tmp_path / f"long.{ext}", tone(16000)[None], 16000, container, codec)
    with pytest.raises(AudioInputError, match="limit") as exc:
        decode_audio(path, max_duration_s=1.0)
    assert_names_file(exc, path)
    assert decode_audio(path, max_duration_s=10.0).duration_s > 2.9


# --- parse_track_args --------------------------------------------------------------------------


def test_parse_track_args() -> None:
    assert parse_track_args(["A=a.wav", "B = b=1.flac"]) == {
        "A": Path("a.wav"),
        "B": Path(" b=1.flac"),
    }


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["a.wav"], "expected ID=PATH"),
        (["=a.wav"], "id before '=' is empty"),
        (["A="], "path after '=' is empty"),
        (["A=a.wav", "A=b.wav"], "given twice"),
        (["A=a.wav", "B=./a.wav"], "both 'A' and 'B'"),
    ],
)
def test_parse_track_args_errors(args: list[str], match: str) -> None:
    with pytest.raises(AudioInputError, match=match):
        parse_track_args(args)


# --- load_tracks ---------------------------------------------------------------------------------


def test_load_tracks_mixed_formats(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", np.stack([tone(48000)] * 2), 48000)
    b = write_audio(tmp_path / "b.webm", tone(48000, 0.2)[None], 48000, "webm", "libopus")
    c = write_audio(
        tmp_path / "c.flac", np.zeros((1, 3 * 48000), np.float32), 48000, "flac", "flac"
    )
    loaded = load_tracks({"C": c, "A": a, "B": b})
    assert loaded.ids == ["C", "A", "B"]
    assert loaded.samples.shape == (3, round(DURATION_S * SAMPLE_RATE))
    assert loaded.samples.dtype == np.float32 and loaded.sample_rate == SAMPLE_RATE
    assert loaded.duration_s == pytest.approx(DURATION_S)
    assert [t.native_channels for t in loaded.tracks] == [1, 2, 1]
    assert steady_rms(loaded.samples[2]) == pytest.approx(0.2 / np.sqrt(2), rel=0.1)
    assert any("C" in n and "silence" in n for n in loaded.notes)  # a dead mic is worth a note


def test_load_tracks_rate_mismatch(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", tone(48000)[None], 48000)
    b = write_audio(tmp_path / "b.wav", tone(16000)[None], 16000)
    with pytest.raises(AudioInputError) as exc:
        load_tracks({"A": a, "B": b})
    msg = str(exc.value)
    assert "a.wav 48000 Hz" in msg and "b.wav 16000 Hz" in msg and "--allow-rate-mismatch" in msg
    loaded = load_tracks({"A": a, "B": b}, allow_rate_mismatch=True)
    assert loaded.samples.shape == (2, 48000)
    np.testing.assert_allclose(loaded.samples[0], loaded.samples[1], atol=0.01)
    assert any("different sample rates" in n for n in loaded.notes)


def test_load_tracks_length_mismatch(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", tone(16000)[None], 16000)
    b = write_audio(tmp_path / "b.wav", tone(16000, duration_s=1.5)[None], 16000)
    with pytest.raises(AudioInputError) as exc:
        load_tracks({"A": a, "B": b})
    msg = str(exc.value)
    assert "track B" in msg and "b.wav" in msg and "1.50 s" in msg and "3.00 s" in msg
    assert "--pad-short" in msg and exc.value.path == b

    loaded = load_tracks({"A": a, "B": b}, pad_short=True)
    assert loaded.samples.shape == (2, 48000)
    assert not loaded.samples[1, 24000:].any()
    assert loaded.tracks[1].padded_s == pytest.approx(1.5)
    assert any("b.wav" in n and "padded 1.50 s" in n for n in loaded.notes)


def test_load_tracks_pads_within_tolerance(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", tone(16000)[None], 16000)
    b = write_audio(tmp_path / "b.wav", tone(16000, duration_s=2.5)[None], 16000)
    loaded = load_tracks({"A": a, "B": b})
    assert loaded.samples.shape == (2, 48000)
    assert not loaded.samples[1, 40000:].any()


def test_load_tracks_reports_every_bad_file(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", tone(16000)[None], 16000)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioInputError) as exc:
        load_tracks({"A": good, "B": tmp_path / "missing.wav", "C": tmp_path / "empty.wav"})
    assert "missing.wav" in str(exc.value) and "empty.wav" in str(exc.value)


def test_load_tracks_same_file_twice(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.wav", tone(16000)[None], 16000)
    (tmp_path / "link.wav").symlink_to(a)
    with pytest.raises(AudioInputError, match="both"):
        load_tracks({"A": a, "B": tmp_path / "link.wav"})
    with pytest.raises(AudioInputError, match="no tracks"):
        load_tracks({})
