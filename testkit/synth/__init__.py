"""Test material: multi-mic group discussions with exact ground truth.

- `synthesize_session`: an espeak-ng discussion (3-8 candidates, zh/en) with scripted turns,
  successful/failed interruptions and backchannels;
- `realspeech_session`: the two real speakers of pyannote.audio's sample, re-laid out;
- `role_session`: a 4-candidate discussion with designed roles (leader, supporter,
  interrupter, quiet) whose truth also lists the scripted utterances and acts;
- both pass through the same room model (`RoomConfig`: bleed, delay, gains, noise, reverb,
  echo, clicks) and carry `truth` in the report's shapes;
- `write_session` writes one 16 kHz WAV per mic plus truth.json.
"""

from .realspeech import load_pyannote_sample, realspeech_session
from .roles import role_session
from .room import RoomConfig
from .session import Session, synthesize_session, write_session
from .truth import speech_intervals

__all__ = [
    "RoomConfig",
    "Session",
    "load_pyannote_sample",
    "realspeech_session",
    "role_session",
    "speech_intervals",
    "synthesize_session",
    "write_session",
]
