"""Audio front end: files or WebRTC in, 16 kHz mono float32 blocks on one session clock out."""

from media.files import (
    MAX_DURATION_S,
    AudioInputError,
    DecodedAudio,
    LoadedTracks,
    TrackInfo,
    decode_audio,
    load_tracks,
    parse_track_args,
)
from media.frames import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, iter_blocks

__all__ = [
    "FRAME_S",
    "FRAME_SAMPLES",
    "MAX_DURATION_S",
    "SAMPLE_RATE",
    "AudioInputError",
    "DecodedAudio",
    "LoadedTracks",
    "TrackInfo",
    "decode_audio",
    "iter_blocks",
    "load_tracks",
    "parse_track_args",
]
