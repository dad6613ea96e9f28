"""Speech pipeline: per-track VAD, cross-track crosstalk suppression, speech activity.

media/ hands it 16 kHz mono blocks per candidate on one session clock; it emits
`SpeechStarted` / `SpeechEnded` events for each candidate's *own* speech.
"""
