"""Shared ground of every stage: events, their codec, the bus, the affect policy, the clock
and the session's identity. Imports nothing of ours."""
